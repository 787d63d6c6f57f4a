"""Context-dependent integration (Mante, Sussillo et al. 2013): integrate one of two inputs.

Each trial carries two noisy evidence streams (think motion and colour) and a constant
one-hot context cue; the target is the running sum of the stream the context selects. The
network must ignore the other stream entirely. Inputs (time, 4): [stream 1, stream 2, cue 1,
cue 2]; targets (time, 1). The RNN is `vanilla_rnn`'s.
"""

from pathlib import Path

import jax
import jax.numpy as jnp

from . import checkpoint, integrator, training, vanilla_rnn

N_STEPS = integrator.N_STEPS
NOISE_STD = integrator.NOISE_STD
BIAS_MAX = 0.05
N_HIDDEN = 100
CHECKPOINT = Path(__file__).resolve().parent.parent / "data" / "contextual_rnn"
MAKE_CHECKPOINT = "Make it with: ./workshop checkpoints   (python scripts/train_contextual.py)"


def make_trials(key, n_trials, n_steps=N_STEPS, noise_std=NOISE_STD, bias_max=BIAS_MAX):
    """`(inputs, targets, contexts)`: inputs (n, T, 4), targets (n, T, 1), contexts (n,) in {0, 1}."""
    if n_trials < 1 or n_steps < 1:
        raise ValueError(f"need n_trials >= 1 and n_steps >= 1, got {n_trials} and {n_steps}")
    bias_key, noise_key, context_key = jax.random.split(key, 3)
    bias = jax.random.uniform(bias_key, (n_trials, 1, 2), minval=-bias_max, maxval=bias_max)
    streams = bias + noise_std * jax.random.normal(noise_key, (n_trials, n_steps, 2))
    contexts = jax.random.bernoulli(context_key, 0.5, (n_trials,)).astype(jnp.int32)
    cues = jnp.broadcast_to(jax.nn.one_hot(contexts, 2)[:, None, :], (n_trials, n_steps, 2))
    relevant = jnp.take_along_axis(streams, contexts[:, None, None], axis=2)
    return jnp.concatenate([streams, cues], axis=2), jnp.cumsum(relevant, axis=1), contexts


def init_params(key, n_hidden=N_HIDDEN, gain=0.95):
    return vanilla_rnn.init_params(key, n_hidden, 4, 1, gain)


def loss(params, inputs, targets, l2=1e-5):
    _, outputs = vanilla_rnn.run_batch(params, inputs)
    return jnp.mean((outputs - targets) ** 2) + l2 * jnp.sum(params["W"] ** 2)


def train(key, n_steps=4000, batch_size=128, learning_rate=2e-3, desc="context-dependent integrator"):
    """Train from scratch with fresh trials every step; returns `(params, losses)`."""
    init_key, data_key = jax.random.split(key)
    params = init_params(init_key)
    optimizer = integrator.make_optimizer(learning_rate, n_steps)
    step = training.optax_train_step(lambda p, k: loss(p, *make_trials(k, batch_size)[:2]), optimizer)
    (params, _), losses = training.train(step, (params, optimizer.init(params)), n_steps,
                                         lambda i: jax.random.fold_in(data_key, i), desc=desc)
    return params, losses


def save_trained(params, path=CHECKPOINT, **metadata):
    """Save a trained network with its task settings beside the weights."""
    task = {"n_steps": N_STEPS, "noise_std": NOISE_STD, "bias_max": BIAS_MAX}
    return checkpoint.save(path, params, {"task": task, **metadata})


def load_trained(path=CHECKPOINT):
    """Load the trained context-dependent integrator from data/; returns `(params, metadata)`."""
    params, metadata = checkpoint.load(path, like=init_params(jax.random.key(0)), hint=MAKE_CHECKPOINT)
    return jax.tree_util.tree_map(jnp.asarray, params), metadata
