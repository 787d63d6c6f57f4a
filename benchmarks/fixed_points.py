"""Time the fixed-point finder on the trained 3-bit flip-flop RNN and on a 100-unit GRU.

    python benchmarks/fixed_points.py [--repeats N] [--candidates N]

Each case is timed in this fresh process: the first call (which includes JAX's compilation of
the finder for these shapes), then the median of `--repeats` further calls. Every call returns
NumPy arrays, so the device work is finished when the clock stops. Candidates are made before
the clock starts: states sampled along the network's trajectories, plus Gaussian noise.

References (2-core CPU): FixedPointFinder (PyTorch) on a 16-unit tanh flip-flop, 1024
candidates with noise 0.5: q < 1e-12 in 347 iterations, 0.31 s, 27 unique fixed points (8 stable;
19 unstable: 12 with one unstable mode, 6 with two, 1 with three). computation-thru-dynamics'
finder: 4.1 s to bring 1024 candidates of its trained 100-unit GRU to q < 1e-5.
"""

import argparse
import os
import shlex
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from workshop_utils import fixed_points, flipflop, runtime


def gru_step(params, h, u):
    """One step of a GRU (the candidate state gated by r, as in Cho et al. 2014)."""
    z = jax.nn.sigmoid(params["Wz"] @ h + params["Uz"] @ u + params["bz"])
    r = jax.nn.sigmoid(params["Wr"] @ h + params["Ur"] @ u + params["br"])
    n = jnp.tanh(params["Wn"] @ (r * h) + params["Un"] @ u + params["bn"])
    return (1 - z) * h + z * n


def random_gru(key, n_hidden=100, n_in=1, gain=1.5):
    """Random GRU weights: recurrent N(0, 1/N) (the candidate's gain/sqrt(N)), input N(0, 1),
    biases N(0, 0.1^2)."""
    keys = iter(jax.random.split(key, 9))
    normal = lambda shape, scale: scale * jax.random.normal(next(keys), shape)
    scale = 1 / np.sqrt(n_hidden)
    return {"Wz": normal((n_hidden, n_hidden), scale), "Wr": normal((n_hidden, n_hidden), scale),
            "Wn": normal((n_hidden, n_hidden), gain * scale), "Uz": normal((n_hidden, n_in), 1.0),
            "Ur": normal((n_hidden, n_in), 1.0), "Un": normal((n_hidden, n_in), 1.0),
            "bz": normal((n_hidden,), 0.1), "br": normal((n_hidden,), 0.1), "bn": normal((n_hidden,), 0.1)}


def gru_candidates(params, key, n_candidates, noise_scale, n_trials=64, n_steps=50):
    """States along trajectories driven by white-noise input (std 0.5), plus noise."""
    input_key, pick_key, noise_key = jax.random.split(key, 3)
    inputs = 0.5 * jax.random.normal(input_key, (n_trials, n_steps, params["Uz"].shape[1]))

    def run(u_seq):
        step = lambda h, u: (gru_step(params, h, u),) * 2
        return jax.lax.scan(step, jnp.zeros(params["Wz"].shape[0]), u_seq)[1]

    states = fixed_points.sample_states(pick_key, jax.vmap(run)(inputs), n_candidates)
    return np.asarray(states + noise_scale * jax.random.normal(noise_key, states.shape))


def time_finder(F, candidates, inputs, repeats, **options):
    """(seconds of the first call, median seconds of the next `repeats` calls, last result)."""
    start = time.perf_counter()
    fps = fixed_points.find_fixed_points(F, candidates, inputs, **options)
    first = time.perf_counter() - start
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fps = fixed_points.find_fixed_points(F, candidates, inputs, **options)
        seconds.append(time.perf_counter() - start)
    return first, statistics.median(seconds), fps


def report(name, first, median, fps, repeats, compiled_before=False):
    every = fps.all_points
    counts = fps.counts()
    modes = ", ".join(f"{n} with {k}" for k, n in counts["unstable_by_modes"].items()) or "none"
    first_call = "first call (compiled by the case above)" if compiled_before else "first call, with compilation"
    print(f"\n## {name}")
    print(f"- time once compiled: {median * 1e3:.1f} ms (median of {repeats}); {first_call}: {first:.2f} s")
    print(f"- Adam iterations until every candidate stopped: {every.n_iters.max()} (median {np.median(every.n_iters):.0f});"
          f" candidates below q = 1e-12 after the descent: {np.sum(every.qstar < 1e-12)} of {len(every.qstar)},"
          f" largest q {every.qstar.max():.1e}")
    print(f"- unique fixed points: {counts['unique']} ({counts['stable']} stable; {counts['unstable']} unstable: {modes}"
          f" unstable modes); their q after Newton polishing: at most {fps.qstar.max():.1e}")
    if counts["stable"]:
        print(f"- leading |eigenvalue| of the stable points: {np.abs(fps[fps.is_stable].eigval_J_xstar[:, 0]).round(3).tolist()}")


def machine():
    """CPU model, core count, load, and JAX's backend and device, in one line."""
    cpu = runtime.cpu_model()
    load = f"load average {os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else ""
    device = jax.devices()[0]
    return (f"{cpu}, {os.cpu_count()} cores ({load}); JAX {jax.__version__}, backend {jax.default_backend()}, "
            f"{device.device_kind}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls after the first (default 7)")
    parser.add_argument("--candidates", type=int, default=1024)
    args = parser.parse_args(argv)
    print(f"# Fixed-point finder benchmark\n\n{machine()}\n"
          f"Command: `{shlex.join(['python', sys.argv[0], *(sys.argv[1:] if argv is None else argv)])}`")

    params, info = flipflop.load_trained()
    candidates = np.asarray(flipflop.sample_states(params, jax.random.key(0), args.candidates, noise_scale=0.5))
    first, median, fps = time_finder(flipflop.step_map(params), candidates, jnp.zeros(3), args.repeats)
    report(f"3-bit flip-flop, 16-unit tanh RNN (data/flipflop_rnn, seed {info['seed']}): {args.candidates} "
           "candidates from trajectories + noise 0.5, default settings (tol_q 1e-12)", first, median, fps, args.repeats)
    print("- FixedPointFinder on a comparable network: 347 iterations, 0.31 s, 27 = 8 stable + 12/6/1 unstable")

    gru = random_gru(jax.random.key(0))
    candidates = gru_candidates(gru, jax.random.key(1), args.candidates, noise_scale=0.1)
    # Adam's first step moves every coordinate by the learning rate; with 100 of them, 1.0 throws
    # candidates into the GRU's saturated region (update gates shut), where q creeps to 0 at infinity.
    for tol_q in (1e-12, 1e-8):
        first, median, fps = time_finder(Partial(gru_step, gru), candidates, jnp.zeros(1), args.repeats,
                                         lr_init=0.3, tol_q=tol_q)
        report(f"100-unit GRU, random weights (recurrent gain 1.5): {args.candidates} candidates from trajectories "
               f"+ noise 0.1, lr_init 0.3, descent to tol_q {tol_q:g}, then Newton on the unique points",
               first, median, fps, args.repeats, compiled_before=tol_q != 1e-12)
    print("- computation-thru-dynamics on its trained 100-unit GRU: 4.1 s to q < 1e-5")


if __name__ == "__main__":
    main()
