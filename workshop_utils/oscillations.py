"""Cross-correlating an LFP with neurons' rates: is an oscillation kept or blurred away?

The LFADS paper showed that inferred rates keep oscillations that the LFP also carries while
smoothed spikes lose them. `lfp_cross_correlation` gives, for every neuron, the Pearson
correlation between the LFP at t and the neuron's signal at t + lag, pooled over trials
(optionally after removing each condition's mean time course from both, so that what is
left is single-trial variability, not the evoked response). `oscillation_amplitude` measures
how much of each cross-correlogram oscillates at a given frequency: the amplitude of the
best-fitting sinusoid a cos(2 pi f lag) + b sin(2 pi f lag) over the lags.
Layout: lfp (trials, time), signals (trials, time, neurons).
"""

import numpy as np


def lfp_cross_correlation(lfp, signals, max_lag_bins, conditions=None):
    """(lags (2 max_lag + 1,) in bins, correlations (2 max_lag + 1, neurons)).

    correlations[i, n] = corr(lfp[:, t], signals[:, t + lags[i], n]) over all trials and
    the bins t where both exist; positive lags mean the neuron follows the LFP. With
    `conditions` (trials,), each condition's trial-average is first subtracted from both.
    A neuron whose signal is constant gets NaN.
    """
    lfp = _check(lfp, "lfp", 2)
    x = _check(signals, "signals", 3)
    if lfp.shape != x.shape[:2]:
        raise ValueError(f"lfp has shape {lfp.shape} but signals {x.shape}: trials and time must match")
    n_bins = lfp.shape[1]
    if isinstance(max_lag_bins, bool) or not isinstance(max_lag_bins, (int, np.integer)) \
            or not 0 <= max_lag_bins < n_bins - 1:
        raise ValueError(f"max_lag_bins must be a whole number in [0, {n_bins - 2}] (trials have {n_bins} "
                         f"bins), got {max_lag_bins!r}")
    if conditions is not None:
        conditions = np.asarray(conditions)
        if conditions.shape != (lfp.shape[0],):
            raise ValueError(f"conditions must be one label per trial, shape ({lfp.shape[0]},), got "
                             f"{conditions.shape}")
        lfp, x = lfp.copy(), x.copy()
        for c in np.unique(conditions):
            lfp[conditions == c] -= lfp[conditions == c].mean(axis=0)
            x[conditions == c] -= x[conditions == c].mean(axis=0)
    lags = np.arange(-max_lag_bins, max_lag_bins + 1)
    out = np.empty((len(lags), x.shape[2]))
    for i, lag in enumerate(lags):
        a = lfp[:, max(0, -lag): n_bins - max(0, lag)].reshape(-1)
        b = x[:, max(0, lag): n_bins - max(0, -lag)].reshape(-1, x.shape[2])
        a, b = a - a.mean(), b - b.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i] = (a @ b) / np.sqrt((a @ a) * (b * b).sum(axis=0))
    return lags, out


def oscillation_amplitude(correlations, lags, bin_size, frequency_hz):
    """(neurons,) amplitude of the sinusoid at `frequency_hz` that best fits each column of
    `correlations` (lags, neurons) over `lags` (bins), by least squares; NaN columns give NaN."""
    c = np.asarray(correlations, float)
    lags = np.asarray(lags, float)
    if c.ndim != 2 or lags.shape != (c.shape[0],):
        raise ValueError(f"correlations must be (lags, neurons) with one row per lag ({lags.shape}), got "
                         f"{c.shape}")
    for name, value in (("bin_size", bin_size), ("frequency_hz", frequency_hz)):
        if isinstance(value, bool) or not (np.isscalar(value) and np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    phase = 2 * np.pi * frequency_hz * bin_size * lags
    basis = np.stack([np.cos(phase), np.sin(phase)], axis=1)
    if np.linalg.matrix_rank(basis) < 2:
        raise ValueError(f"the lags cannot tell a sinusoid at {frequency_hz} Hz apart: use more lags or a "
                         "frequency below the Nyquist frequency")
    coef = np.linalg.lstsq(basis, np.nan_to_num(c), rcond=None)[0]
    amplitude = np.hypot(coef[0], coef[1])
    return np.where(np.any(np.isnan(c), axis=0), np.nan, amplitude)


def other_trial_of_condition(conditions):
    """For each trial, the index of another trial of its condition (the next one, cyclically):
    `lfp[other_trial_of_condition(conditions)]` pairs every signal with an LFP that shares its
    condition but none of its single-trial fluctuations, the floor of a cross-correlation. A
    condition with one trial is paired with itself."""
    conditions = np.asarray(conditions)
    if conditions.ndim != 1:
        raise ValueError(f"conditions must be one label per trial (trials,), got shape {conditions.shape}")
    order = np.arange(len(conditions))
    for c in np.unique(conditions):
        idx = order[conditions == c]
        order[idx] = np.roll(idx, 1)
    return order


def _check(a, name, ndim):
    a = np.asarray(a)
    if a.ndim != ndim or 0 in a.shape:
        want = "(trials, time)" if ndim == 2 else "(trials, time, neurons)"
        raise ValueError(f"{name} must be a non-empty array {want}, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{name} must be real numbers, got dtype {a.dtype}")
    a = a.astype(float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a
