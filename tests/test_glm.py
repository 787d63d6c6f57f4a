import numpy as np
import pytest

from workshop_utils import glm


def synthetic(seed=0, n_rows=20000, n_features=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=2.0, scale=[0.5, 1.0, 2.0][:n_features], size=(n_rows, n_features))
    W = np.array([[0.4, -0.3], [0.2, 0.0], [-0.1, 0.25]])[:n_features]
    b = np.array([-1.0, 0.5])
    rates = np.exp(X @ W + b)
    return X, rng.poisson(rates), W, b, rates


def test_recovers_the_weights_of_a_poisson_glm():
    X, Y, W, b, rates = synthetic()
    fit = glm.fit_poisson_glm(X, Y, l2=0.0)
    # back to the raw features: eta = ((x - mean) / scale) @ w + bias
    raw_W = fit.weights / fit.scale[:, None]
    raw_b = fit.bias - (fit.mean / fit.scale) @ fit.weights
    np.testing.assert_allclose(raw_W, W, atol=0.03)
    np.testing.assert_allclose(raw_b, b, atol=0.08)
    np.testing.assert_allclose(glm.predict_rates(fit, X), rates, rtol=0.1)


def test_the_fit_is_a_stationary_point_of_the_penalised_likelihood():
    X, Y, *_ = synthetic(1, n_rows=3000)
    l2 = 0.05
    fit = glm.fit_poisson_glm(X, Y, l2=l2)
    Z = (X - fit.mean) / fit.scale
    rates = glm.predict_rates(fit, X)
    grad_w = Z.T @ (rates - Y) / len(X) + l2 * fit.weights
    grad_b = (rates - Y).mean(axis=0)
    np.testing.assert_allclose(grad_w, 0.0, atol=1e-7)
    np.testing.assert_allclose(grad_b, 0.0, atol=1e-7)
    # the bias is unpenalised, so the mean predicted rate equals the mean count (a GLM identity)
    np.testing.assert_allclose(rates.mean(axis=0), Y.mean(axis=0), rtol=1e-6)


def test_a_ridge_penalty_shrinks_the_weights():
    X, Y, *_ = synthetic(2, n_rows=2000)
    norms = [np.linalg.norm(glm.fit_poisson_glm(X, Y, l2=l2).weights) for l2 in (0.0, 0.1, 10.0)]
    assert norms[0] > norms[1] > norms[2] > 0


def test_trial_layout_silent_neurons_and_constant_features():
    rng = np.random.default_rng(3)
    features = rng.normal(size=(20, 30, 2))
    features[..., 1] = 5.0                                   # constant: carries nothing
    counts = np.stack([rng.poisson(np.exp(0.5 * features[..., 0])), np.zeros((20, 30), int)], axis=-1)
    fit = glm.fit_poisson_glm(features, counts)
    rates = glm.predict_rates(fit, features)
    assert rates.shape == (20, 30, 2) and np.all(np.isfinite(rates)) and np.all(rates > 0)
    np.testing.assert_allclose(rates[..., 1], glm.SILENT_RATE)
    np.testing.assert_array_equal(fit.weights[:, 1], 0.0)
    assert abs(fit.weights[1, 0]) < 1e-8                      # the constant feature gets no weight
    assert 0.3 < fit.weights[0, 0] / fit.scale[0] < 0.7


X1, Y1 = np.ones((10, 2)), np.ones((10, 3), int)


@pytest.mark.parametrize("call, match", [
    (lambda: glm.fit_poisson_glm(np.ones((10, 2)), np.ones((9, 3))), r"features has shape \(10, 2\) and counts has shape \(9, 3\)"),
    (lambda: glm.fit_poisson_glm(np.ones((10, 0)), Y1), "must be non-empty"),
    (lambda: glm.fit_poisson_glm(np.full((10, 2), np.nan), Y1), "features contains NaN"),
    (lambda: glm.fit_poisson_glm(X1, -Y1), "counts must be finite, non-negative whole numbers"),
    (lambda: glm.fit_poisson_glm(X1, Y1 * 0.5), "counts must be finite, non-negative whole numbers"),
    (lambda: glm.fit_poisson_glm(X1, Y1, l2=-1.0), r"l2 is a ridge penalty.*got -1.0"),
    (lambda: glm.fit_poisson_glm(X1, Y1, max_iter=0), r"max_iter must be a positive integer, got 0"),
    (lambda: glm.predict_rates("model", X1), "glm must be a PoissonGLM"),
    (lambda: glm.predict_rates(glm.fit_poisson_glm(X1, Y1), np.ones((4, 3))), r"features has shape \(4, 3\).*2 features"),
])
def test_bad_input_gives_a_clear_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
