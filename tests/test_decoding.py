import numpy as np
import pytest

from workshop_utils import decoding, metrics


def linear_data(seed=0, n_trials=30, n_bins=40, n_features=6, lag=4, weights=None, bias=None, noise=0.0):
    """Features, and velocity[:, t] = features[:, t - lag] @ W + b (+ noise); junk in t < lag."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_trials, n_bins, n_features))
    w = rng.normal(size=(n_features, 2)) if weights is None else weights
    b = np.array([3.0, -2.0]) if bias is None else bias
    y = rng.normal(size=(n_trials, n_bins, 2)) * 50                 # bins t < lag: unrelated
    y[:, lag:] = x[:, : n_bins - lag] @ w + b + noise * rng.normal(size=(n_trials, n_bins - lag, 2))
    return x, y, w, b


def test_fit_linear_recovers_a_known_map_at_its_lag_exactly():
    x, y, w, b = linear_data(lag=4)
    weights, bias = decoding.fit_linear(x, y, 4)
    np.testing.assert_allclose(weights, w, atol=1e-9)
    np.testing.assert_allclose(bias, b, atol=1e-9)
    pred = decoding.predict_linear(weights, bias, x, 4)
    assert np.all(np.isnan(pred[:, :4])) and not np.any(np.isnan(pred[:, 4:]))
    np.testing.assert_allclose(pred[:, 4:], y[:, 4:], atol=1e-8)


def test_cross_validated_decoding_is_exact_without_noise_and_needs_the_right_lag():
    x, y, _, _ = linear_data(lag=4)
    right = decoding.decode(x, y, 4)
    assert right.r2 == pytest.approx(1.0, abs=1e-12) and right.lag_bins == 4
    np.testing.assert_allclose(right.r2_per_dim, 1.0, atol=1e-12)
    np.testing.assert_allclose(right.predictions[:, 4:], y[:, 4:], atol=1e-8)
    assert decoding.decode(x, y, 3).r2 < 0.1 and decoding.decode(x, y, 0).r2 < 0.1


def test_folds_are_by_trial_balanced_and_seeded():
    folds = decoding.trial_folds(23, 5, seed=1)
    assert folds.shape == (23,) and set(folds.tolist()) == set(range(5))
    assert np.ptp(np.bincount(folds)) <= 1
    np.testing.assert_array_equal(folds, decoding.trial_folds(23, 5, seed=1))
    assert not np.array_equal(folds, decoding.trial_folds(23, 5, seed=2))
    assert decoding.decode(*linear_data()[:2], 4, n_folds=3, seed=7).folds.tolist() == \
        decoding.trial_folds(30, 3, seed=7).tolist()


def test_each_trial_is_predicted_by_a_decoder_that_never_saw_it():
    x, y, _, _ = linear_data(noise=2.0)
    out = decoding.decode(x, y, 4, n_folds=5, seed=3)
    for k in range(5):
        held = out.folds == k
        w, b = decoding.fit_linear(x[~held], y[~held], 4)
        np.testing.assert_allclose(out.predictions[held], decoding.predict_linear(w, b, x[held], 4), atol=1e-10)
    # Velocity unrelated to many features: a fit explains some training variance, held-out none.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 12, 40)), rng.normal(size=(10, 12, 2))
    w, b = decoding.fit_linear(x, y, 0)
    in_sample = decoding.pooled_r2(y, decoding.predict_linear(w, b, x, 0))[0]
    assert in_sample > 0.2 and decoding.decode(x, y, 0).r2 < 0.0


def test_pooled_r2_is_the_variance_weighted_average_of_the_dimensions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(5, 20, 2)) * [1.0, 4.0] + [10.0, -3.0]
    pred = y + rng.normal(size=y.shape)
    pooled, per_dim = decoding.pooled_r2(y, pred)
    flat_y, flat_p = y.reshape(-1, 2), pred.reshape(-1, 2)
    assert per_dim[0] == pytest.approx(metrics.r_squared(flat_y[:, 0], flat_p[:, 0]))
    sse = ((flat_y - flat_p) ** 2).sum()
    sst = ((flat_y - flat_y.mean(0)) ** 2).sum()
    assert pooled == pytest.approx(1 - sse / sst)
    assert per_dim[0] < pooled < per_dim[1]              # the wide dimension weighs more


def test_one_decoder_across_sessions():
    w, b = np.random.default_rng(9).normal(size=(6, 2)), np.array([1.0, 2.0])
    a = linear_data(seed=1, n_trials=12, weights=w, bias=b)
    c = linear_data(seed=2, n_trials=17, n_bins=30, weights=w, bias=b)       # other trial count and length
    shared = decoding.decode_sessions([a[0], c[0]], [a[1], c[1]], 4)
    assert [d.r2 for d in shared] == pytest.approx([1.0, 1.0], abs=1e-10)
    assert shared[1].predictions.shape == (17, 30, 2)
    # Sessions that need different maps: one decoder cannot serve both, separate ones can.
    d = linear_data(seed=3, n_trials=15, noise=0.1)
    e = linear_data(seed=4, n_trials=15, noise=0.1)
    pooled = decoding.decode_sessions([d[0], e[0]], [d[1], e[1]], 4)
    alone = [decoding.decode(d[0], d[1], 4), decoding.decode(e[0], e[1], 4)]
    assert all(p.r2 < s.r2 - 0.3 for p, s in zip(pooled, alone))
    # With one session it is `decode`.
    single = decoding.decode_sessions([d[0]], [d[1]], 4, seed=5)[0]
    np.testing.assert_array_equal(single.predictions, decoding.decode(d[0], d[1], 4, seed=5).predictions)


def test_lag_in_bins():
    assert decoding.lag_in_bins(decoding.PAPER_LAG_S, 0.01) == 9
    assert decoding.lag_in_bins(0.1, 0.02) == 5
    with pytest.raises(ValueError, match="lag_s"):
        decoding.lag_in_bins(-0.1, 0.01)
    with pytest.raises(ValueError, match="bin_size"):
        decoding.lag_in_bins(0.1, 0)


@pytest.mark.parametrize("change, match", [
    (lambda x, y: (x[0], y[0]), "features must be a non-empty array"),
    (lambda x, y: (x, y[:-1]), "trials and time"),
    (lambda x, y: (x, y[:, :-1]), "trials and time"),
    (lambda x, y: (np.where(x > 2, np.nan, x), y), "features contains NaN"),
    (lambda x, y: (x, y.astype(complex)), "velocity must be real"),
    (lambda x, y: (x[:1], y[:1]), "at least 2 trials"),
])
def test_bad_arrays_are_named(change, match):
    x, y, _, _ = linear_data()
    with pytest.raises(ValueError, match=match):
        decoding.decode(*change(x, y), 4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lag_bins=40), "lag_bins"), (dict(lag_bins=-1), "lag_bins"), (dict(lag_bins=2.0), "lag_bins"),
    (dict(lag_bins=4, n_folds=1), "n_folds"), (dict(lag_bins=4, n_folds=31), "n_folds"),
    (dict(lag_bins=4, seed=-1), "seed"),
])
def test_bad_settings_are_named(kwargs, match):
    x, y, _, _ = linear_data()
    with pytest.raises(ValueError, match=match):
        decoding.decode(x, y, **kwargs)


def test_bad_session_lists_are_named():
    x, y, _, _ = linear_data()
    with pytest.raises(TypeError, match="lists"):
        decoding.decode_sessions(x, y, 4)
    with pytest.raises(ValueError, match="same length"):
        decoding.decode_sessions([x, x], [y], 4)
    with pytest.raises(ValueError, match="session 1 has 5 features"):
        decoding.decode_sessions([x, x[..., :5]], [y, y], 4)
    with pytest.raises(ValueError, match="session 1: features"):
        decoding.decode_sessions([x, x[0]], [y, y], 4)
    with pytest.raises(ValueError, match="weights must be"):
        decoding.predict_linear(np.zeros((5, 2)), np.zeros(2), x, 4)
