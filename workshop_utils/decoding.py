"""The optimal linear estimator: hand velocity from a neural representation, cross-validated.

As in the LFADS paper's decoding (Pandarinath et al. 2018): least squares with a bias term,
the decoder lagged behind the neural signal (velocity at bin t is read from the features at
bin t - lag; the paper used 90 ms), scored by k-fold cross-validation over trials (5 folds):
every trial's velocity is predicted by a decoder that never saw that trial.

- `decode(features, velocity, lag_bins)`: one session.
- `decode_sessions([features...], [velocity...], lag_bins)`: ONE decoder fitted across
  sessions whose features share a space (e.g. stitched LFADS factors), scored per session.
- `fit_linear`, `predict_linear`, `trial_folds`: the pieces.

r^2 pools the velocity dimensions by their variance: 1 - sum_d SSE_d / sum_d SST_d, each SST
about that dimension's own mean (what scikit-learn calls 'variance_weighted'); `r2_per_dim`
gives each one. Only bins t >= lag are scored (earlier bins have no lagged features).
Layout: features (trials, time, features), velocity (trials, time, dims).
"""

import dataclasses

import numpy as np

from . import metrics

PAPER_LAG_S = 0.09          # the paper's decoders lagged 90 ms behind the neural signal
DEFAULT_FOLDS = 5


@dataclasses.dataclass(eq=False)
class Decoded:
    """Cross-validated decoding of one session."""
    r2: float                  # pooled over dimensions, variance-weighted (see module docstring)
    r2_per_dim: np.ndarray     # (dims,)
    predictions: np.ndarray    # (trials, time, dims) held-out predictions; NaN in bins t < lag
    folds: np.ndarray          # (trials,) the fold that held each trial out
    lag_bins: int


def trial_folds(n_trials, n_folds=DEFAULT_FOLDS, seed=0):
    """(n_trials,) fold index of each trial: a seeded permutation dealt into `n_folds` folds
    whose sizes differ by at most one trial."""
    _check_whole("n_trials", n_trials, 2)
    _check_whole("n_folds", n_folds, 2)
    _check_whole("seed", seed, 0)
    if n_folds > n_trials:
        raise ValueError(f"n_folds ({n_folds}) cannot exceed the number of trials ({n_trials})")
    folds = np.empty(n_trials, dtype=np.int64)
    folds[np.random.default_rng(seed).permutation(n_trials)] = np.arange(n_trials) % n_folds
    return folds


def fit_linear(features, velocity, lag_bins):
    """Least squares with a bias: velocity[:, t] ~ features[:, t - lag_bins] @ weights + bias.

    Returns (weights (features, dims), bias (dims,)): the bias absorbs the means, the weights
    solve the normal equations of the centred data by `np.linalg.lstsq` (the minimum-norm
    solution when features are collinear, e.g. a neuron that never fired). The normal
    equations keep the solve tiny (features x features), which matters on a busy CPU.
    """
    x, y, lag = _check_pair(features, velocity, lag_bins)
    return _least_squares(*_lagged_rows(x, y, lag))


def predict_linear(weights, bias, features, lag_bins):
    """(trials, time, dims) predictions of `fit_linear`'s decoder; NaN in bins t < lag_bins."""
    x = _check_array(features, "features")
    weights, bias = np.asarray(weights, float), np.asarray(bias, float)
    if weights.ndim != 2 or weights.shape[0] != x.shape[-1] or bias.shape != (weights.shape[1],):
        raise ValueError(f"weights must be (features, dims) = ({x.shape[-1]}, dims) and bias (dims,), got "
                         f"{weights.shape} and {bias.shape}")
    lag = _check_lag(lag_bins, x.shape[1])
    out = np.full(x.shape[:2] + (weights.shape[1],), np.nan)
    out[:, lag:] = x[:, : x.shape[1] - lag] @ weights + bias
    return out


def decode(features, velocity, lag_bins, n_folds=DEFAULT_FOLDS, seed=0):
    """Cross-validated optimal linear estimator for one session; returns a `Decoded`.

    Trials are dealt into `n_folds` folds (`trial_folds(n_trials, n_folds, seed)`); each
    fold's trials are predicted by a decoder fitted on all the other folds.
    """
    return decode_sessions([features], [velocity], lag_bins, n_folds, seed)[0]


def decode_sessions(features, velocity, lag_bins, n_folds=DEFAULT_FOLDS, seed=0):
    """ONE decoder across sessions, cross-validated by trials; a `Decoded` per session.

    `features` and `velocity` are lists with one array per session (trial counts and trial
    lengths may differ between sessions; the feature dimension and velocity dimensions must
    not). Each session's trials are dealt into `n_folds` folds (seed `seed + session`); for
    fold k one decoder is fitted on every session's other folds together and predicts every
    session's fold k. With one session this is `decode`.
    """
    if not isinstance(features, (list, tuple)) or not isinstance(velocity, (list, tuple)):
        raise TypeError(f"features and velocity must be lists with one array per session, got "
                        f"{type(features).__name__} and {type(velocity).__name__}")
    if len(features) != len(velocity) or len(features) == 0:
        raise ValueError(f"features and velocity must be non-empty lists of the same length (one array per "
                         f"session), got {len(features)} and {len(velocity)}")
    pairs = []
    for s, (x, y) in enumerate(zip(features, velocity)):
        try:
            pairs.append(_check_pair(x, y, lag_bins))
        except ValueError as error:
            raise ValueError(f"session {s}: {error}") from None
    for s, (x, y, _) in enumerate(pairs[1:], start=1):
        if x.shape[-1] != pairs[0][0].shape[-1] or y.shape[-1] != pairs[0][1].shape[-1]:
            raise ValueError(f"session {s} has {x.shape[-1]} features and {y.shape[-1]} velocity dims but "
                             f"session 0 has {pairs[0][0].shape[-1]} and {pairs[0][1].shape[-1]}: one decoder "
                             "needs the same feature space in every session")
    _check_whole("seed", seed, 0)
    folds = [trial_folds(x.shape[0], n_folds, seed + s) for s, (x, _, _) in enumerate(pairs)]
    predictions = [np.full(y.shape, np.nan) for _, y, _ in pairs]
    for k in range(n_folds):
        rows = [_lagged_rows(x[f != k], y[f != k], lag) for (x, y, lag), f in zip(pairs, folds)]
        weights, bias = _least_squares(np.concatenate([r[0] for r in rows]),
                                       np.concatenate([r[1] for r in rows]))
        for (x, _, lag), f, pred in zip(pairs, folds, predictions):
            pred[f == k] = predict_linear(weights, bias, x[f == k], lag)
    results = []
    for (_, y, lag), f, pred in zip(pairs, folds, predictions):
        r2, per_dim = pooled_r2(y[:, lag:], pred[:, lag:])
        results.append(Decoded(r2, per_dim, pred, f, lag))
    return results


def pooled_r2(y_true, y_pred):
    """(r2 pooled over the last axis, variance-weighted; (dims,) r2 of each dimension).

    Each dimension's r2 is `metrics.r_squared` over all its entries; the pooled value is
    1 - sum_d SSE_d / sum_d SST_d = their average weighted by each dimension's variance.
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape or y_true.ndim < 1:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}; they must match "
                         "(..., dims)")
    true_d = y_true.reshape(-1, y_true.shape[-1])
    pred_d = y_pred.reshape(true_d.shape)
    per_dim = np.array([metrics.r_squared(true_d[:, d], pred_d[:, d]) for d in range(true_d.shape[1])])
    sst = ((true_d - true_d.mean(axis=0)) ** 2).sum(axis=0)
    return float(np.sum(per_dim * sst) / np.sum(sst)), per_dim


def lag_in_bins(lag_s, bin_size):
    """A lag in seconds as a whole number of bins (rounded); e.g. the paper's 90 ms at 10 ms = 9."""
    for name, value in (("lag_s", lag_s), ("bin_size", bin_size)):
        if isinstance(value, bool) or not (np.isscalar(value) and np.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    if bin_size == 0:
        raise ValueError("bin_size must be > 0 seconds, got 0")
    return int(round(lag_s / bin_size))


# --- helpers ---------------------------------------------------------------------------------

def _lagged_rows(x, y, lag):
    """(samples, features) features at t - lag and (samples, dims) velocity at t, t >= lag."""
    n_bins = x.shape[1]
    return (x[:, : n_bins - lag].reshape(-1, x.shape[-1]), y[:, lag:].reshape(-1, y.shape[-1]))


def _least_squares(design, target):
    """Weights and bias minimising ||design @ w + b - target||^2 (min-norm w if collinear)."""
    x_mean, y_mean = design.mean(axis=0), target.mean(axis=0)
    xc = design - x_mean
    weights = np.linalg.lstsq(xc.T @ xc, xc.T @ (target - y_mean), rcond=None)[0]
    return weights, y_mean - x_mean @ weights


def _check_pair(features, velocity, lag_bins):
    x = _check_array(features, "features")
    y = _check_array(velocity, "velocity")
    if x.shape[:2] != y.shape[:2]:
        raise ValueError(f"features have shape {x.shape} and velocity {y.shape}: trials and time (the first "
                         "two axes) must match")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 trials to fit and cross-validate, got {x.shape[0]}")
    return x, y, _check_lag(lag_bins, x.shape[1])


def _check_array(a, name):
    a = np.asarray(a)
    if a.ndim != 3 or 0 in a.shape:
        raise ValueError(f"{name} must be a non-empty array (trials, time, {'features' if name == 'features' else 'dims'}), "
                         f"got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
        raise ValueError(f"{name} must be real numbers, got dtype {a.dtype}")
    a = a.astype(float)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _check_lag(lag_bins, n_bins):
    if isinstance(lag_bins, bool) or not isinstance(lag_bins, (int, np.integer)) or not 0 <= lag_bins < n_bins:
        raise ValueError(f"lag_bins must be a whole number of bins in [0, {n_bins}) (the trial has {n_bins} "
                         f"bins), got {lag_bins!r}")
    return int(lag_bins)


def _check_whole(name, n, least):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"{name} must be a whole number >= {least}, got {n!r}")
