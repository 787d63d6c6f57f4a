"""Poisson regression (a GLM): rates = exp(features @ W + b), the read-out of the co-smoothing baseline.

The Neural Latents Benchmark's smoothing baseline predicts neurons it never sees on test
trials (co-smoothing) in two steps: smooth the spikes of the neurons it does see, then map
those smoothed rates to each held-out neuron with a Poisson GLM fitted on training trials.
`fit_poisson_glm` is that second step: for every output neuron it minimises

    mean over bins of (exp(eta) - y eta)  +  l2 / 2 * ||w||^2,   eta = z @ w + b,

(the Poisson negative log-likelihood without its constant log y! term, and a ridge penalty on
the weights, not the bias), where z are the features standardised on the training data so that
one `l2` suits every feature. The problem is convex; Newton's method with step halving solves
it in a few iterations, in NumPy (float64), with nothing to compile. Layout as everywhere in the
package: features (..., n_features) and counts (..., n_neurons), e.g. (trials, time, neurons),
rates in spikes per bin.
"""

from typing import NamedTuple

import numpy as np

SILENT_RATE = 1e-6   # spikes per bin predicted for a neuron that never spiked in training


class PoissonGLM(NamedTuple):
    """A fitted model: rates = exp(((features - mean) / scale) @ weights + bias)."""
    mean: np.ndarray      # (n_features,)
    scale: np.ndarray     # (n_features,)
    weights: np.ndarray   # (n_features, n_neurons)
    bias: np.ndarray      # (n_neurons,)


def fit_poisson_glm(features, counts, l2=1e-3, max_iter=50, tol=1e-8):
    """Fit one Poisson GLM per column of `counts` (n_neurons of them) on shared `features`.

    features (..., n_features) finite; counts (..., n_neurons) non-negative whole numbers,
    the same leading shape (they are flattened to rows). l2 >= 0 is the ridge penalty on the
    standardised weights. Newton's method stops when no weight moves by more than `tol`, or
    after `max_iter` iterations. A neuron with no spike at all gets zero weights and the
    rate SILENT_RATE. Returns a `PoissonGLM`; `predict_rates(glm, features)` applies it.
    """
    X, Y = _check(features, counts)
    if isinstance(l2, bool) or not isinstance(l2, (int, float, np.integer, np.floating)) or not l2 >= 0:
        raise ValueError(f"l2 is a ridge penalty and must be a number >= 0, got {l2!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)             # a constant feature carries no information
    Z = np.hstack([(X - mean) / scale, np.ones((len(X), 1))])
    n_rows, n_params = Z.shape
    penalty = np.full(n_params, float(l2))
    penalty[-1] = 0.0                                   # the bias is not shrunk
    theta = np.zeros((n_params, Y.shape[1]))
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if y.sum() == 0:
            theta[-1, j] = np.log(SILENT_RATE)
            continue
        theta[:, j] = _newton(Z, y, penalty, np.log(y.mean()), max_iter, tol)
    return PoissonGLM(mean, scale, theta[:-1], theta[-1])


def predict_rates(glm, features):
    """Rates (..., n_neurons) in spikes per bin, exp(standardised features @ weights + bias)."""
    if not isinstance(glm, PoissonGLM):
        raise ValueError(f"glm must be a PoissonGLM from fit_poisson_glm, got {type(glm).__name__}")
    X = np.asarray(features, dtype=float)
    if X.ndim < 1 or X.shape[-1] != glm.weights.shape[0]:
        raise ValueError(f"features has shape {X.shape}, but the model was fitted on "
                         f"{glm.weights.shape[0]} features (last axis)")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contains NaN or inf")
    eta = ((X - glm.mean) / glm.scale) @ glm.weights + glm.bias
    return np.exp(np.clip(eta, -50.0, 50.0))


def _newton(Z, y, penalty, start_bias, max_iter, tol):
    """Minimise mean(exp(Z theta) - y Z theta) + 1/2 sum(penalty theta^2) by damped Newton."""
    n_rows = len(y)
    theta = np.zeros(Z.shape[1])
    theta[-1] = start_bias

    def objective(theta):
        eta = np.clip(np.einsum("ni,i->n", Z, theta), -50.0, 50.0)
        return np.mean(np.exp(eta) - y * eta) + 0.5 * np.sum(penalty * theta**2)

    value = objective(theta)
    for _ in range(max_iter):
        # einsum rather than BLAS products: as fast at these sizes, and steady when other jobs
        # load the CPU (BLAS threads then wait on each other)
        rate = np.exp(np.clip(np.einsum("ni,i->n", Z, theta), -50.0, 50.0))
        grad = np.einsum("ni,n->i", Z, rate - y) / n_rows + penalty * theta
        hess = np.einsum("ni,nj->ij", Z, Z * rate[:, None]) / n_rows + np.diag(penalty + 1e-10)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-6:                             # halve the step until the objective falls
            new_value = objective(theta - size * step)
            if new_value <= value:
                break
            size /= 2
        else:
            break                                       # no descent left: at the minimum
        theta, value = theta - size * step, new_value
        if np.max(np.abs(size * step)) < tol:
            break
    return theta


def _check(features, counts):
    X, Y = np.asarray(features, dtype=float), np.asarray(counts)
    if X.ndim < 1 or Y.ndim < 1 or X.shape[:-1] != Y.shape[:-1]:
        raise ValueError(f"features has shape {X.shape} and counts has shape {Y.shape}: they must "
                         "share every axis but the last, e.g. (trials, time, n_features) and "
                         "(trials, time, n_neurons)")
    if X.shape[-1] == 0 or Y.shape[-1] == 0 or X.size == 0:
        raise ValueError(f"features {X.shape} and counts {Y.shape} must be non-empty")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contains NaN or inf")
    Yf = Y.astype(float)
    if not np.all(np.isfinite(Yf)) or np.any(Yf < 0) or np.any(Yf != np.round(Yf)):
        raise ValueError("counts must be finite, non-negative whole numbers (spike counts)")
    return X.reshape(-1, X.shape[-1]), Yf.reshape(-1, Y.shape[-1])
