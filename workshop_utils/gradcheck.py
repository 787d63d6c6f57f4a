"""Check gradients against central finite differences, along random directions."""

import jax
import jax.numpy as jnp


def central_difference(f, x, v, eps=1e-2):
    """(f(x + eps v) - f(x - eps v)) / (2 eps): the derivative of f at x along v, to O(eps^2)."""
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)


def relative_error(f, params, key, eps=1e-2):
    """|grad f . v - finite difference| / |grad f . v| along one random direction v.

    `params` may be any pytree of float arrays; v has the same structure and unit norm.
    With float32 and eps around 1e-2, a correct gradient gives errors of about 1e-3 or less.
    """
    leaves, treedef = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(key, len(leaves))
    v = [jax.random.normal(k, jnp.shape(leaf)) for k, leaf in zip(keys, leaves)]
    norm = jnp.sqrt(sum(jnp.sum(d**2) for d in v))
    v = jax.tree_util.tree_unflatten(treedef, [d / norm for d in v])
    along = lambda s: f(jax.tree_util.tree_map(lambda p, d: p + s * d, params, v))
    exact = sum(jnp.vdot(g, d) for g, d in zip(jax.tree_util.tree_leaves(jax.grad(f)(params)),
                                                 jax.tree_util.tree_leaves(v)))
    numeric = central_difference(along, 0.0, 1.0, eps)
    return float(jnp.abs(exact - numeric) / jnp.maximum(jnp.abs(exact), 1e-12))
