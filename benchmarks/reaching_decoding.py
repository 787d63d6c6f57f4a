"""How data-limited is the simulated reaching experiment? Velocity r^2 of the baselines.

    python benchmarks/reaching_decoding.py [--seed 0] [--gpfa-latents 9] [--em-iters 10] [--no-gpfa]

On `reaching.reaching_sessions(seed)` (12 sessions by default), hand velocity is decoded by
the cross-validated optimal linear estimator (`decoding.decode`, lagged 90 ms, 5 folds by
trial) from each session's
  - Gaussian-smoothed spikes (std 20, 30 and 50 ms),
  - GPFA latents (Elephant, `gpfa.latents`, fitted per session on all its trials),
  - the true rates (the ceiling a perfect rate estimate would reach),
and, as a pooled linear reference, the PCR factors of `stitching.pcr_init` (16 factors,
smoothed spikes read in per session) decoded by ONE decoder across all sessions
(`decoding.decode_sessions`). Prints r^2 per session, the medians and the GPFA wall time.

Figures on an idle 2-core CPU, 2026-12-02, medians over the 12 sessions (seed 0 / seed 1):
  smoothed 20 ms 0.151 / 0.116, 30 ms 0.180 / 0.151, 50 ms 0.186 / 0.188;
  GPFA (9 latents, 10 EM iterations) 0.251 / 0.227; true rates 0.960 / 0.962;
  PCR factors with one decoder across sessions 0.343 / 0.305.
  GPFA took 25-26 s for the 12 sessions; the whole script 29 s.
"""

import argparse
import time

import numpy as np

from workshop_utils import decoding, gpfa, reaching, smoothing, stitching


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gpfa-latents", type=int, default=9)
    parser.add_argument("--em-iters", type=int, default=gpfa.DEFAULT_EM_ITERS)
    parser.add_argument("--no-gpfa", action="store_true")
    args = parser.parse_args()

    sessions = reaching.reaching_sessions(args.seed)
    lag = decoding.lag_in_bins(decoding.PAPER_LAG_S, sessions[0].bin_size)
    widths_s = (0.02, 0.03, 0.05)
    rows = {f"smoothed {w * 1000:.0f} ms": [] for w in widths_s}
    rows["GPFA"] = []
    rows["true rates"] = []
    gpfa_seconds = 0.0
    for s in sessions:
        for w in widths_s:
            rows[f"smoothed {w * 1000:.0f} ms"].append(
                decoding.decode(smoothing.gaussian_smooth(s.spikes, w / s.bin_size), s.velocity, lag).r2)
        if not args.no_gpfa:
            start = time.perf_counter()
            latents = gpfa.latents(s.spikes, s.bin_size, args.gpfa_latents, em_max_iters=args.em_iters)
            gpfa_seconds += time.perf_counter() - start
            rows["GPFA"].append(decoding.decode(latents, s.velocity, lag).r2)
        rows["true rates"].append(decoding.decode(s.rates, s.velocity, lag).r2)
    pcr = stitching.pcr_init(sessions, 16)
    factors = [pcr.project(i, smoothing.gaussian_smooth(s.spikes, 0.03 / s.bin_size))
               for i, s in enumerate(sessions)]
    rows["PCR factors, one decoder"] = [d.r2 for d in decoding.decode_sessions(
        factors, [s.velocity for s in sessions], lag)]

    print(f"seed {args.seed}: {len(sessions)} sessions, trials {[s.n_trials for s in sessions]}, "
          f"neurons {[s.n_neurons for s in sessions]}; lag {lag} bins")
    for name, values in rows.items():
        if values:
            print(f"{name:28s} median {np.median(values):6.3f}   per session {np.round(values, 2).tolist()}")
    if not args.no_gpfa:
        print(f"GPFA ({args.gpfa_latents} latents, {args.em_iters} EM iterations): {gpfa_seconds:.1f} s for all "
              f"{len(sessions)} sessions ({gpfa_seconds / len(sessions):.1f} s each)")


if __name__ == "__main__":
    main()
