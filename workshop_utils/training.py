"""A training loop with a progress bar that stops cleanly when the loss turns NaN."""

import math
import warnings

import jax
import numpy as np
import optax
from tqdm.auto import tqdm


class TrainingDiverged(RuntimeWarning):
    """Warned when training stops because the loss stopped being finite."""


def train(step, state, n_steps, batches, *, desc="training", updates=100, callback=None,
          callback_every=100, progress=True):
    """Run `state, loss = step(state, batch)` for `n_steps` steps with a progress bar.

    step:    usually a jitted function; `state` is any pytree (e.g. `(params, opt_state)`).
    batches: `batches(i)` returns the batch for step i (a callable keeps the PRNG keys
             explicit: `lambda i: make_batch(jax.random.fold_in(key, i))`), or an iterable.
    updates: how many times the bar's loss readout is refreshed.
    callback: optional `callback(i, state)`, called after every `callback_every` steps (e.g. a
             validation loss for early stopping); training stops early when it returns True.
    progress: False hides the bar.

    Step i+1 is started before step i's loss is read, so that an asynchronous device (JAX)
    never waits for Python between steps; `batches(i + 1)` is therefore asked for before
    `callback(i, state)` runs.

    Returns `(state, losses)` with `losses` a NumPy array, one loss per completed step.
    If a loss is NaN or infinite, training stops with a warning that says at which step,
    and the state from before that step (the last good parameters) is returned; `losses`
    is then shorter than `n_steps`.
    """
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if callable(batches):
        get_batch = batches
    else:
        iterator = iter(batches)
        get_batch = lambda i: next(iterator)
    losses = []
    refresh = max(1, n_steps // max(1, updates))
    # Step i+1 is started before step i's loss is read: JAX computes asynchronously, so the
    # device goes on with the next step while Python checks this one (and the step that was
    # started needlessly is dropped when this one stops training). `state` is always the
    # state the unread step started from.
    in_flight = None  # (i, step i's (new state, loss)), started but its loss not yet read
    with tqdm(total=n_steps, desc=desc, unit="step", disable=not progress) as bar:
        for i in range(n_steps + 1):
            started = None
            if i < n_steps:
                try:
                    batch = get_batch(i)
                except StopIteration:
                    warnings.warn(f"{desc}: the batches ran out after {i} of {n_steps} steps.")
                else:
                    started = (i, step(state if in_flight is None else in_flight[1][0], batch))
            if in_flight is not None:
                j, (new_state, loss) = in_flight
                loss = float(loss)  # waits for step j: a NaN is caught before it spreads
                if not math.isfinite(loss):
                    message = (
                        f"{desc}: the loss became {loss} at step {j}, so training stopped there "
                        f"and the parameters from step {j - 1} (the last finite loss) are kept. "
                        "Try a smaller learning rate or stronger gradient clipping."
                    )
                    bar.write(message)
                    warnings.warn(message, TrainingDiverged, stacklevel=2)
                    break
                state = new_state
                losses.append(loss)
                if (j + 1) % refresh == 0 or j + 1 == n_steps:
                    bar.set_postfix(loss=f"{loss:.4g}", refresh=False)
                    bar.update((j + 1) - bar.n)
                if callback is not None and (j + 1) % callback_every == 0 and callback(j, state):
                    bar.write(f"{desc}: stopped early after {j + 1} steps.")
                    break
            if started is None:
                break
            in_flight = started
    return state, np.asarray(losses)


def optax_train_step(loss_fn, optimizer):
    """A jitted step for plain parameter pytrees: `state = (params, opt_state)`.

    `loss_fn(params, batch)` returns a scalar; the step returns `(new_state, loss)`, ready for
    `train`. Start from `state = (params, optimizer.init(params))`.
    """
    @jax.jit
    def step(state, batch):
        params, opt_state = state
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def nnx_train_step(model, optimizer, loss_fn):
    """A jitted, functional training step for a Flax NNX model and its `nnx.Optimizer`.

    NNX modules are mutable Python objects; `jax.jit` wants pure functions of arrays. So we
    split the pair into a static graph and a pytree of arrays (`state`), and each step merges
    them, takes `loss_fn(model, batch)`'s gradient, updates, and splits again. Returns
    `(step, state, unpack)`: use `step` and `state` with `train`, then `model, optimizer =
    unpack(state)`. Because the state is a value, `train` can keep the last good one on NaN.
    """
    from flax import nnx  # only the NNX notebooks need Flax

    graphdef, state = nnx.split((model, optimizer))

    @jax.jit
    def step(state, batch):
        model, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(loss_fn)(model, batch)
        optimizer.update(model, grads)
        return nnx.split((model, optimizer))[1], loss

    return step, state, lambda state: nnx.merge(graphdef, state)
