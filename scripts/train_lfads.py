"""Train the LFADS models that notebooks 04 and 06 load, and save them to data/lfads_<name>.{npz,json}.

Notebook 04 trains LFADS live for a few hundred steps so the learner sees the loss fall; its
figures use these longer-trained checkpoints. Each is scored on held-out trials against the
true rates and the smoothing baselines before it is saved, and nothing is saved if it misses
the targets that notebook 04 asserts (`lfads_examples.DATASETS`). Usage: ./workshop checkpoints  (or python scripts/train_lfads.py --dataset chaotic)
"""

import argparse
import time

import numpy as np

from workshop_utils import lfads, lfads_examples, metrics, smoothing


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(lfads_examples.DATASETS), nargs="+",
                        default=sorted(lfads_examples.DATASETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the dataset's)")
    parser.add_argument("--out-dir", default=None, help="where to save (default: data/)")
    parser.add_argument("--force", action="store_true", help="save even if the targets are missed")
    args = parser.parse_args()
    for name in args.dataset:
        train_one(name, args)


def train_one(name, args):
    spec = lfads_examples.DATASETS[name]
    data = lfads_examples.load(name)
    options = dict(spec["options"])
    if args.steps is not None:
        options["n_steps"] = args.steps
    held_in = data["held_in"]
    test = data["test"]
    baseline = baseline_r2(data["train"], test, held_in)    # first: cheap, and fails early
    start = time.perf_counter()
    trained = lfads.fit(data["train"].spikes[:, :, held_in], seed=args.seed, **options)
    seconds = time.perf_counter() - start

    rates = lfads.posterior_rates(trained, test.spikes[:, :, held_in])
    r2 = metrics.r_squared(test.rates[:, :, held_in], rates)
    print(f"{name}: {trained.history['best_step']} best of {len(trained.history['train_loss'])} steps "
          f"({seconds:.0f} s); held-out R^2 LFADS {r2:.3f}, smoothing {baseline['smoothing']:.3f}, "
          f"PCA-denoised {baseline['pca']:.3f}")
    best = max(baseline.values())
    if not args.force and (r2 < spec["min_r2"] or r2 < best + spec["min_margin"]):
        raise SystemExit(f"{name}: R^2 {r2:.3f} misses the target (>= {spec['min_r2']} and >= best "
                         f"baseline {best:.3f} + {spec['min_margin']}); nothing saved")
    path = lfads.save(trained, lfads_examples.checkpoint_path(name, args.out_dir), dataset=name,
                      seed=args.seed, seconds=round(seconds), heldout_r2=round(r2, 4),
                      smoothing_r2=round(baseline["smoothing"], 4), pca_r2=round(baseline["pca"], 4))
    print(f"saved {path}")


def baseline_r2(train, test, held_in):
    """Held-out R^2 of Gaussian smoothing and of PCA-denoised smoothing, both fitted on train."""
    x_train, x_test = train.spikes[:, :, held_in], test.spikes[:, :, held_in]
    truth_train, truth_test = train.rates[:, :, held_in], test.rates[:, :, held_in]
    width = smoothing.choose_smoothing_width(x_train, true_rates=truth_train)
    smoothed = smoothing.gaussian_smooth(x_test, width)
    pca_width, denoiser = smoothing.choose_pca_denoiser(x_train, true_rates=truth_train)
    denoised = smoothing.apply_pca_denoiser(denoiser, smoothing.gaussian_smooth(x_test, pca_width))
    return {"smoothing": metrics.r_squared(truth_test, smoothed),
            "pca": metrics.r_squared(truth_test, denoised)}


if __name__ == "__main__":
    main()
