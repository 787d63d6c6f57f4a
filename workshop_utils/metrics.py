"""Scores shared across notebooks, each written to its textbook definition."""

import numpy as np


def r_squared(y_true, y_pred):
    """Coefficient of determination over all entries: 1 - SSE / SST.

    SST is taken about the mean of `y_true` over all entries (pooled over trials, time and
    dimensions), so a model must explain variation across time and trials alike.
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}; they must match")
    if y_true.size < 2:
        raise ValueError(f"r_squared needs at least 2 values, got {y_true.size}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or inf")
    sst = np.sum((y_true - y_true.mean()) ** 2)
    if sst == 0:
        raise ValueError("y_true is constant, so R^2 is undefined")
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / sst)


def poisson_nll(rates, spikes):
    """Poisson negative log-likelihood, summed over all entries, with the log(k!) term (nats).

    rates in spikes per bin (> 0, or 0 where spikes are 0), spikes non-negative integer counts.
    A rate of 0 with 0 spikes contributes 0: the prediction "never fires" is exactly right.
    """
    rates, spikes = _check_rates_and_spikes(rates, spikes, allow_zero_rates=True)
    if np.any((rates == 0) & (spikes > 0)):
        raise ValueError("rates is 0 where spikes were counted: the likelihood is 0 (NLL infinite)")
    log_rates = np.log(np.where(rates > 0, rates, 1.0))
    return float(np.sum(rates - spikes * log_rates + _log_factorial(spikes)))


def bits_per_spike(rates, spikes):
    """How much better `rates` explain `spikes` than each neuron's mean rate, in bits per spike.

    The Neural Latents Benchmark's definition (co-smoothing when scored on held-out neurons):
    (NLL_null - NLL_model) / (total spikes) / ln 2, with Poisson NLLs including log(k!), and the
    null model predicting each neuron's mean count over all the trials and bins given. Shapes
    (..., neurons), e.g. (trials, time, neurons); rates in spikes per bin, strictly positive.
    A neuron that never spikes has a null rate of 0, which explains it perfectly (NLL 0).
    0 means no better than the mean rate; negative means worse.
    """
    rates, spikes = _check_rates_and_spikes(rates, spikes)
    total = spikes.sum()
    if total == 0:
        raise ValueError("spikes contains no spike at all, so bits per spike is undefined")
    null_rates = np.broadcast_to(spikes.reshape(-1, spikes.shape[-1]).mean(axis=0), spikes.shape)
    return float((poisson_nll(null_rates, spikes) - poisson_nll(rates, spikes)) / total / np.log(2))


def _log_factorial(counts):
    from scipy.special import gammaln

    return gammaln(counts + 1.0)


def _check_rates_and_spikes(rates, spikes, allow_zero_rates=False):
    rates, spikes = np.asarray(rates, dtype=float), np.asarray(spikes)
    if rates.shape != spikes.shape:
        raise ValueError(f"rates has shape {rates.shape} but spikes has {spikes.shape}; they must match "
                         "(e.g. both (trials, time, neurons))")
    if rates.ndim == 0 or rates.size == 0:
        raise ValueError(f"rates and spikes must be non-empty arrays (..., neurons), got shape {rates.shape}")
    if not np.all(np.isfinite(rates)):
        raise ValueError("rates contains NaN or inf")
    bad = rates < 0 if allow_zero_rates else rates <= 0
    if np.any(bad):
        raise ValueError(f"rates must be {'>= 0' if allow_zero_rates else '> 0'} (spikes per bin); "
                         f"found {int(bad.sum())} entries with minimum {rates.min():.3g}")
    spikes_float = spikes.astype(float)
    if not np.all(np.isfinite(spikes_float)):
        raise ValueError("spikes contains NaN or inf")
    if np.any(spikes_float < 0):
        raise ValueError(f"spikes must be non-negative counts; found {int((spikes_float < 0).sum())} negative entries")
    if np.any(spikes_float != np.round(spikes_float)):
        raise ValueError("spikes must be whole-number counts; found non-integer entries")
    return rates, spikes_float
