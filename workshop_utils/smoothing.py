"""Smoothing baselines for firing rates: what LFADS and the transformers must beat.

Two classic ways to estimate single-trial rates from spike counts, both fitted on training
trials only:

1. Gaussian smoothing along time, its width chosen on the training trials
   (`gaussian_smooth`, `choose_smoothing_width`);
2. the same, then denoised by PCA across neurons: project each bin's smoothed population
   vector onto the top principal components of the training trials and reconstruct
   (`fit_pca_denoiser`, `apply_pca_denoiser`, `choose_pca_denoiser`).

Widths and the number of components are chosen either against the true rates of the training
trials (when the data are synthetic: the strongest version of the baseline) or, on real data,
by the held-out Poisson likelihood of each bin predicted from its neighbours (a
leave-one-bin-out kernel whose centre weight is zero). Layout as everywhere in the package:
spikes (trials, time, neurons) counts, or (time, neurons) for one trial; rates in spikes per
bin. `rates_floor` keeps rates strictly positive for `metrics.bits_per_spike`.
"""

from typing import NamedTuple

import numpy as np

from . import metrics

TRUNCATE = 4.0                          # kernels stop at 4 standard deviations
DEFAULT_WIDTHS = np.geomspace(0.5, 40.0, 15)   # bins
DEFAULT_COMPONENTS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128)
RATE_FLOOR = 1e-4                       # spikes per bin
MAX_SEARCH_COUNTS = 500_000             # the width / component search scores at most this many


class PCADenoiser(NamedTuple):
    """Principal subspace of training rates: reconstruct = mean + (x - mean) @ C.T @ C."""
    mean: np.ndarray        # (neurons,)
    components: np.ndarray  # (n_components, neurons), orthonormal rows


def gaussian_smooth(spikes, width_bins):
    """Smooth along time (axis -2) with a Gaussian of std `width_bins` bins; float, same shape.

    The kernel is truncated at 4 std and, at every bin, divided by the part of its mass that
    falls inside the trial, so a constant rate stays constant up to the edges (no fall-off).
    width 0 returns the input unchanged (as floats). Accepts (trials, time, neurons) or
    (time, neurons); values must be finite and non-negative (counts, or rates).
    """
    x = _check_array(spikes, "spikes", integer=False)
    width = _check_width(width_bins)
    return x.copy() if width == 0 else _smooth(x, width)


def choose_smoothing_width(spikes, widths=None, true_rates=None):
    """The Gaussian width (bins, float) that best explains the training trials `spikes`.

    With `true_rates` (the ground truth of these same trials, same shape): the width whose
    smoothed spikes have the highest R^2 against them (`metrics.r_squared`). Without: the width
    whose leave-one-bin-out prediction (kernel centre weight zero, renormalised) gives the
    highest Poisson log-likelihood of each bin's count, usable on real data. `widths`
    defaults to 15 log-spaced values from 0.5 to 40 bins. On large data the search scores
    evenly spaced trials holding at most 500,000 counts (plenty to rank widths; fast).
    """
    x = _check_array(spikes, "spikes", integer=True)
    widths = _check_widths(widths)
    truth = _check_truth(true_rates, x.shape)
    x, truth = _search_subset(x, truth)
    scores = [metrics.r_squared(truth, _smooth(x, w)) if truth is not None else _loo_loglik(x, w)
              for w in widths]
    return float(widths[int(np.argmax(scores))])


def fit_pca_denoiser(smoothed_train, n_components):
    """PCA of training rates flattened to (trials * time, neurons); returns a `PCADenoiser`.

    `smoothed_train` is e.g. `gaussian_smooth(train_spikes, width)`; the top `n_components`
    principal axes of its bins (a population vector per bin) span the denoising subspace.
    """
    x = _check_array(smoothed_train, "smoothed_train", integer=False)
    n_neurons = x.shape[-1]
    if isinstance(n_components, bool) or int(n_components) != n_components or not 1 <= n_components <= n_neurons:
        raise ValueError(f"n_components must be a whole number in [1, {n_neurons}] (the number of neurons), "
                         f"got {n_components!r}")
    mean, axes = _principal_axes(x.reshape(-1, n_neurons))
    return PCADenoiser(mean, axes[: int(n_components)])


def apply_pca_denoiser(fit, smoothed):
    """Project each bin's population vector onto the fitted components and reconstruct.

    `smoothed` (..., time, neurons) with the training neuron count; returns rates of the same
    shape, clipped at 0 (a rate cannot be negative). With all components this is the input.
    """
    if not isinstance(fit, PCADenoiser):
        raise TypeError(f"fit must be a PCADenoiser from fit_pca_denoiser, got {type(fit).__name__}")
    x = _check_array(smoothed, "smoothed", integer=False)
    if x.shape[-1] != fit.mean.shape[0]:
        raise ValueError(f"smoothed has {x.shape[-1]} neurons (last axis of shape {x.shape}) but the "
                         f"denoiser was fitted on {fit.mean.shape[0]}")
    return _reconstruct(x, fit.mean, fit.components)


def choose_pca_denoiser(train_spikes, true_rates=None, widths=None, components=None):
    """Choose the smoothing width and number of components on training trials: `(width, fit)`.

    Every pair (width, k) is scored as in `choose_smoothing_width`: R^2 of the denoised rates
    against `true_rates` when given, else the Poisson log-likelihood of each bin's count
    predicted from the leave-one-bin-out smoothed rates, denoised. `components` defaults to
    1, 2, 3, 4, 5, 6, 8, 10, ... up to the number of neurons. Apply to new trials with
    `apply_pca_denoiser(fit, gaussian_smooth(spikes, width))`. The search runs on at most
    500,000 counts (evenly spaced trials); the returned fit uses all of `train_spikes`.
    """
    x = _check_array(train_spikes, "train_spikes", integer=True)
    widths = _check_widths(widths)
    truth = _check_truth(true_rates, x.shape)
    n_neurons = x.shape[-1]
    if components is None:
        components = [k for k in DEFAULT_COMPONENTS if k < n_neurons] + [n_neurons]
    components = sorted(set(_check_components(components, n_neurons)))
    sub_x, sub_truth = _search_subset(x, truth)
    counts = sub_x.reshape(-1, n_neurons)
    best = (-np.inf, None, None)
    for w in widths:
        smoothed = _smooth(sub_x, w)
        mean, axes = _principal_axes(smoothed.reshape(-1, n_neurons))
        # Without the truth, predict each bin's count from its neighbours only, then denoise.
        source = smoothed if sub_truth is not None else _smooth(sub_x, w, leave_out=True)
        coords = (source.reshape(-1, n_neurons) - mean) @ axes.T   # coordinates on every axis
        for k in components:
            rates = np.maximum(mean + coords[:, :k] @ axes[:k], 0.0)
            score = (-np.sum((rates - sub_truth.reshape(rates.shape)) ** 2) if sub_truth is not None
                     else _poisson_loglik(rates, counts))      # -SSE ranks like R^2
            if score > best[0]:
                best = (score, float(w), k)
    _, width, k = best
    mean, axes = _principal_axes(_smooth(x, width).reshape(-1, n_neurons))
    return width, PCADenoiser(mean, axes[:k])


def rates_floor(rates, floor=RATE_FLOOR):
    """Rates raised to at least `floor` spikes per bin, so Poisson likelihoods stay finite.

    A smoothed rate is 0 wherever no spike fell within the kernel, which makes
    `metrics.bits_per_spike` -inf on a single spike there; this is the usual fix.
    """
    rates = np.asarray(rates, dtype=float)
    if not np.all(np.isfinite(rates)):
        raise ValueError("rates contains NaN or inf")
    if not (np.isfinite(floor) and floor > 0):
        raise ValueError(f"floor must be a positive number of spikes per bin, got {floor!r}")
    return np.maximum(rates, floor)


# --- helpers ---------------------------------------------------------------------------------

def _kernel_matrix(n_bins, width, leave_out):
    """(time, time) matrix M with rates = M @ counts: rows are the Gaussian around each bin,
    truncated at TRUNCATE std, clipped to the trial and renormalised to sum to 1. With
    `leave_out`, the centre weight is zero (each bin predicted from its neighbours only)."""
    t = np.arange(n_bins)
    lag = t[:, None] - t[None, :]
    reach = max(int(np.ceil(TRUNCATE * width)), 1)
    kernel = np.where(np.abs(lag) <= reach, np.exp(-0.5 * (lag / width) ** 2), 0.0)
    if leave_out:
        np.fill_diagonal(kernel, 0.0)
        # Very narrow kernels underflow to 0 beyond the centre; keep the nearest neighbours.
        kernel = np.where((np.abs(lag) == 1) & (kernel == 0), 1e-300, kernel)
    return kernel / kernel.sum(axis=1, keepdims=True)


def _smooth(x, width, leave_out=False):
    """Checked (..., time, neurons) floats, width > 0: (time, time) kernel @ each trial."""
    return np.matmul(_kernel_matrix(x.shape[-2], width, leave_out), x)


def _principal_axes(rows):
    """Mean and all principal axes (rows of an orthonormal matrix, by decreasing variance) of
    (samples, features), from the eigenvectors of the features' covariance."""
    mean = rows.mean(axis=0)
    centred = rows - mean
    variances, axes = np.linalg.eigh(centred.T @ centred)
    return mean, axes[:, np.argsort(variances)[::-1]].T


def _search_subset(x, truth):
    """Evenly spaced trials holding at most MAX_SEARCH_COUNTS counts (all of them if fewer)."""
    if x.ndim == 2 or x.size <= MAX_SEARCH_COUNTS:
        return x, truth
    n_keep = max(MAX_SEARCH_COUNTS // (x.shape[1] * x.shape[2]), 1)
    keep = np.linspace(0, x.shape[0] - 1, n_keep).round().astype(int)
    return x[keep], None if truth is None else truth[keep]


def _reconstruct(x, mean, components):
    return np.maximum(mean + (x - mean) @ components.T @ components, 0.0)


def _loo_loglik(x, width):
    return _poisson_loglik(_smooth(x, width, leave_out=True), x)


def _poisson_loglik(rates, counts):
    """sum(k log r - r), without the log k! term that does not depend on the rates."""
    rates = np.maximum(rates, RATE_FLOOR)
    return float(np.sum(counts * np.log(rates) - rates))


def _check_array(x, name, integer):
    x = np.asarray(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (trials, time, neurons) or (time, neurons), "
                         f"got {x.ndim} dimensions, shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {x.dtype}")
    x = x.astype(float)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(x < 0):
        raise ValueError(f"{name} must be non-negative; found {int((x < 0).sum())} negative entries "
                         f"(minimum {x.min():.3g})")
    if integer and np.any(x != np.round(x)):
        raise ValueError(f"{name} must be whole-number spike counts; found non-integer entries")
    return x


def _check_width(width):
    ok = not isinstance(width, bool) and np.ndim(width) == 0
    try:
        value = float(width) if ok else np.nan
    except (TypeError, ValueError):
        value = np.nan
    if not (np.isfinite(value) and value >= 0):
        raise ValueError(f"width_bins must be a finite number >= 0 (std of the Gaussian, in bins), "
                         f"got {width!r}")
    return value


def _check_widths(widths):
    if widths is None:
        return DEFAULT_WIDTHS.copy()
    widths = np.atleast_1d(np.asarray(widths, dtype=float))
    if widths.ndim != 1 or widths.size == 0 or not np.all(np.isfinite(widths)) or np.any(widths <= 0):
        raise ValueError(f"widths must be a non-empty list of positive numbers of bins, got {widths!r}")
    return widths


def _check_components(components, n_neurons):
    out = []
    for k in np.atleast_1d(components):
        if isinstance(k, (bool, np.bool_)) or int(k) != k or not 1 <= k <= n_neurons:
            raise ValueError(f"components must be whole numbers in [1, {n_neurons}] (the number of "
                             f"neurons), got {list(np.atleast_1d(components))}")
        out.append(int(k))
    if not out:
        raise ValueError("components is empty; give at least one number of components")
    return out


def _check_truth(true_rates, shape):
    if true_rates is None:
        return None
    truth = np.asarray(true_rates, dtype=float)
    if truth.shape != shape:
        raise ValueError(f"true_rates has shape {truth.shape} but the spikes have {shape}; they must "
                         "match (the true rates of the same training trials)")
    if not np.all(np.isfinite(truth)):
        raise ValueError("true_rates contains NaN or inf")
    return truth
