import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workshop_utils import attention, gradcheck, transformer


def flax_attention(d_model, n_heads, seed=0, in_kv_features=None):
    return nnx.MultiHeadAttention(num_heads=n_heads, in_features=d_model, qkv_features=d_model,
                                  in_kv_features=in_kv_features, decode=False, rngs=nnx.Rngs(seed))


def flax_params(module):
    """Flax's weights, plus random biases (Flax starts them at 0, which would test nothing)."""
    params = nnx.to_pure_dict(nnx.state(module, nnx.Param))
    rng = np.random.default_rng(1)
    for name in transformer.PROJECTIONS:
        bias = rng.normal(size=np.shape(params[name]["bias"])).astype(np.float32)
        params[name]["bias"] = bias
        getattr(module, name).bias[...] = jnp.asarray(bias)
    return params


@pytest.mark.parametrize("batch, L, d_model, n_heads", [((), 5, 8, 2), ((3,), 6, 12, 3), ((2, 2), 4, 8, 1)])
def test_multi_head_attention_matches_flax_with_the_same_weights(batch, L, d_model, n_heads):
    module = flax_attention(d_model, n_heads)
    params = flax_params(module)
    x = jax.random.normal(jax.random.key(2), batch + (L, d_model))
    output, weights = transformer.multi_head_attention(params, x)
    assert output.shape == batch + (L, d_model) and weights.shape == batch + (n_heads, L, L)
    np.testing.assert_allclose(output, module(x), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), 1.0, rtol=1e-5)


def test_masks_match_flax_and_hide_what_they_should():
    module = flax_attention(8, 2)
    params = flax_params(module)
    x = jax.random.normal(jax.random.key(3), (3, 6, 8))
    causal = attention.causal_mask(6)
    padding = attention.padding_mask(jnp.array([6, 4, 1]), 6)[:, None, None, :]
    for mask in (causal, padding, causal & padding):
        output, weights = transformer.multi_head_attention(params, x, mask=mask)
        np.testing.assert_allclose(output, module(x, mask=mask), atol=1e-5, rtol=1e-5)
        assert np.all(np.asarray(weights)[~np.broadcast_to(mask, weights.shape)] == 0.0)

    # causal: rewriting the future of step 2 leaves steps 0-2 unchanged
    future = x.at[:, 3:].set(100.0)
    np.testing.assert_array_equal(transformer.multi_head_attention(params, x, mask=causal)[0][:, :3],
                                  transformer.multi_head_attention(params, future, mask=causal)[0][:, :3])
    # padding: rewriting the padding of sequence 1 (length 4) leaves its real steps unchanged
    padded = x.at[1, 4:].set(-50.0)
    np.testing.assert_allclose(transformer.multi_head_attention(params, x, mask=padding)[0][1, :4],
                               transformer.multi_head_attention(params, padded, mask=padding)[0][1, :4],
                               atol=1e-6)


def test_cross_attention_matches_flax():
    module = flax_attention(8, 2, in_kv_features=8)
    params = flax_params(module)
    x = jax.random.normal(jax.random.key(4), (2, 3, 8))
    context = jax.random.normal(jax.random.key(5), (2, 7, 8))
    output, weights = transformer.multi_head_attention(params, x, context)
    assert weights.shape == (2, 2, 3, 7)
    np.testing.assert_allclose(output, module(x, context), atol=1e-5, rtol=1e-5)


def test_each_head_is_scaled_dot_product_attention_on_its_own_projection():
    params = transformer.init_attention_params(jax.random.key(6), 6, 3)
    x = np.random.default_rng(7).normal(size=(5, 6)).astype(np.float32)
    output, weights = transformer.multi_head_attention(params, x)
    total = np.asarray(params["out"]["bias"], np.float64).copy()
    for i in range(3):
        q, k, v = (x @ params[n]["kernel"][:, i] + params[n]["bias"][i] for n in ("query", "key", "value"))
        head, w = attention.scaled_dot_product_attention(q, k, v)
        np.testing.assert_allclose(weights[i], w, atol=1e-6)
        total = total + np.asarray(head) @ np.asarray(params["out"]["kernel"][i])
    np.testing.assert_allclose(output, total, atol=1e-5)


def test_a_query_that_may_attend_to_nothing_outputs_the_bias_and_has_finite_gradients():
    params = transformer.init_attention_params(jax.random.key(8), 4, 2)
    params["out"]["bias"] = jnp.arange(4.0)
    x = jax.random.normal(jax.random.key(9), (3, 4))
    mask = np.ones((3, 3), bool)
    mask[1] = False
    output, weights = transformer.multi_head_attention(params, x, mask=mask)
    np.testing.assert_array_equal(output[1], np.arange(4.0))
    assert np.all(np.asarray(weights)[:, 1] == 0.0)
    grads = jax.grad(lambda p: jnp.sum(transformer.multi_head_attention(p, x, mask=mask)[0] ** 2))(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))


def test_self_attention_without_positions_is_permutation_equivariant():
    params = transformer.init_attention_params(jax.random.key(10), 8, 2)
    x = jax.random.normal(jax.random.key(11), (7, 8))
    perm = np.random.default_rng(12).permutation(7)
    output, _ = transformer.multi_head_attention(params, x)
    permuted, _ = transformer.multi_head_attention(params, x[perm])
    np.testing.assert_allclose(permuted, output[perm], atol=1e-5)


def test_gradient_matches_finite_differences():
    params = transformer.init_attention_params(jax.random.key(13), 6, 2)
    x = jax.random.normal(jax.random.key(14), (2, 4, 6))
    readout = jax.random.normal(jax.random.key(15), (2, 4, 6))
    loss = jax.jit(lambda p: jnp.sum(transformer.multi_head_attention(p, x, mask=attention.causal_mask(4))[0] * readout))
    for seed in range(2):
        assert gradcheck.relative_error(loss, params, jax.random.key(seed)) < 1e-2


def test_the_nnx_module_is_the_function_and_trains_under_jit():
    module = transformer.MultiHeadAttention(8, 4, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(16), (2, 5, 8))
    output, weights = module(x, mask=attention.causal_mask(5))
    want, want_weights = transformer.multi_head_attention(module.parameters(), x, mask=attention.causal_mask(5))
    np.testing.assert_array_equal(output, want)
    np.testing.assert_array_equal(weights, want_weights)
    assert weights.shape == (2, 4, 5, 5)
    grads = nnx.grad(lambda m: jnp.sum(m(x)[0] ** 2))(module)
    assert np.any(np.asarray(grads["query_kernel"][...]) != 0)
    np.testing.assert_allclose(nnx.jit(lambda m, x: m(x)[0])(module, x), module(x)[0], atol=1e-6)


def test_init_attention_params_shapes_and_scale():
    params = transformer.init_attention_params(jax.random.key(17), 64, 4)
    assert params["query"]["kernel"].shape == (64, 4, 16) and params["out"]["kernel"].shape == (4, 16, 64)
    assert params["value"]["bias"].shape == (4, 16) and params["out"]["bias"].shape == (64,)
    std = float(jnp.std(params["query"]["kernel"]))
    assert 0.7 / 8 < std < 1.3 / 8                                  # LeCun: 1 / sqrt(fan_in = 64)
    assert transformer.init_attention_params(jax.random.key(0), 6, 4, d_head=5)["key"]["kernel"].shape == (6, 4, 5)


def test_sinusoidal_encoding_by_hand():
    code = np.asarray(transformer.sinusoidal_encoding(3, 4, base=100.0))
    # frequencies 1 and 100^(-2/4) = 0.1
    want = [[0, 1, 0, 1],
            [np.sin(1), np.cos(1), np.sin(0.1), np.cos(0.1)],
            [np.sin(2), np.cos(2), np.sin(0.2), np.cos(0.2)]]
    np.testing.assert_allclose(code, want, atol=1e-6)


def test_sinusoidal_encoding_offsets_are_rotations():
    code = np.asarray(transformer.sinusoidal_encoding(50, 16), np.float64)
    np.testing.assert_allclose(np.linalg.norm(code, axis=1), np.sqrt(8), rtol=1e-5)
    k = 7
    frequency = 10000.0 ** (-np.arange(0, 16, 2) / 16)
    for pair, w in enumerate(frequency):
        c, s = np.cos(w * k), np.sin(w * k)
        rotation = np.array([[c, -s], [s, c]])     # (sin, cos)(p + k) = (sin, cos)(p) @ rotation
        np.testing.assert_allclose(code[:-k, 2 * pair:2 * pair + 2] @ rotation,
                                   code[k:, 2 * pair:2 * pair + 2], atol=1e-5)
    # the similarity of two positions depends only on their distance
    gram = code @ code.T
    np.testing.assert_allclose(np.diag(gram, 3)[:-1], np.diag(gram, 3)[1:], atol=1e-4)


def test_masked_modelling_mask_hides_whole_bins_and_neurons():
    hide = np.asarray(transformer.masked_modelling_mask(jax.random.key(18), (400, 30, 20), 0.25, 0.1))
    assert hide.shape == (400, 30, 20) and hide.dtype == bool
    whole_bins = hide.all(axis=2)                    # (trials, time)
    whole_neurons = hide.all(axis=1)                 # (trials, neurons)
    assert abs(whole_bins.mean() - (0.25 + 0.75 * 0.1 ** 20)) < 0.02
    assert abs(whole_neurons.mean() - (0.1 + 0.9 * 0.25 ** 30)) < 0.02
    np.testing.assert_array_equal(hide, whole_bins[:, :, None] | whole_neurons[:, None, :])
    assert abs(hide.mean() - (1 - 0.75 * 0.9)) < 0.02
    again = transformer.masked_modelling_mask(jax.random.key(18), (400, 30, 20), 0.25, 0.1)
    np.testing.assert_array_equal(hide, again)
    jitted = jax.jit(transformer.masked_modelling_mask, static_argnums=1)(jax.random.key(18), (400, 30, 20), 0.25, 0.1)
    np.testing.assert_array_equal(hide, jitted)
    assert not np.any(transformer.masked_modelling_mask(jax.random.key(0), (2, 3, 4), 0.0, 0.0))


PARAMS = transformer.init_attention_params(jax.random.key(0), 4, 2)
X = np.ones((3, 4), np.float32)


def replaced(name, field, shape):
    params = {n: dict(p) for n, p in PARAMS.items()}
    params[name][field] = np.zeros(shape, np.float32)
    return params


mha = transformer.multi_head_attention


@pytest.mark.parametrize("call, match", [
    (lambda: mha({"query": PARAMS["query"]}, X), r"params must be a dict with keys \['query', 'key', 'value', 'out'\]"),
    (lambda: mha({**PARAMS, "out": {"kernel": 1}}, X), r"params\['out'\] must be a dict with 'kernel' and 'bias'"),
    (lambda: mha(replaced("query", "kernel", (4, 8)), X), r"params\['query'\]\['kernel'\] must have shape \(d_in, h, d_head\), got \(4, 8\)"),
    (lambda: mha(replaced("key", "kernel", (4, 2, 3)), X), r"params\['key'\]\['kernel'\] has shape \(4, 2, 3\).*\(4, 2, 2\)"),
    (lambda: mha(replaced("value", "kernel", (4, 3, 2)), X), r"params\['value'\]\['kernel'\] must have shape \(d_in=4, h=2, d_v\)"),
    (lambda: mha(replaced("query", "bias", (2,)), X), r"params\['query'\]\['bias'\] must have shape \(2, 2\), got \(2,\)"),
    (lambda: mha(replaced("out", "kernel", (2, 3, 4)), X), r"params\['out'\]\['kernel'\] must have shape \(h=2, d_v=2, d_out\)"),
    (lambda: mha(replaced("out", "bias", (5,)), X), r"params\['out'\]\['bias'\] must have shape \(4,\), got \(5,\)"),
    (lambda: mha(PARAMS, np.ones((3, 5))), r"x has shape \(3, 5\).*d_in = 4"),
    (lambda: mha(PARAMS, np.ones(4)), r"x must have at least 2 dimensions"),
    (lambda: mha(PARAMS, X, np.ones((2, 3))), r"context has shape \(2, 3\).*d_in = 4"),
    (lambda: mha(PARAMS, np.ones((3, 3, 4)), mask=np.ones((3, 1, 3), bool)), r"mask has shape \(3, 1, 3\).*head axis.*\[:, None, None, :\]"),
    (lambda: mha(PARAMS, X, mask=np.ones((3, 4), bool)), r"mask has shape \(3, 4\)"),
    (lambda: mha(PARAMS, X, mask=np.ones((3, 3))), r"mask must be boolean"),
    (lambda: transformer.init_attention_params(jax.random.key(0), 6, 4), r"d_model = 6 is not divisible by n_heads = 4"),
    (lambda: transformer.init_attention_params(jax.random.key(0), 0, 1), r"d_model must be a positive integer, got 0"),
    (lambda: transformer.sinusoidal_encoding(5, 3), r"d_model must be even.*got 3"),
    (lambda: transformer.sinusoidal_encoding(0, 4), r"length must be a positive integer, got 0"),
    (lambda: transformer.sinusoidal_encoding(5.0, 4), r"length must be a positive integer, got 5.0"),
    (lambda: transformer.sinusoidal_encoding(5, 4, base=1), r"base must be a number > 1"),
    (lambda: transformer.masked_modelling_mask(jax.random.key(0), (3, 4)), r"shape must be \(trials, time, neurons\)"),
    (lambda: transformer.masked_modelling_mask(jax.random.key(0), (3, 4, 5), 1.0), r"bin_fraction is a probability in \[0, 1\), got 1.0"),
    (lambda: transformer.masked_modelling_mask(jax.random.key(0), (3, 4, 5), 0.1, -0.1), r"neuron_fraction is a probability"),
])
def test_bad_input_gives_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
