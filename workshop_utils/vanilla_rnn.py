"""The vanilla tanh RNN that notebooks 03, 04 and 06 train and dissect.

    h_t = tanh(W h_{t-1} + B x_t + b),    y_t = C h_t + c.

Parameters are a plain dict {"W", "B", "b", "C", "c"}; one trial's input is (time, n_in) and
`run_batch` adds a leading trial axis. The tasks (`integrator`, `flipflop`) build on it.
"""

import jax
import jax.numpy as jnp


def init_params(key, n_hidden, n_in, n_out, gain):
    """W ~ N(0, gain^2 / N) (gain near 1: near marginal stability), B ~ N(0, 1),
    C ~ N(0, 1 / N), zero biases."""
    kw, kb, kc = jax.random.split(key, 3)
    return {
        "W": gain * jax.random.normal(kw, (n_hidden, n_hidden)) / jnp.sqrt(n_hidden),
        "B": jax.random.normal(kb, (n_hidden, n_in)),
        "b": jnp.zeros(n_hidden),
        "C": jax.random.normal(kc, (n_out, n_hidden)) / jnp.sqrt(n_hidden),
        "c": jnp.zeros(n_out),
    }


def rnn_step(params, h, x):
    """One step: h_t = tanh(W h_{t-1} + B x_t + b)."""
    return jnp.tanh(params["W"] @ h + params["B"] @ x + params["b"])


def readout(params, h):
    """The output y = C h + c, for one state (N,) or many (..., N)."""
    return h @ params["C"].T + params["c"]


def step_map(params):
    """F(h, u) = tanh(W h + B u + b), for `fixed_points.find_fixed_points(F, states, u)`.

    A `jax.tree_util.Partial`, so the finder's compiled code is reused for new weights.
    """
    return jax.tree_util.Partial(rnn_step, params)


def run(params, inputs, h0=None):
    """Run one trial (from h_0 = 0 unless given); return `(hidden, outputs)`, (T, N) and (T, n_out)."""
    def step(h, x):
        h = rnn_step(params, h, x)
        return h, h

    h0 = jnp.zeros(params["W"].shape[0]) if h0 is None else h0
    _, hidden = jax.lax.scan(step, h0, inputs)
    return hidden, readout(params, hidden)


run_batch = jax.vmap(run, in_axes=(None, 0))
