"""Train the 3-bit flip-flop RNN and save it to data/flipflop_rnn.{npz,json}.

Notebook 06 loads this checkpoint to find the network's fixed points. A network can solve the
task without storing its memories as stable fixed points (e.g. in a period-2 oscillation), so
the script finds the fixed points and saves only a network with exactly 8 stable fixed points,
one for each of the 8 memories. Usage: ./workshop checkpoints  (or python scripts/train_flipflop.py)
"""

import argparse
import time

import jax
import numpy as np

from workshop_utils import flipflop

# Adam (cosine-decayed rate, clipping at norm 1), fresh trials each step; noise on the inputs
# makes the network hold its bits against perturbations. Seeds 0-5 all gave 8 stable points.
RECIPE = {"batch_size": 128, "learning_rate": 1e-2, "l2": 1e-4, "input_noise": 0.1}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default=str(flipflop.CHECKPOINT))
    args = parser.parse_args()

    train_key, test_key, fp_key = jax.random.split(jax.random.key(args.seed), 3)
    start = time.perf_counter()
    params, losses = flipflop.train(train_key, n_steps=args.steps, **RECIPE)
    seconds = time.perf_counter() - start

    inputs, targets = flipflop.make_trials(test_key, 1000)
    accuracy = flipflop.accuracy(params, inputs, targets)
    fps = flipflop.find_fixed_points(params, fp_key)
    counts = fps.counts()
    print(f"accuracy {accuracy:.5f} after {len(losses)} steps ({seconds:.0f} s); {fps}")
    if len(losses) < args.steps or accuracy < 0.999:
        raise SystemExit(f"training failed: {len(losses)} of {args.steps} steps, held-out accuracy "
                         f"{accuracy:.4f}; nothing saved")
    if not flipflop.holds_all_memories(params, fps):
        raise SystemExit(f"the network solves the task but does not hold its 8 memories as 8 stable fixed "
                         f"points (stable points read out {flipflop.match_memories(params, fps)}); nothing "
                         "saved. Try another --seed.")
    stable = fps[fps.is_stable]
    path = flipflop.save_trained(
        params, args.out, seed=args.seed, n_train_steps=args.steps, recipe=RECIPE, final_loss=float(losses[-1]),
        heldout_accuracy=round(accuracy, 6),
        fixed_points={**counts, "unstable_by_modes": {str(k): v for k, v in counts["unstable_by_modes"].items()},
                      "max_q": float(fps.qstar.max()),
                      "stable_leading_abs_eigenvalue": round(float(np.abs(stable.eigval_J_xstar[:, 0]).max()), 4),
                      "finder": "flipflop.find_fixed_points(params, key), 1024 candidates, noise 0.5"})
    print(f"saved {path}")


if __name__ == "__main__":
    main()
