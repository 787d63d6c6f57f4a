"""The 3-bit flip-flop: a small tanh RNN that remembers the sign of the last pulse on each channel.

Sussillo & Barak 2013's example (and FixedPointFinder's). Each of `n_bits` input channels
carries sparse pulses of +1 or -1; the matching output must hold the sign of the latest pulse
until the next one. A network that solves it well stores the 2^3 = 8 memories as 8 stable
fixed points, with saddles between them; notebook 06 finds them. Solving the task does not
guarantee that (a network can hold its bits in a period-2 oscillation instead), so
scripts/train_flipflop.py checks the fixed points before it saves a network. Shapes: one
trial's input is (time, n_bits); batches add a leading trial axis.
"""

import itertools
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from . import checkpoint, fixed_points, training, vanilla_rnn

N_BITS = 3
N_STEPS = 64      # time steps per trial
P_FLIP = 0.2      # chance of a pulse per channel and step (half of the pulses repeat the bit)
N_HIDDEN = 16     # the reference size (FixedPointFinder's example)

CHECKPOINT = Path(__file__).resolve().parent.parent / "data" / "flipflop_rnn"
MAKE_CHECKPOINT = "Make it with: ./workshop checkpoints   (python scripts/train_flipflop.py)"


def make_trials(key, n_trials, n_steps=N_STEPS, n_bits=N_BITS, p_flip=P_FLIP):
    """Pulses and the bits they set: returns `(inputs, targets)`, each (n_trials, n_steps, n_bits).

    inputs[t, i] is +1 or -1 (equally likely) with probability `p_flip`, else 0; every channel
    gets a pulse at t = 0, so each bit starts at a random +-1 and the targets are always +-1:
    targets[t, i] = the value of the last nonzero inputs[s, i] with s <= t. A pulse that
    repeats the current bit changes nothing, so a bit flips with probability p_flip / 2.
    """
    if n_trials < 1 or n_steps < 1 or n_bits < 1:
        raise ValueError(f"need n_trials, n_steps and n_bits >= 1, got {n_trials}, {n_steps} and {n_bits}")
    if not 0.0 <= p_flip <= 1.0:
        raise ValueError(f"p_flip is a probability per step, so it must be in [0, 1]; got {p_flip}")
    return _make_trials(key, p_flip, n_trials=n_trials, n_steps=n_steps, n_bits=n_bits)


@partial(jax.jit, static_argnames=("n_trials", "n_steps", "n_bits"))
def _make_trials(key, p_flip, n_trials, n_steps, n_bits):
    pulse_key, sign_key = jax.random.split(key)
    pulses = jax.random.bernoulli(pulse_key, p_flip, (n_trials, n_steps, n_bits))
    pulses = pulses.at[:, 0, :].set(True)
    signs = jnp.where(jax.random.bernoulli(sign_key, 0.5, pulses.shape), 1.0, -1.0)
    inputs = jnp.where(pulses, signs, 0.0)

    def hold(bits, x):  # the last pulse wins; zeros leave the bits alone
        bits = jnp.where(x != 0, x, bits)
        return bits, bits

    _, targets = jax.lax.scan(hold, jnp.zeros((n_trials, n_bits)), jnp.swapaxes(inputs, 0, 1))
    return inputs, jnp.swapaxes(targets, 0, 1)


def memories(n_bits=N_BITS):
    """The 2^n_bits sign patterns the network must hold, shape (2^n_bits, n_bits)."""
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n_bits)))


def init_params(key, n_hidden=N_HIDDEN, n_bits=N_BITS, gain=0.9):
    """The RNN's weights (see `vanilla_rnn.init_params`): one input and one output per bit."""
    return vanilla_rnn.init_params(key, n_hidden, n_bits, n_bits, gain)


rnn_step, readout, step_map, run, run_batch = (vanilla_rnn.rnn_step, vanilla_rnn.readout, vanilla_rnn.step_map,
                                               vanilla_rnn.run, vanilla_rnn.run_batch)



def loss(params, inputs, targets, l2=1e-4):
    """Mean squared error of the outputs against the bits, plus L2 on the recurrent weights."""
    _, outputs = run_batch(params, inputs)
    return jnp.mean((outputs - targets) ** 2) + l2 * jnp.sum(params["W"] ** 2)


def accuracy(params, inputs, targets):
    """Fraction of (trial, step, bit) entries where the output has the sign of the bit."""
    _, outputs = run_batch(params, inputs)
    return float(jnp.mean(jnp.sign(outputs) == targets))


def train(key, n_steps=3000, batch_size=128, n_hidden=N_HIDDEN, learning_rate=1e-2, l2=1e-4,
          input_noise=0.1, desc="flip-flop"):
    """Train a flip-flop RNN from scratch; returns `(params, losses)`. Fresh trials every step.

    `input_noise` (standard deviation) is added to the inputs while training, so the network
    must hold its bits against small perturbations: that favours memories stored as stable
    fixed points over more fragile solutions (such as a period-2 oscillation).
    """
    init_key, data_key = jax.random.split(key)
    params = init_params(init_key, n_hidden)
    schedule = optax.cosine_decay_schedule(learning_rate, max(n_steps, 1), alpha=0.05)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))

    def noisy_loss(params, batch_key):
        trial_key, noise_key = jax.random.split(batch_key)
        inputs, targets = make_trials(trial_key, batch_size)
        inputs = inputs + input_noise * jax.random.normal(noise_key, inputs.shape)
        return loss(params, inputs, targets, l2)

    step = training.optax_train_step(noisy_loss, optimizer)
    state = (params, optimizer.init(params))
    (params, _), losses = training.train(
        step, state, n_steps, lambda i: jax.random.fold_in(data_key, i), desc=desc)
    return params, losses


@partial(jax.jit, static_argnames=("n_states", "n_trials"))
def sample_states(params, key, n_states=1024, noise_scale=0.0, n_trials=128):
    """Candidates for the fixed-point finder: `n_states` hidden states visited while the network
    runs fresh trials, plus Gaussian noise of standard deviation `noise_scale`; (n_states, N)."""
    trial_key, pick_key, noise_key = jax.random.split(key, 3)
    inputs, _ = make_trials(trial_key, n_trials)
    hidden, _ = run_batch(params, inputs)
    states = fixed_points.sample_states(pick_key, hidden, n_states)
    return states + noise_scale * jax.random.normal(noise_key, states.shape)


def find_fixed_points(params, key, n_candidates=1024, noise_scale=0.5, **options):
    """The fixed points of the trained network with its inputs off (u = 0), from `n_candidates`
    states sampled along trajectories plus noise (`sample_states`); `options` go to
    `fixed_points.find_fixed_points`."""
    candidates = sample_states(params, key, n_candidates, noise_scale)
    zero_input = jnp.zeros(params["B"].shape[1])
    return fixed_points.find_fixed_points(step_map(params), candidates, zero_input, **options)


def match_memories(params, fps, tol=0.5):
    """Which memory each stable fixed point holds: a list of sign patterns (tuples), one per
    stable point, or None for a stable point whose readout C h + c is not within `tol` of
    a pattern on every bit."""
    patterns = []
    for y in np.asarray(readout(params, fps.xstar[fps.is_stable])):
        bits = np.sign(y)
        patterns.append(tuple(int(b) for b in bits) if np.all(np.abs(y - bits) < tol) else None)
    return patterns


def holds_all_memories(params, fps, tol=0.5):
    """True when there are exactly 2^n_bits stable fixed points, one for each memory."""
    patterns = match_memories(params, fps, tol)
    n_memories = 2 ** params["C"].shape[0]
    return len(patterns) == n_memories and None not in patterns and len(set(patterns)) == n_memories


def save_trained(params, path=CHECKPOINT, **metadata):
    """Save a trained flip-flop network with its task settings beside the weights."""
    task = {"n_bits": N_BITS, "n_steps": N_STEPS, "p_flip": P_FLIP}
    return checkpoint.save(path, params, {"task": task, **metadata})


def load_trained(path=CHECKPOINT):
    """Load the trained flip-flop network from data/; returns `(params, metadata)`."""
    like = init_params(jax.random.key(0))
    params, metadata = checkpoint.load(path, like=like, hint=MAKE_CHECKPOINT)
    return jax.tree_util.tree_map(jnp.asarray, params), metadata
