import jax
import jax.numpy as jnp
import numpy as np
import pytest

from workshop_utils import attention, gradcheck

# (leading batch dims, L_q, L_k, d, d_v): none, one and two batch dims; L_q != L_k; d_v != d
SHAPES = [((), 3, 5, 4, 2), ((2,), 4, 4, 3, 3), ((2, 3), 2, 6, 5, 1)]


def reference(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d)) v written out in float64 NumPy; rows with no allowed key read 0."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    mask = np.ones(scores.shape, bool) if mask is None else np.broadcast_to(mask, scores.shape)
    e = np.where(mask, np.exp(scores - scores.max(axis=-1, keepdims=True)), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    weights = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    return weights @ v, weights


def random_qkv(seed, batch, L_q, L_k, d, d_v):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=batch + (L_q, d)).astype(np.float32),
            rng.normal(size=batch + (L_k, d)).astype(np.float32),
            rng.normal(size=batch + (L_k, d_v)).astype(np.float32))


def random_mask(seed, shape):
    """A random boolean mask whose first query row may attend to nothing."""
    mask = np.random.default_rng(seed).random(shape) < 0.6
    mask[..., 0, :] = False
    return mask


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_the_formula_without_a_mask(shape):
    q, k, v = random_qkv(0, *shape)
    output, weights = attention.scaled_dot_product_attention(q, k, v)
    want_output, want_weights = reference(q, k, v)
    batch, L_q, L_k, _, d_v = shape
    assert output.shape == batch + (L_q, d_v) and weights.shape == batch + (L_q, L_k)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(output, want_output, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_matches_the_formula_with_a_mask_and_never_reads_masked_keys(shape):
    q, k, v = random_qkv(1, *shape)
    mask = random_mask(2, shape[0] + (shape[1], shape[2]))
    output, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    want_output, want_weights = reference(q, k, v, mask)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(output, want_output, rtol=1e-5, atol=1e-5)
    weights = np.asarray(weights)
    assert np.all(weights[~mask] == 0.0)                       # exactly zero, not just small
    sums = weights.sum(axis=-1)
    allowed = mask.any(axis=-1)
    np.testing.assert_allclose(sums[allowed], 1.0, rtol=1e-5)
    assert np.all(sums[~allowed] == 0.0) and np.all(np.asarray(output)[~allowed] == 0.0)


def test_leading_dimensions_and_the_mask_broadcast():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(2, 1, 3, 4)).astype(np.float32)   # (2, 1) batch
    k = rng.normal(size=(5, 5, 4)).astype(np.float32)      # (5,) batch
    v = rng.normal(size=(5, 2)).astype(np.float32)         # no batch
    mask = rng.random((5, 1, 5)) < 0.7                     # one key mask per batch entry
    output, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    assert output.shape == (2, 5, 3, 2) and weights.shape == (2, 5, 3, 5)
    want_output, want_weights = reference(q, k, v, mask)
    np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(output, want_output, rtol=1e-5, atol=1e-5)


def test_a_fully_masked_query_reads_nothing_and_has_finite_gradients():
    q, k, v = random_qkv(4, (2,), 3, 4, 3, 2)
    mask = np.ones((2, 3, 4), bool)
    mask[:, 1] = False

    def loss(params):
        output, _ = attention.scaled_dot_product_attention(params["q"], params["k"], params["v"], mask)
        return jnp.sum(output ** 2)

    params = {"q": q, "k": k, "v": v}
    output, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    assert np.all(np.asarray(weights)[:, 1] == 0.0) and np.all(np.asarray(output)[:, 1] == 0.0)
    grads = jax.grad(loss)(params)
    assert all(np.all(np.isfinite(g)) for g in jax.tree_util.tree_leaves(grads))
    assert np.all(np.asarray(grads["q"])[:, 1] == 0.0)       # a query that reads nothing learns nothing


def test_masked_scores_never_leak_even_when_inf_or_nan():
    scores = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], np.float32)
    mask = np.array([[True, True, False], [False, False, False]])
    dirty = scores.copy()
    dirty[0, 2], dirty[1] = np.inf, np.nan
    clean = attention.masked_softmax(scores, mask)
    np.testing.assert_array_equal(attention.masked_softmax(dirty, mask), clean)
    np.testing.assert_allclose(clean[0, :2], np.exp([1, 2]) / np.exp([1, 2]).sum(), rtol=1e-6)
    grad = jax.grad(lambda s: jnp.sum(attention.masked_softmax(s, mask) * jnp.arange(3.0)))(dirty)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~mask] == 0.0)


def test_masked_softmax_along_another_axis_and_without_a_mask():
    scores = np.random.default_rng(5).normal(size=(4, 3)).astype(np.float32)
    np.testing.assert_allclose(attention.masked_softmax(scores), jax.nn.softmax(scores), rtol=1e-6)
    mask = np.array([[True], [False], [True], [True]])  # broadcasts over the 3 columns
    got = np.asarray(attention.masked_softmax(scores, mask, axis=0))
    e = np.exp(scores[[0, 2, 3]])
    np.testing.assert_allclose(got[[0, 2, 3]], e / e.sum(axis=0), rtol=1e-5)
    assert np.all(got[1] == 0.0)


def test_gradient_matches_finite_differences():
    q, k, v = random_qkv(6, (2,), 4, 4, 3, 3)   # one shape for all three: a quicker check to compile
    mask = random_mask(7, (2, 4, 4))
    readout = jnp.asarray(np.random.default_rng(8).normal(size=(2, 4, 3)), jnp.float32)

    @jax.jit
    def loss(params):
        output, _ = attention.scaled_dot_product_attention(params["q"], params["k"], params["v"], mask)
        return jnp.sum(output * readout)

    params = {"q": q, "k": k, "v": v}
    for seed in range(3):
        assert gradcheck.relative_error(loss, params, jax.random.key(seed)) < 1e-2


def test_works_under_jit_and_vmap():
    q, k, v = random_qkv(9, (3,), 4, 5, 2, 3)
    mask = random_mask(10, (3, 4, 5))
    want_output, want_weights = attention.scaled_dot_product_attention(q, k, v, mask)
    jitted = jax.jit(attention.scaled_dot_product_attention)(q, k, v, mask)
    mapped = jax.vmap(attention.scaled_dot_product_attention)(q, k, v, mask)
    for output, weights in (jitted, mapped):
        np.testing.assert_allclose(output, want_output, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(weights, want_weights, rtol=1e-5, atol=1e-6)


def test_causal_attention_ignores_the_future():
    np.testing.assert_array_equal(attention.causal_mask(4), np.tril(np.ones((4, 4), bool)))
    q, k, v = random_qkv(11, (), 5, 5, 3, 2)
    output, weights = attention.scaled_dot_product_attention(q, k, v, attention.causal_mask(5))
    assert np.all(np.triu(np.asarray(weights), 1) == 0.0)
    k2, v2 = k.copy(), v.copy()
    k2[3:], v2[3:] = 100.0, -100.0                             # rewrite the future of step 2
    output2, _ = attention.scaled_dot_product_attention(q, k2, v2, attention.causal_mask(5))
    np.testing.assert_array_equal(output[:3], output2[:3])


def test_padded_keys_are_ignored():
    lengths = np.array([0, 2, 4])
    np.testing.assert_array_equal(attention.padding_mask(lengths, 4),
                                  [[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]])
    np.testing.assert_array_equal(jax.jit(attention.padding_mask, static_argnums=1)(lengths, 4),
                                  attention.padding_mask(lengths, 4))
    q, k, v = random_qkv(12, (3,), 2, 4, 3, 2)
    mask = attention.padding_mask(lengths, 4)[:, None, :]     # every query, only real keys
    output, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    v2 = v.copy()
    v2[1, 2:] = 1e3                                            # change only the padding
    output2, _ = attention.scaled_dot_product_attention(q, k, v2, mask)
    np.testing.assert_array_equal(output, output2)
    np.testing.assert_allclose(np.asarray(weights).sum(-1), [[0, 0], [1, 1], [1, 1]], rtol=1e-6)


def test_additive_scores_by_hand():
    query = np.array([1.0, -1.0])
    keys = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    W_q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])       # d_a = 3, d_q = 2
    W_k = np.array([[0.5, 0.0], [0.0, -1.0], [1.0, 0.0]])      # d_k = 2
    v = np.array([1.0, 2.0, -1.0])
    # key 0: tanh([1, -1, 0] + [0, -1, 0]) = tanh([1, -2, 0]); score = tanh(1) + 2 tanh(-2)
    want = [v @ np.tanh(W_q @ query + W_k @ key) for key in keys]
    assert want[0] == pytest.approx(np.tanh(1) + 2 * np.tanh(-2))
    np.testing.assert_allclose(attention.additive_scores(query, keys, W_q, W_k, v), want, rtol=1e-6)
    batched = attention.additive_scores(np.stack([query, -query]), np.stack([keys, keys]), W_q, W_k, v)
    assert batched.shape == (2, 3)
    np.testing.assert_allclose(batched[0], want, rtol=1e-6)


def test_dot_scores_by_hand():
    keys = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(attention.dot_scores(np.array([1.0, 2.0]), keys), [1.0, 2.0, 3.0])
    batched = attention.dot_scores(np.array([[1.0, 2.0], [3.0, -1.0]]), np.stack([keys, keys]))
    np.testing.assert_allclose(batched, [[1.0, 2.0, 3.0], [3.0, -1.0, 2.0]])


sdpa = attention.scaled_dot_product_attention
Q, K, V = np.ones((3, 4)), np.ones((5, 4)), np.ones((5, 2))


def additive(W_q, W_k, v):  # query (2,), keys (5, 3)
    return attention.additive_scores(np.ones(2), np.ones((5, 3)), W_q, W_k, v)


@pytest.mark.parametrize("call, match", [
    (lambda: sdpa(Q, np.ones((5, 3)), V), r"q has shape \(3, 4\) and k has shape \(5, 3\).*feature"),
    (lambda: sdpa(Q, K, np.ones((6, 2))), r"k has shape \(5, 4\) and v has shape \(6, 2\).*L_k"),
    (lambda: sdpa(Q, K, V, np.ones((3, 4), bool)), r"mask has shape \(3, 4\).*\(3, 5\)"),
    (lambda: sdpa(Q, K, V, np.ones((2, 3, 5), bool)), r"mask has shape \(2, 3, 5\).*\(3, 5\)"),
    (lambda: sdpa(Q, K, V, np.ones((3, 5))), "mask must be boolean.*float"),
    (lambda: sdpa(np.ones((0, 4)), K, V), "empty sequence.*L_q >= 1"),
    (lambda: sdpa(Q, np.ones((0, 4)), np.ones((0, 2))), "empty sequence.*L_k >= 1"),
    (lambda: sdpa(np.ones(4), K, V), r"q must have at least 2 dimensions.*got shape \(4,\)"),
    (lambda: sdpa(Q, K, np.ones(5)), r"v must have at least 2 dimensions"),
    (lambda: sdpa(np.ones((2, 3, 4)), np.ones((3, 5, 4)), V), r"batch.*\(2,\), \(3,\), \(\)"),
    (lambda: sdpa(np.ones((3, 0)), np.ones((5, 0)), V), "empty feature dimension"),
    (lambda: attention.masked_softmax(np.ones(3), np.ones(3, int)), "mask must be boolean"),
    (lambda: attention.masked_softmax(np.ones(3), np.ones(4, bool)), r"mask has shape \(4,\)"),
    (lambda: attention.masked_softmax(np.ones(3), axis=1), "axis 1 is out of range"),
    (lambda: attention.dot_scores(np.ones(3), np.ones((5, 4))), r"query has shape \(3,\).*\(5, 4\)"),
    (lambda: attention.dot_scores(np.ones(3), np.ones(3)), "keys must have at least 2 dimensions"),
    (lambda: additive(np.ones((4, 2)), np.ones((4, 2)), np.ones(4)),
     r"W_k must have shape \(d_a, 3\) = \(4, 3\).*got \(4, 2\)"),
    (lambda: additive(np.ones((4, 3)), np.ones((4, 3)), np.ones(4)), r"W_q must have shape \(d_a, 2\)"),
    (lambda: additive(np.ones((4, 2)), np.ones((4, 3)), np.ones((4, 1))), "v must be a vector"),
    (lambda: attention.causal_mask(0), "L must be a positive integer"),
    (lambda: attention.padding_mask(np.array([1, 5]), 4), r"lengths must lie in \[0, L=4\]"),
    (lambda: attention.padding_mask(np.array([1.0, 2.0]), 4), "lengths must be a 1-D integer array"),
])
def test_bad_inputs_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
