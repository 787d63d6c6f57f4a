"""The white-noise integrator: a vanilla RNN trained to report the running sum of its input.

The first step of the original LFADS tutorial. Notebook 03 builds and trains it; its hidden
states are the latent dynamics that notebook 04 turns into spikes, and notebook 06 finds its
line attractor. Shapes: one trial's input is (time, 1); batches add a leading trial axis.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import optax

from . import checkpoint, training, vanilla_rnn

N_STEPS = 25                   # time steps per trial
DT = 1.0 / N_STEPS             # seconds per step: a trial lasts 1 s
NOISE_STD = 0.025 / DT ** 0.5  # white noise of spectral density 0.025^2, sampled every DT
BIAS_MAX = 0.025               # each trial adds a constant bias drawn from [-BIAS_MAX, BIAS_MAX]
N_HIDDEN = 100

CHECKPOINT = Path(__file__).resolve().parent.parent / "data" / "integrator_rnn"
MAKE_CHECKPOINT = "Make it with: ./workshop checkpoints   (python scripts/train_integrator.py)"


def make_trials(key, n_trials, n_steps=N_STEPS, noise_std=NOISE_STD, bias_max=BIAS_MAX):
    """Noisy input and its running sum: returns `(inputs, targets)`, each (n_trials, n_steps, 1).

    input[t] = bias + noise_std * xi[t], xi ~ N(0, 1), one bias per trial; the target is the
    running sum target[t] = input[0] + ... + input[t], i.e. the integral with time in steps.
    """
    if n_trials < 1 or n_steps < 1:
        raise ValueError(f"need n_trials >= 1 and n_steps >= 1, got {n_trials} and {n_steps}")
    bias_key, noise_key = jax.random.split(key)
    bias = jax.random.uniform(bias_key, (n_trials, 1, 1), minval=-bias_max, maxval=bias_max)
    inputs = bias + noise_std * jax.random.normal(noise_key, (n_trials, n_steps, 1))
    return inputs, jnp.cumsum(inputs, axis=1)


def init_params(key, n_hidden=N_HIDDEN, n_in=1, n_out=1, gain=0.95):
    """The RNN's weights (see `vanilla_rnn.init_params`); a gain just under 1 starts the
    network near marginal stability, where integrating is easiest to learn."""
    return vanilla_rnn.init_params(key, n_hidden, n_in, n_out, gain)


rnn_step, run, run_batch, step_map = (vanilla_rnn.rnn_step, vanilla_rnn.run, vanilla_rnn.run_batch,
                                      vanilla_rnn.step_map)


def trial_loss(params, inputs, targets):
    """Mean squared error of one trial's output against its running sum."""
    _, outputs = run(params, inputs)
    return jnp.mean((outputs - targets) ** 2)


def loss(params, inputs, targets, l2=1e-5):
    """Batch loss: the mean of the per-trial losses, plus L2 on the recurrent weights."""
    per_trial = jax.vmap(trial_loss, in_axes=(None, 0, 0))(params, inputs, targets)
    return jnp.mean(per_trial) + l2 * jnp.sum(params["W"] ** 2)


def make_optimizer(learning_rate=2e-3, n_steps=3000, clip=1.0):
    """Adam with gradient-norm clipping and a cosine decay of the learning rate."""
    schedule = optax.cosine_decay_schedule(learning_rate, max(n_steps, 1), alpha=0.05)
    return optax.chain(optax.clip_by_global_norm(clip), optax.adam(schedule))


def train(key, n_steps=3000, batch_size=128, n_hidden=N_HIDDEN, learning_rate=2e-3, desc="integrator"):
    """Train an integrator from scratch; returns `(params, losses)`. Fresh trials every step."""
    init_key, data_key = jax.random.split(key)
    params = init_params(init_key, n_hidden)
    optimizer = make_optimizer(learning_rate, n_steps)

    step = training.optax_train_step(
        lambda params, batch_key: loss(params, *make_trials(batch_key, batch_size)), optimizer)
    state = (params, optimizer.init(params))
    (params, _), losses = training.train(
        step, state, n_steps, lambda i: jax.random.fold_in(data_key, i), desc=desc)
    return params, losses


def save_trained(params, path=CHECKPOINT, **metadata):
    """Save a trained integrator with its task settings beside the weights."""
    task = {"n_steps": N_STEPS, "dt": DT, "noise_std": NOISE_STD, "bias_max": BIAS_MAX}
    return checkpoint.save(path, params, {"task": task, **metadata})


def load_trained(path=CHECKPOINT):
    """Load the trained integrator from data/; returns `(params, metadata)`."""
    like = init_params(jax.random.key(0))
    params, metadata = checkpoint.load(path, like=like, hint=MAKE_CHECKPOINT)
    return jax.tree_util.tree_map(jnp.asarray, params), metadata
