"""LFADS's hand-written gradients (the custom VJPs of its two loops) against `jax.grad`
through a plain `lax.scan` reference: the model as it was written before the speed work."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workshop_utils import gradcheck, lfads

SMALL = dict(encoder_size=5, generator_size=6, n_factors=3)


# -------------------------------------------------------------- the reference (plain scans)
def reference_gru_sequence(x_proj, W_h, b_h, h0, reverse=False):
    def step(h, x_t):
        h = lfads.gru_update(h, x_t, h @ W_h + b_h)
        return h, h
    return jax.lax.scan(step, h0, x_proj[::-1] if reverse else x_proj)[1][::-1 if reverse else 1]


def reference_generate(w, enc_proj, eps, keep, g0, f0):
    U = eps.shape[-1]

    def step(carry, xs):
        g, c, f = carry
        enc_t, eps_t, keep_t = xs
        c = lfads.gru_update(c, enc_t + f @ w["W_cf"], c @ w["Wh_c"] + w["bh_c"])
        out = c @ w["W_u"] + w["b_u"]
        u_mean, u_logvar = out[:, :U], lfads._floor_logvar(out[:, U:])
        u = u_mean + jnp.exp(0.5 * u_logvar) * eps_t
        g = lfads.gru_update(g, u @ w["Wx_g"] + w["bx_g"], g @ w["Wh_g"] + w["bh_g"])
        f = (g * keep_t) @ w["W_f"]
        return (g, c, f), (g, f, u, u_mean, u_logvar)

    c0 = jnp.zeros((g0.shape[0], w["Wh_c"].shape[0]))
    return jax.lax.scan(step, (g0, c0, f0), (enc_proj, eps, keep))[1]


def random_tree(key, tree, scale=0.5):
    leaves, treedef = jax.tree.flatten(tree)
    keys = jax.random.split(key, len(leaves))
    return jax.tree.unflatten(treedef, [scale * jax.random.normal(k, jnp.shape(x))
                                        for k, x in zip(keys, leaves)])


def assert_vjps_match(fast, reference, args, key):
    """Same outputs, and the same pullback of a random cotangent to every argument."""
    out, pull = jax.vjp(fast, *args)
    ref_out, ref_pull = jax.vjp(reference, *args)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(ref_out)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    cotangent = random_tree(key, out, scale=1.0)
    got, want = pull(cotangent), ref_pull(cotangent)
    assert jax.tree.structure(got) == jax.tree.structure(want)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert float(jnp.max(jnp.abs(b))) > 0  # every gradient is exercised
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------------ the loops
@pytest.mark.parametrize("reverse", [False, True])
def test_gru_sequence_gradients_match_autodiff_through_scan(reverse):
    T, B, H = 7, 3, 4
    k = jax.random.split(jax.random.key(0), 5)
    args = (jax.random.normal(k[0], (T, B, 3 * H)), jax.random.normal(k[1], (H, 3 * H)) / 2,
            jax.random.normal(k[2], (3 * H,)), jax.random.normal(k[3], (B, H)))
    fast = jax.jit(lambda *a: lfads.gru_sequence(*a, reverse=reverse))
    reference = jax.jit(lambda *a: reference_gru_sequence(*a, reverse=reverse))
    assert_vjps_match(fast, reference, args, k[4])


@pytest.mark.parametrize("n_inputs", [1, 2])
def test_generator_loop_gradients_match_autodiff_through_scan(n_inputs):
    T, B, C, G, F, U = 6, 3, 4, 5, 3, n_inputs
    k = jax.random.split(jax.random.key(1), 20)
    shapes = {"W_cf": (F, 3 * C), "Wh_c": (C, 3 * C), "bh_c": (3 * C,), "W_u": (C, 2 * U),
              "b_u": (2 * U,), "Wx_g": (U, 3 * G), "bx_g": (3 * G,), "Wh_g": (G, 3 * G),
              "bh_g": (3 * G,), "W_f": (G, F)}
    w = {name: 0.7 * jax.random.normal(k[i], s) for i, (name, s) in enumerate(shapes.items())}
    keep = (jax.random.uniform(k[12], (T, B, G)) > 0.3) / 0.7
    args = (w, jax.random.normal(k[13], (T, B, 3 * C)), jax.random.normal(k[14], (T, B, U)),
            keep, jax.random.normal(k[15], (B, G)), jax.random.normal(k[16], (B, F)))
    assert_vjps_match(jax.jit(lfads._generate), jax.jit(reference_generate), args, k[17])


# ------------------------------------------------------------------ the whole training loss
def total_loss(params, graphdef, spikes, key, reference=False):
    """The training loss; with `reference`, through the plain-scan loops instead."""
    with pytest.MonkeyPatch.context() as patch:
        if reference:
            patch.setattr(lfads, "gru_sequence", reference_gru_sequence)
            patch.setattr(lfads, "_generate", reference_generate)
        terms = lfads.loss_terms(nnx.merge(graphdef, params), spikes, key, training=True)
    return terms["recon"] + terms["kl"] + terms["l2"]


@pytest.mark.parametrize("n_inputs", [0, 1])
def test_training_loss_and_gradients_equal_the_plain_scan_model(n_inputs):
    config = lfads.Config(n_neurons=7, n_bins=9, n_inputs=n_inputs, dropout=0.2,
                          controller_size=4 if n_inputs else 0, **SMALL)
    graphdef, params = nnx.split(lfads.LFADS(config, nnx.Rngs(2)), nnx.Param)
    spikes = jnp.asarray(np.random.default_rng(0).poisson(1.0, (5, 9, 7)), jnp.float32)
    key = jax.random.key(3)
    fast = jax.jit(jax.value_and_grad(functools.partial(total_loss, reference=False)),
                   static_argnums=1)
    slow = jax.jit(jax.value_and_grad(functools.partial(total_loss, reference=True)),
                   static_argnums=1)
    (loss, grads), (ref_loss, ref_grads) = fast(params, graphdef, spikes, key), slow(params, graphdef, spikes, key)
    assert float(loss) == pytest.approx(float(ref_loss), rel=1e-5)
    flat, ref_flat = nnx.to_flat_state(grads), nnx.to_flat_state(ref_grads)
    assert [p for p, _ in flat] == [p for p, _ in ref_flat]
    for (path, g), (_, r) in zip(flat, ref_flat):
        np.testing.assert_allclose(g[...], r[...], rtol=2e-4, atol=1e-6, err_msg=str(path))


def test_training_gradients_agree_with_finite_differences():
    config = lfads.Config(n_neurons=4, n_bins=6, dropout=0.0, coordinated_dropout=0.0,
                          controller_size=4, **SMALL)
    graphdef, params = nnx.split(lfads.LFADS(config, nnx.Rngs(4)), nnx.Param)
    spikes = jnp.asarray(np.random.default_rng(1).poisson(1.0, (3, 6, 4)), jnp.float32)
    f = jax.jit(lambda p: total_loss(p, graphdef, spikes, jax.random.key(5)))
    assert gradcheck.relative_error(f, params, jax.random.key(6)) < 1e-2
