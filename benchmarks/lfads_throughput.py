"""Time one LFADS training step (`workshop_utils.lfads`) at the two reference configurations.

    python benchmarks/lfads_throughput.py [--repeats N] [--configs A B]
    python benchmarks/lfads_throughput.py --against REV [--rounds 3]   # this tree vs a revision
    python benchmarks/lfads_throughput.py --bound      # what one core and the products allow

For each configuration this fresh process builds the model on random Poisson counts, times
the first call of the very step `lfads.fit` runs (tracing and compilation included), then the
median of `--repeats` further steps, run as `lfads.fit` runs them (`training.train` starts
each step before it reads the previous step's loss; a step's time is the time between two
loss reads; before 2026-12-04 each step waited for its result). Throughput is batch x bins x
neurons spike-bins per second. On a 2-core CPU the step splits its batch across both cores, as
`lfads.fit` does (`runtime.use_cpu_cores`); `XLA_FLAGS=--xla_force_host_platform_device_count=1`
times it on one device. It also reports the CPU time per step, which a busy shared
machine inflates less than wall time.

  A: batch 128, 100 bins, 50 neurons, encoder 64, controller 32, 1 inferred input,
     generator 64, 8 factors
  B: batch 128, 25 bins, 100 neurons, encoder 128, controller 128, 1 inferred input,
     generator 128, 32 factors (the computation-thru-dynamics tutorial's defaults)

`--bound` asks how far a step on this CPU could go. It counts the step's matrix-product
FLOPs (walking its jaxpr, loops times their length), times this core's rate on a chain of
64 x 128 x 384 products like the loops' (one core), and times the step on half the batch on one
device pinned to one core, in a fresh process: two cores that never got in each other's way
would take that long for the whole batch. On 2026-12-04 two such cores would have done 5.0-5.9 M
spike-bins/s at B, and the step did 4.7-5.2 M (see the README).

On a shared, noisy machine compare with `--against REV`: it checks out the git revision REV in a
temporary worktree and runs this benchmark there and here, alternately, `--rounds` times (each
run a fresh process importing its own tree's `workshop_utils`), then prints the median step
times and their ratio: the machine's slow spells then hit both sides alike.

Reference figures on a 2-core CPU of this kind (medians), as the issue gives them:
computation-thru-dynamics' JAX LFADS (patched to run) 2.6-3.9 M spike-bins/s at A with 60-76 s
of compilation, 2.4-2.7 M at B; lfads-torch 1.2 M at A, 1.45 M at B. Timed here beside this
benchmark (2026-12-02, alternating runs; its code, patched only to run, is not in this
repository), that JAX LFADS did 0.72-0.79 M at B with 53 s of compilation on JAX 0.10.2 and
0.58 M on JAX 0.4.30, and at A did not finish compiling in 20 minutes (see the README).
"""

import argparse
import functools
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from flax import nnx

from workshop_utils import lfads, runtime, training

CONFIGS = {
    "A": dict(batch=128, n_bins=100, n_neurons=50, encoder_size=64, controller_size=32,
              n_inputs=1, generator_size=64, n_factors=8),
    "B": dict(batch=128, n_bins=25, n_neurons=100, encoder_size=128, controller_size=128,
              n_inputs=1, generator_size=128, n_factors=32),
}
REFERENCE = {"A": "2.6-3.9 M (c-t-d JAX), 1.2 M (lfads-torch)", "B": "2.4-2.7 M (c-t-d JAX), 1.45 M (lfads-torch)"}


def setup(name, batch=None):
    """Configuration `name` (with another batch size if given) on random Poisson counts: its
    config, model, training data, and the training state, step and key that `lfads.fit` uses."""
    sizes = dict(CONFIGS[name])
    full = sizes.pop("batch")
    config = lfads.Config(batch_size=batch or full, **sizes)
    rng = np.random.default_rng(0)
    spikes = rng.poisson(0.3, (4 * full, config.n_bins, config.n_neurons)).astype(np.float32)
    model = lfads.LFADS(config, nnx.Rngs(0), mean_rates=spikes.mean(axis=(0, 1)))
    data = jnp.asarray(spikes)
    state, step, _, _ = lfads.training_functions(model, config, data, data[:config.batch_size])
    return config, model, data, state, step, jax.random.key(0, impl="rbg")


def time_config(name, repeats, batch=None):
    config, _, _, state, step, key = setup(name, batch)
    batch = config.batch_size
    start = time.perf_counter()
    state, loss = step(state, (0, key))  # as lfads.fit calls it
    float(loss)  # waits for the step
    first = time.perf_counter() - start
    # Then through training.train, as lfads.fit runs them: each step is started before the
    # previous step's loss is read, and a step's time is the time between two loss reads
    # (the callback runs just after each read; it returns None, so training goes on).
    reads = [(time.perf_counter(), time.process_time())]
    training.train(step, state, repeats, lambda i: (i + 1, key), progress=False, callback_every=1,
                   callback=lambda i, state: reads.append((time.perf_counter(), time.process_time())))
    walls = [b[0] - a[0] for a, b in zip(reads, reads[1:])]
    cpus = [b[1] - a[1] for a, b in zip(reads, reads[1:])]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    bins = batch * config.n_bins * config.n_neurons
    return dict(config=name, first_call_s=first, step_ms=1e3 * wall, cpu_ms=1e3 * cpu,
                mspikebins=bins / wall / 1e6)


def matmul_flops(jaxpr, times=1):
    """FLOPs of the matrix products in a jaxpr; a loop's body counts once per step."""
    total = 0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (contracted, _), _ = eqn.params["dimension_numbers"]
            lhs, out = eqn.invars[0].aval.shape, eqn.outvars[0].aval.shape
            total += times * 2 * math.prod(lhs[d] for d in contracted) * math.prod(out)
        inner = times * eqn.params["length"] if eqn.primitive.name == "scan" else times
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            total += matmul_flops(getattr(sub, "jaxpr", sub), inner)
    return total


def step_matmul_flops(name):
    """The matrix-product FLOPs of one training step of configuration `name` (whole batch)."""
    config, model, data, state, _, key = setup(name)
    graphdef, params = nnx.split(model, nnx.Param)
    _, layout = lfads.flatten_params(params)
    step = functools.partial(lfads._train_step.__wrapped__, graphdef, layout, config, None)
    return matmul_flops(jax.make_jaxpr(step)(state, 0, key, data).jaxpr)


def core_matmul_rate(n_steps=2000):
    """GFLOP/s of this process on a loop of (64 x 128) @ (128 x 384) products, each followed
    by the product back, like the steps of LFADS's time loops at B."""
    W = jax.random.normal(jax.random.key(0), (128, 384)) * 0.05

    @jax.jit
    def chain(h):
        return jax.lax.scan(lambda h, _: (jnp.tanh((h @ W) @ W.T), None), h, None, length=n_steps)[0]

    h = jnp.ones((64, 128))
    chain(h).block_until_ready()
    best = min(timed(lambda: chain(h).block_until_ready()) for _ in range(5))
    return n_steps * 2 * 2 * 64 * 128 * 384 / best / 1e9


def timed(fun):
    start = time.perf_counter()
    fun()
    return time.perf_counter() - start


def one_core(configs, repeats):
    """In this process, pinned to one core with one JAX device: the matrix-product rate and
    each configuration's step on half its batch (what each core does in `lfads.fit`)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    assert len(jax.devices()) == 1, "run with XLA_FLAGS=--xla_force_host_platform_device_count=1"
    print(f"RATE {core_matmul_rate():.1f}")
    for name in configs:
        print(f"HALF {name} {time_config(name, repeats, CONFIGS[name]['batch'] // 2)['step_ms']:.2f}")


def bound(configs, repeats):
    """How quick a step could be here: the products at one core's rate on both cores, and the
    half-batch step on one undisturbed core (a fresh process), beside the full step now."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=1"}
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--one-core", "--repeats",
                          str(repeats), "--configs", *configs], env=env, check=True,
                         capture_output=True, text=True).stdout
    rate = float(re.search(r"^RATE ([\d.]+)", out, re.M).group(1))
    half = {c: float(ms) for c, ms in re.findall(r"^HALF (\w) ([\d.]+)", out, re.M)}
    print(f"One core's rate on the loops' products: {rate:.0f} GFLOP/s")
    print("| config | product GFLOP per step | products alone on 2 cores (ms) | half batch on one core "
          "(ms) | step now, 2 devices (ms) | M spike-bins/s: 2 undisturbed cores | now |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in configs:
        gflop = step_matmul_flops(name) / 1e9
        now = time_config(name, repeats)
        spike_bins = math.prod(CONFIGS[name][k] for k in ("batch", "n_bins", "n_neurons"))
        print(f"| {name} | {gflop:.2f} | {1e3 * gflop / rate / 2:.1f} | {half[name]:.1f} | "
              f"{now['step_ms']:.1f} | {spike_bins / half[name] / 1e3:.2f} | "
              f"{now['mspikebins']:.2f} |", flush=True)


def compare(against, rounds, repeats, configs):
    """Median step times of this tree and of revision `against`, run alternately."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as tmp:
        there = os.path.join(tmp, "tree")
        subprocess.run(["git", "-C", here, "worktree", "add", "--detach", "-q", there, against],
                       check=True)
        try:
            times = {tree: {c: [] for c in configs} for tree in (against, "this tree")}
            for i in range(rounds):
                for tree, root in ((against, there), ("this tree", here)):
                    out = subprocess.run(
                        [sys.executable, os.path.join(root, "benchmarks", "lfads_throughput.py"),
                         "--repeats", str(repeats), "--configs", *configs],
                        cwd=root, env={**os.environ, "PYTHONPATH": root}, check=True,
                        capture_output=True, text=True).stdout
                    for c, ms in re.findall(r"^\| (\w) \| [\d.]+ \| ([\d.]+) \|", out, re.M):
                        times[tree][c].append(float(ms))
                    print(f"round {i + 1}, {tree}: " + ", ".join(
                        f"{c} {times[tree][c][-1]:.1f} ms" for c in configs), flush=True)
        finally:
            subprocess.run(["git", "-C", here, "worktree", "remove", "--force", there], check=False)
    print("| config | " + f"{against} (ms) | this tree (ms) | speed-up |\n|---|---:|---:|---:|")
    for c in configs:
        old, new = statistics.median(times[against][c]), statistics.median(times["this tree"][c])
        print(f"| {c} | {old:.1f} | {new:.1f} | {old / new:.2f}x |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--against", metavar="REV", help="compare with this git revision")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bound", action="store_true", help="what one core and the products allow")
    parser.add_argument("--one-core", action="store_true", help=argparse.SUPPRESS)  # --bound's helper
    args = parser.parse_args(argv)
    if args.one_core:
        return one_core(args.configs, args.repeats)
    if args.bound:
        return bound(args.configs, args.repeats)
    if args.against:
        return compare(args.against, args.rounds, args.repeats, args.configs)
    mesh = runtime.data_parallel_mesh(CONFIGS["A"]["batch"])
    print(f"Machine: {runtime.cpu_model()}, {os.cpu_count()} cores; JAX {jax.__version__}, "
          f"backend {jax.default_backend()}, each batch split across {mesh.size if mesh else 1} "
          f"device(s); load average {os.getloadavg()[0]:.1f}")
    print("| config | first call, compile included (s) | median step (ms) | CPU per step (ms) "
          "| M spike-bins/s | reference |")
    print("|---|---:|---:|---:|---:|---|")
    for name in args.configs:
        r = time_config(name, args.repeats)
        print(f"| {name} | {r['first_call_s']:.1f} | {r['step_ms']:.1f} | {r['cpu_ms']:.1f} | "
              f"{r['mspikebins']:.2f} | {REFERENCE[name]} |", flush=True)
    print(f"Load average at the end {os.getloadavg()[0]:.1f}. On a shared machine compare the CPU "
          "column: other processes inflate the wall time far more.")
    print(f"Command: python {' '.join(shlex.quote(a) for a in ['benchmarks/lfads_throughput.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()
