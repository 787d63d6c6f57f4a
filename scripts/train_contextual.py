"""Train the context-dependent integrator RNN and save it to data/contextual_rnn.{npz,json}.

Notebook 06 loads this checkpoint to find a line attractor in each context (Mante, Sussillo
et al. 2013). `contextual.train` is the whole recipe: Adam with a cosine-decayed rate, fresh
trials every step. Usage: ./workshop checkpoints  (or python scripts/train_contextual.py)
"""

import argparse
import time

import jax

from workshop_utils import contextual, metrics, vanilla_rnn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--out", default=str(contextual.CHECKPOINT))
    args = parser.parse_args()

    train_key, test_key = jax.random.split(jax.random.key(args.seed))
    start = time.perf_counter()
    params, losses = contextual.train(train_key, n_steps=args.steps)
    seconds = time.perf_counter() - start

    inputs, targets, _ = contextual.make_trials(test_key, 1000)
    _, outputs = vanilla_rnn.run_batch(params, inputs)
    r2 = metrics.r_squared(targets, outputs)
    print(f"held-out R^2 = {r2:.5f} after {len(losses)} steps ({seconds:.0f} s)")
    if len(losses) < args.steps or r2 < 0.99:
        raise SystemExit(f"training failed: {len(losses)} of {args.steps} steps, held-out R^2 {r2:.4f}; nothing saved")
    path = contextual.save_trained(params, args.out, seed=args.seed, n_train_steps=args.steps,
                                   final_loss=float(losses[-1]), heldout_r2=round(r2, 6))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
