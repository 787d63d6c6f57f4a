import jax
import jax.numpy as jnp
import pytest

from workshop_utils import gradcheck


def test_central_difference_is_exact_for_a_quadratic():
    A = jnp.array([[2.0, 1.0], [0.0, 3.0]])
    f = lambda x: x @ A @ x
    x, v = jnp.array([1.0, -2.0]), jnp.array([0.5, 1.0])
    assert float(gradcheck.central_difference(f, x, v, eps=0.1)) == pytest.approx(float((A + A.T) @ x @ v), rel=1e-5)


def test_relative_error_is_small_for_a_true_gradient_and_large_for_a_wrong_one():
    params = {"w": jnp.linspace(-1.0, 1.0, 5), "b": jnp.array(0.3)}
    f = lambda p: jnp.sum(jnp.tanh(p["w"] * 2.0 + p["b"]) ** 2)
    assert gradcheck.relative_error(f, params, jax.random.key(0)) < 1e-3

    @jax.custom_vjp
    def wrong(p):
        return f(p)
    wrong.defvjp(lambda p: (f(p), p), lambda p, g: (jax.tree_util.tree_map(lambda x: 2 * g * x, p),))
    assert gradcheck.relative_error(wrong, params, jax.random.key(0)) > 0.1
