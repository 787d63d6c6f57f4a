"""Train the white-noise integrator RNN and save it to data/integrator_rnn.{npz,json}.

Notebook 03 trains the same network live; this script makes the longer-trained checkpoint
that notebooks 03, 04 and 06 load. Usage: ./workshop checkpoints  (or python scripts/train_integrator.py)
"""

import argparse
import time

import jax

from workshop_utils import integrator, metrics


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--out", default=str(integrator.CHECKPOINT))
    args = parser.parse_args()

    train_key, test_key = jax.random.split(jax.random.key(args.seed))
    start = time.perf_counter()
    params, losses = integrator.train(train_key, n_steps=args.steps)
    seconds = time.perf_counter() - start

    inputs, targets = integrator.make_trials(test_key, 2000)
    _, outputs = integrator.run_batch(params, inputs)
    r2 = metrics.r_squared(targets, outputs)
    if len(losses) < args.steps or r2 < 0.99:
        raise SystemExit(f"training failed: {len(losses)} of {args.steps} steps, held-out R^2 {r2:.4f}; nothing saved")
    path = integrator.save_trained(params, args.out, seed=args.seed, n_train_steps=args.steps,
                                   final_loss=float(losses[-1]), heldout_r2=round(r2, 6))
    print(f"held-out R^2 = {r2:.5f} after {args.steps} steps ({seconds:.0f} s); saved {path}")


if __name__ == "__main__":
    main()
