"""Transformer pieces for notebook 02: multi-head attention, positional encodings, masked modelling.

Notebook 02 writes each idea out; this module holds the versions its models reuse, tested
against Flax and against their definitions:

* `multi_head_attention(params, x, context=None, mask=None)`: h heads of scaled dot-product
  attention (`workshop_utils.attention`) on learned projections, concatenated and projected
  back (Vaswani et al. 2017). `params` has the layout of `flax.nnx.MultiHeadAttention`'s
  parameters, so the two can be compared weight for weight. `MultiHeadAttention` is the same
  function as a Flax NNX module that also returns the attention weights (Flax's does not),
  which the notebook's explorer draws.
* `sinusoidal_encoding(length, d_model)`: the fixed positional code of Vaswani et al.
* `masked_modelling_mask(key, shape, ...)`: which entries of a spike-count array to hide when
  training by masked modelling, as the Neural Data Transformer does (Ye & Pandarinath 2021):
  random whole time bins and random whole neurons of each trial.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from . import attention

PROJECTIONS = ("query", "key", "value", "out")


def multi_head_attention(params, x, context=None, mask=None):
    """h attention heads on x (self-attention) or from x to `context`; returns `(output, weights)`.

    For each head i: q_i = x Wq_i + bq_i, k_i = c Wk_i + bk_i, v_i = c Wv_i + bv_i (c = context,
    or x itself), head_i = softmax(q_i k_i^T / sqrt(d_head)) v_i, then
    output = sum_i head_i Wo_i + bo (the concatenation of the heads times one output matrix).

    params: {"query": {"kernel": (d_in, h, d_head), "bias": (h, d_head)}, "key": ..., "value":
             {... (d_in, h, d_v) ...}, "out": {"kernel": (h, d_v, d_out), "bias": (d_out,)}},
             the layout of `flax.nnx.MultiHeadAttention`'s parameters
             (`nnx.to_pure_dict(nnx.state(module, nnx.Param))`).
    x:       (..., L_q, d_in); context: (..., L_k, d_in), default x.
    mask:    boolean, broadcastable to (..., h, L_q, L_k), True = may attend. A causal mask
             (L, L) broadcasts as is; a padding mask (batch, L_k) needs `[:, None, None, :]`.
             A query that may attend to nothing reads nothing (zero weights, output = bo).
    Returns output (..., L_q, d_out) and weights (..., h, L_q, L_k).
    """
    x = jnp.asarray(x)
    context = x if context is None else jnp.asarray(context)
    shapes = _check_params(params)
    d_in = shapes["d_in"]
    for name, arr, dims in (("x", x, "(..., L_q, d_in)"), ("context", context, "(..., L_k, d_in)")):
        if arr.ndim < 2:
            raise ValueError(f"{name} must have at least 2 dimensions {dims}, got shape {arr.shape}")
        if arr.shape[-1] != d_in:
            raise ValueError(f"{name} has shape {arr.shape}, but the query/key/value kernels expect "
                             f"d_in = {d_in} features on its last axis")
    p = {name: {k: jnp.asarray(v) for k, v in params[name].items()} for name in PROJECTIONS}
    # Project, then move the head axis in front of the sequence axis: (..., h, L, d_head).
    q = jnp.einsum("...ld,dhk->...hlk", x, p["query"]["kernel"]) + p["query"]["bias"][:, None, :]
    k = jnp.einsum("...ld,dhk->...hlk", context, p["key"]["kernel"]) + p["key"]["bias"][:, None, :]
    v = jnp.einsum("...ld,dhk->...hlk", context, p["value"]["kernel"]) + p["value"]["bias"][:, None, :]
    if mask is not None:
        mask = jnp.asarray(mask)
        if mask.ndim >= 3 and mask.shape[-3] not in (1, shapes["h"]):
            raise ValueError(f"mask has shape {mask.shape}: axis -3 is the head axis and must be 1 or "
                             f"h = {shapes['h']}; for a padding mask (batch, L_k) use mask[:, None, None, :]")
    heads, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    output = jnp.einsum("...hlk,hko->...lo", heads, p["out"]["kernel"]) + p["out"]["bias"]
    return output, weights


def init_attention_params(key, d_model, n_heads, d_head=None, d_out=None):
    """Random parameters for `multi_head_attention`: LeCun-normal kernels, zero biases.

    Kernel entries are normal with variance 1 / fan_in (d_model for the query, key and value
    kernels, n_heads * d_head for the output kernel), so activations keep their scale.
    d_head defaults to d_model // n_heads (which must then divide evenly); d_out to d_model.
    """
    d_model, n_heads = _positive_int(d_model, "d_model"), _positive_int(n_heads, "n_heads")
    if d_head is None:
        if d_model % n_heads:
            raise ValueError(f"d_model = {d_model} is not divisible by n_heads = {n_heads}; "
                             "choose them so, or pass d_head")
        d_head = d_model // n_heads
    d_head = _positive_int(d_head, "d_head")
    d_out = d_model if d_out is None else _positive_int(d_out, "d_out")
    return _init_attention_params(key, d_model, n_heads, d_head, d_out)


@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _init_attention_params(key, d_model, n_heads, d_head, d_out):
    # One draw, cut into the four kernels: each draw of a new shape compiles a random number
    # generator, which takes a second or more on a CPU.
    sizes = [d_model * n_heads * d_head] * 3 + [n_heads * d_head * d_out]
    draws = jnp.split(jax.random.normal(key, (sum(sizes),)), np.cumsum(sizes)[:-1])
    params = {name: {"kernel": draw.reshape(d_model, n_heads, d_head) / np.sqrt(d_model),
                     "bias": jnp.zeros((n_heads, d_head))}
              for name, draw in zip(("query", "key", "value"), draws)}
    params["out"] = {"kernel": draws[3].reshape(n_heads, d_head, d_out) / np.sqrt(n_heads * d_head),
                     "bias": jnp.zeros(d_out)}
    return params


def sinusoidal_encoding(length, d_model, base=10000.0):
    """The fixed positional code of Vaswani et al. (2017), shape (length, d_model).

    PE[p, 2i] = sin(p / base^(2i / d_model)), PE[p, 2i + 1] = cos(p / base^(2i / d_model)):
    each pair of columns is a clock at its own frequency, from one turn every 2 pi positions
    down to one every 2 pi base positions. The code of p + k is a fixed rotation of the code of p
    (per pair), so an offset is a linear map, and every row has norm sqrt(d_model / 2).
    d_model must be even.
    """
    length, d_model = _positive_int(length, "length"), _positive_int(d_model, "d_model")
    if d_model % 2:
        raise ValueError(f"d_model must be even (sine and cosine columns come in pairs), got {d_model}")
    if not (isinstance(base, (int, float, np.floating, np.integer)) and base > 1):
        raise ValueError(f"base must be a number > 1, got {base!r}")
    position = np.arange(length)[:, None]
    frequency = base ** (-np.arange(0, d_model, 2) / d_model)
    angle = position * frequency
    code = np.empty((length, d_model))
    code[:, 0::2], code[:, 1::2] = np.sin(angle), np.cos(angle)
    return jnp.asarray(code, dtype=jnp.float32)


def masked_modelling_mask(key, shape, bin_fraction=0.2, neuron_fraction=0.1):
    """Boolean (trials, time, neurons), True = hidden from the model, to be predicted.

    Per trial, each time bin is hidden (all its neurons) with probability `bin_fraction`, and
    each neuron is hidden (all its bins) with probability `neuron_fraction`; an entry is hidden
    when its bin or its neuron is. Hiding bins makes the model fill in time from context;
    hiding neurons makes it predict a neuron from the rest of the population (co-smoothing).
    Usable inside `jit` (the shape must then be static).
    """
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
    if not (isinstance(shape, tuple) and len(shape) == 3
            and all(isinstance(n, (int, np.integer)) and n >= 1 for n in shape)):
        raise ValueError(f"shape must be (trials, time, neurons), three positive integers, got {shape!r}")
    for name, p in (("bin_fraction", bin_fraction), ("neuron_fraction", neuron_fraction)):
        if not isinstance(p, jax.core.Tracer) and not 0 <= float(p) < 1:
            raise ValueError(f"{name} is a probability in [0, 1), got {p!r}")
    key_bins, key_neurons = jax.random.split(key)
    n_trials, n_bins, n_neurons = shape
    hide_bins = jax.random.bernoulli(key_bins, bin_fraction, (n_trials, n_bins, 1))
    hide_neurons = jax.random.bernoulli(key_neurons, neuron_fraction, (n_trials, 1, n_neurons))
    return hide_bins | hide_neurons


class MultiHeadAttention(nnx.Module):
    """`multi_head_attention` as a Flax NNX module: `output, weights = module(x, mask=None)`.

    Self-attention with `n_heads` heads of size d_model // n_heads; returns the output
    (..., L, d_model) and the attention weights (..., n_heads, L, L), which Flax's own module
    does not return. `parameters()` gives the weights in `multi_head_attention`'s layout.
    """

    def __init__(self, d_model, n_heads, *, rngs):
        params = init_attention_params(rngs.params(), d_model, n_heads)
        for name in PROJECTIONS:
            setattr(self, f"{name}_kernel", nnx.Param(params[name]["kernel"]))
            setattr(self, f"{name}_bias", nnx.Param(params[name]["bias"]))

    def parameters(self):
        return {name: {"kernel": getattr(self, f"{name}_kernel")[...],
                       "bias": getattr(self, f"{name}_bias")[...]} for name in PROJECTIONS}

    def __call__(self, x, mask=None):
        return multi_head_attention(self.parameters(), x, mask=mask)


def _check_params(params):
    if not isinstance(params, dict) or set(PROJECTIONS) - set(params):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with keys {list(PROJECTIONS)} (each a dict with "
                         f"'kernel' and 'bias'), got {got}")
    shapes = {}
    for name in PROJECTIONS:
        entry = params[name]
        if not isinstance(entry, dict) or {"kernel", "bias"} - set(entry):
            raise ValueError(f"params[{name!r}] must be a dict with 'kernel' and 'bias', got "
                             f"{sorted(entry) if isinstance(entry, dict) else type(entry).__name__}")
        shapes[name] = (np.shape(entry["kernel"]), np.shape(entry["bias"]))
    (qk, qb), (kk, kb), (vk, vb), (ok, ob) = (shapes[n] for n in PROJECTIONS)
    if len(qk) != 3:
        raise ValueError(f"params['query']['kernel'] must have shape (d_in, h, d_head), got {qk}")
    d_in, h, d_head = qk
    if kk != qk:
        raise ValueError(f"params['key']['kernel'] has shape {kk} but the query kernel has {qk}; "
                         "queries and keys must have the same shape (d_in, h, d_head) for q . k")
    if len(vk) != 3 or vk[:2] != (d_in, h):
        raise ValueError(f"params['value']['kernel'] must have shape (d_in={d_in}, h={h}, d_v), got {vk}")
    d_v = vk[2]
    for name, got, want in (("query", qb, (h, d_head)), ("key", kb, (h, d_head)), ("value", vb, (h, d_v))):
        if got != want:
            raise ValueError(f"params[{name!r}]['bias'] must have shape {want}, got {got}")
    if len(ok) != 3 or ok[:2] != (h, d_v):
        raise ValueError(f"params['out']['kernel'] must have shape (h={h}, d_v={d_v}, d_out), got {ok}")
    if ob != ok[2:]:
        raise ValueError(f"params['out']['bias'] must have shape ({ok[2]},), got {ob}")
    return {"d_in": d_in, "h": h, "d_head": d_head, "d_v": d_v, "d_out": ok[2]}


def _positive_int(n, name):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)
