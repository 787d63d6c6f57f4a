"""Time one LFADS training step (`workshop_utils.lfads`) at the two reference configurations.

    python benchmarks/lfads_throughput.py [--repeats N] [--configs A B]
    python benchmarks/lfads_throughput.py --against REV [--rounds 3]   # this tree vs a revision

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
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import jax
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


def time_config(name, repeats):
    sizes = dict(CONFIGS[name])
    batch = sizes.pop("batch")
    config = lfads.Config(batch_size=batch, **sizes)
    rng = np.random.default_rng(0)
    spikes = rng.poisson(0.3, (4 * batch, config.n_bins, config.n_neurons)).astype(np.float32)
    model = lfads.LFADS(config, nnx.Rngs(0), mean_rates=spikes.mean(axis=(0, 1)))
    state, step, _, _ = lfads.training_functions(model, config, jax.numpy.asarray(spikes),
                                                 jax.numpy.asarray(spikes[:batch]))
    key = jax.random.key(0, impl="rbg")

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
    args = parser.parse_args(argv)
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
