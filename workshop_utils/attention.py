"""Attention: a softmax over scores that says which inputs each output step reads from.

Notebook 01 builds it up from the equations: additive scores (Bahdanau 2015), dot scores
(Luong 2015), then scaled dot-product attention (Vaswani 2017),

    weights = softmax(q k^T / sqrt(d)),   output = weights v,

with a boolean mask (True = "may attend") for causal decoding and padded batches (notebook
02). Shapes: q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v), where "..." is any number of
leading batch dimensions (none included). The score and attention functions are compiled
with `jax.jit` (shapes are checked when they compile), work under `jax.vmap` and `jax.grad`,
and never return NaN: a query that may attend to nothing reads nothing (zero weights, zero
output), and its gradients stay finite.
"""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np


@jax.jit
def scaled_dot_product_attention(q, k, v, mask=None):
    """Return `(output, weights)`: weights = softmax(q k^T / sqrt(d)) over keys, output = weights v.

    q (..., L_q, d), k (..., L_k, d), v (..., L_k, d_v); the leading dimensions of q, k and v
    must broadcast together (to "..."). `mask` is boolean and broadcasts to (..., L_q, L_k);
    True means query i may attend to key j. Weights are exactly 0 on masked keys and sum to 1
    over the allowed ones; a query row with no allowed key gets all-zero weights and a zero
    output (never NaN, and finite gradients). Returns output (..., L_q, d_v) and weights
    (..., L_q, L_k).
    """
    q, k, v = jnp.asarray(q), jnp.asarray(k), jnp.asarray(v)
    for name, x, dims in (("q", q, "(..., L_q, d)"), ("k", k, "(..., L_k, d)"),
                          ("v", v, "(..., L_k, d_v)")):
        if x.ndim < 2:
            raise ValueError(f"{name} must have at least 2 dimensions {dims}, got shape {x.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q has shape {q.shape} and k has shape {k.shape}: their last (feature) "
                         "dimensions must match, since each score is a dot product q . k")
    if q.shape[-1] == 0:
        raise ValueError(f"q and k have an empty feature dimension (shape {q.shape}); need d >= 1")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k has shape {k.shape} and v has shape {v.shape}: they must have the same "
                         "sequence length L_k (axis -2), one value per key")
    if q.shape[-2] == 0 or k.shape[-2] == 0:
        raise ValueError(f"empty sequence: q has shape {q.shape} and k has shape {k.shape}; "
                         "need L_q >= 1 and L_k >= 1")
    batch = _broadcast("the leading (batch) dimensions of q, k and v",
                       q.shape[:-2], k.shape[:-2], v.shape[:-2])
    scores_shape = batch + (q.shape[-2], k.shape[-2])
    mask = _check_mask(mask, scores_shape, "(..., L_q, L_k)")

    scores = q @ jnp.swapaxes(k, -1, -2) / jnp.sqrt(q.shape[-1])
    weights = masked_softmax(jnp.broadcast_to(scores, scores_shape), mask)
    return weights @ v, weights


@partial(jax.jit, static_argnames="axis")
def masked_softmax(scores, mask=None, axis=-1):
    """Softmax of `scores` along `axis`, over the entries where the boolean `mask` is True.

    `mask` broadcasts to `scores.shape`. Masked entries get weight exactly 0; a slice with no
    allowed entry gets all zeros instead of NaN. Gradients are finite everywhere, fully masked
    slices included: masked scores never enter an exp and no intermediate is ever inf or NaN.
    (Adding -inf to masked scores instead makes a fully masked slice exp(-inf + inf) = NaN,
    and its gradient stays NaN even if the output is patched to 0 afterwards.)
    """
    scores = jnp.asarray(scores)
    if scores.ndim == 0:
        raise ValueError("scores must have at least 1 dimension, got a scalar")
    if not -scores.ndim <= axis < scores.ndim:
        raise ValueError(f"axis {axis} is out of range for scores of shape {scores.shape}")
    if mask is None:
        return jax.nn.softmax(scores, axis=axis)
    mask = _check_mask(mask, scores.shape, "scores.shape")

    # Subtract the largest allowed score (for stability; a constant, so no gradient through it).
    # A fully masked slice has no largest score: shift by 0 there.
    top = jnp.max(jnp.where(mask, scores, -jnp.inf), axis=axis, keepdims=True)
    top = jax.lax.stop_gradient(jnp.where(jnp.isfinite(top), top, 0.0))
    # exp(0) = 1 stands in for masked scores, then is zeroed: no inf can reach the gradient.
    e = jnp.where(mask, jnp.exp(jnp.where(mask, scores - top, 0.0)), 0.0)
    total = jnp.sum(e, axis=axis, keepdims=True)
    # total >= 1 wherever any entry is allowed (the largest one contributes exp(0)); it is 0
    # only in fully masked slices, whose e is all zeros, so dividing by 1 there leaves zeros.
    return e / jnp.where(total > 0, total, 1.0)


@jax.jit
def additive_scores(query, keys, W_q, W_k, v):
    """Bahdanau's additive scores: score_j = v^T tanh(W_q q + W_k k_j) for every key j.

    query (..., d_q), keys (..., L_k, d_k), W_q (d_a, d_q), W_k (d_a, d_k), v (d_a,);
    returns scores (..., L_k). A one-hidden-layer network rates how well each key fits the query.
    """
    query, keys, W_q, W_k, v = map(jnp.asarray, (query, keys, W_q, W_k, v))
    _check_query_keys(query, keys)
    if v.ndim != 1:
        raise ValueError(f"v must be a vector (d_a,), got shape {v.shape}")
    d_a = v.shape[0]
    for name, W, d, of in (("W_q", W_q, query.shape[-1], "query's"), ("W_k", W_k, keys.shape[-1], "keys'")):
        if W.shape != (d_a, d):
            raise ValueError(f"{name} must have shape (d_a, {d}) = {(d_a, d)} to match v {v.shape} "
                             f"and the {of} features, got {W.shape}")
    hidden = jnp.tanh((query @ W_q.T)[..., None, :] + keys @ W_k.T)  # (..., L_k, d_a)
    return hidden @ v


@jax.jit
def dot_scores(query, keys):
    """Luong's dot scores: score_j = q . k_j for every key j.

    query (..., d), keys (..., L_k, d); returns scores (..., L_k).
    """
    query, keys = jnp.asarray(query), jnp.asarray(keys)
    _check_query_keys(query, keys)
    if query.shape[-1] != keys.shape[-1]:
        raise ValueError(f"query has shape {query.shape} and keys have shape {keys.shape}: "
                         "their last (feature) dimensions must match for a dot product")
    return jnp.sum(query[..., None, :] * keys, axis=-1)


def causal_mask(L):
    """(L, L) boolean, True on and below the diagonal: step i may attend to steps 0..i only."""
    if int(L) != L or L < 1:
        raise ValueError(f"L must be a positive integer (a sequence length), got {L!r}")
    return jnp.tril(jnp.ones((int(L), int(L)), dtype=bool))


def padding_mask(lengths, L):
    """(batch, L) boolean, True on the first lengths[b] steps of sequence b (its real tokens).

    Use `mask[:, None, :]` to stop every query from attending to padded keys, as a mask of
    shape (batch, 1, L_k) for attention over (batch, L_q, L_k).
    """
    lengths = jnp.asarray(lengths)
    if int(L) != L or L < 1:
        raise ValueError(f"L must be a positive integer (the padded length), got {L!r}")
    if lengths.ndim != 1 or not jnp.issubdtype(lengths.dtype, jnp.integer):
        raise ValueError(f"lengths must be a 1-D integer array (batch,), got {lengths.dtype} "
                         f"of shape {lengths.shape}")
    if not isinstance(lengths, jax.core.Tracer):  # values are only known outside jit
        if np.any((np.asarray(lengths) < 0) | (np.asarray(lengths) > L)):
            raise ValueError(f"lengths must lie in [0, L={L}], got {np.asarray(lengths).tolist()}")
    return jnp.arange(int(L)) < lengths[:, None]


def _check_query_keys(query, keys):
    if query.ndim < 1:
        raise ValueError(f"query must have at least 1 dimension (..., d_q), got shape {query.shape}")
    if keys.ndim < 2:
        raise ValueError(f"keys must have at least 2 dimensions (..., L_k, d_k), got shape {keys.shape}")
    if keys.shape[-2] == 0:
        raise ValueError(f"empty sequence: keys have shape {keys.shape}; need L_k >= 1")
    _broadcast("the leading (batch) dimensions of query and keys", query.shape[:-1], keys.shape[:-2])


def _check_mask(mask, shape, described):
    """The mask as a boolean array broadcast to `shape`, or None."""
    if mask is None:
        return None
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}; "
                         "use e.g. `mask != 0` to convert")
    try:
        fits = np.broadcast_shapes(mask.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"mask has shape {mask.shape}, which does not broadcast to {described} "
                         f"= {tuple(shape)}")
    return jnp.broadcast_to(mask, shape)


def _broadcast(what, *shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"{what} must broadcast together, got {', '.join(map(str, shapes))}") from None
