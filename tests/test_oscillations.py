import numpy as np
import pytest

from workshop_utils import oscillations, reaching, smoothing


def phase_locked(lag_bins=2, n_trials=40, n_bins=60, freq=0.1, seed=0):
    """An LFP oscillating at `freq` cycles per bin with a random phase per trial, and two
    neurons: one follows it `lag_bins` later, one is noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_bins + lag_bins)
    wave = np.cos(2 * np.pi * freq * t[None] + rng.uniform(0, 2 * np.pi, (n_trials, 1)))
    lfp = wave[:, lag_bins:]
    follower = wave[:, :n_bins]                          # follower[t] = lfp[t - lag]
    return lfp, np.stack([follower, rng.normal(size=(n_trials, n_bins))], -1)


def test_a_follower_peaks_at_its_lag_and_noise_does_not():
    lfp, x = phase_locked(lag_bins=2)
    lags, xc = oscillations.lfp_cross_correlation(lfp, x, 5)
    np.testing.assert_array_equal(lags, np.arange(-5, 6))
    assert lags[np.argmax(xc[:, 0])] == 2 and xc[lags == 2, 0] == pytest.approx(1.0)
    assert np.abs(xc[:, 1]).max() < 0.1
    amp = oscillations.oscillation_amplitude(xc, lags, 0.01, 10.0)   # 0.1 cycles per bin at 10 ms
    assert amp[0] == pytest.approx(1.0, abs=0.05) and amp[1] < 0.1


def test_correlation_is_pearsons_at_each_lag():
    rng = np.random.default_rng(1)
    lfp, x = rng.normal(size=(6, 20)), rng.normal(size=(6, 20, 3))
    lags, xc = oscillations.lfp_cross_correlation(lfp, x, 3)
    for i, lag in enumerate(lags):
        a = lfp[:, max(0, -lag): 20 - max(0, lag)].ravel()
        b = x[:, max(0, lag): 20 - max(0, -lag), 2].ravel()
        assert xc[i, 2] == pytest.approx(np.corrcoef(a, b)[0, 1])


def test_removing_condition_means_removes_the_evoked_response():
    rng = np.random.default_rng(2)
    evoked = np.sin(np.linspace(0, np.pi, 30))
    conditions = np.repeat([0, 1], 20)
    lfp = evoked * (1 + conditions[:, None]) + 0.1 * rng.normal(size=(40, 30))
    x = (evoked * (1 + conditions[:, None]))[..., None] + 0.1 * rng.normal(size=(40, 30, 1))
    assert oscillations.lfp_cross_correlation(lfp, x, 0)[1][0, 0] > 0.9
    assert abs(oscillations.lfp_cross_correlation(lfp, x, 0, conditions)[1][0, 0]) < 0.1


def test_reaching_rates_keep_the_oscillation_that_smoothed_spikes_blur():
    s = reaching.reaching_sessions(0, n_sessions=1)[0]
    scores = {}
    for name, x in (("rates", s.rates), ("smoothed", smoothing.gaussian_smooth(s.spikes, 2.0))):
        lags, xc = oscillations.lfp_cross_correlation(s.lfp, x, 10, s.conditions)
        scores[name] = np.median(oscillations.oscillation_amplitude(xc, lags, s.bin_size, 15.0))
    assert scores["rates"] > 0.25 and scores["smoothed"] < 0.1


def test_other_trial_of_condition_pairs_each_trial_with_another_of_its_condition():
    conditions = np.array([0, 0, 0, 1, 1, 2])
    other = oscillations.other_trial_of_condition(conditions)
    np.testing.assert_array_equal(conditions[other], conditions)
    assert np.all(other[:5] != np.arange(5)) and other[5] == 5          # a lone trial keeps its own
    np.testing.assert_array_equal(np.sort(other), np.arange(6))         # a permutation
    with pytest.raises(ValueError, match="one label per trial"):
        oscillations.other_trial_of_condition(np.zeros((2, 3)))


def test_bad_inputs_are_named():
    lfp, x = phase_locked()
    with pytest.raises(ValueError, match="trials and time must match"):
        oscillations.lfp_cross_correlation(lfp[:-1], x, 3)
    with pytest.raises(ValueError, match="max_lag_bins"):
        oscillations.lfp_cross_correlation(lfp, x, 59)
    with pytest.raises(ValueError, match="signals must be a non-empty array"):
        oscillations.lfp_cross_correlation(lfp, x[..., 0], 3)
    with pytest.raises(ValueError, match="lfp contains NaN"):
        oscillations.lfp_cross_correlation(lfp * np.nan, x, 3)
    with pytest.raises(ValueError, match="conditions must be one label per trial"):
        oscillations.lfp_cross_correlation(lfp, x, 3, conditions=[0, 1])
    lags, xc = oscillations.lfp_cross_correlation(lfp, x, 3)
    with pytest.raises(ValueError, match="frequency_hz"):
        oscillations.oscillation_amplitude(xc, lags, 0.01, 0.0)
    with pytest.raises(ValueError, match="one row per lag"):
        oscillations.oscillation_amplitude(xc[:-1], lags, 0.01, 10.0)
    with pytest.raises(ValueError, match="cannot tell a sinusoid"):
        oscillations.oscillation_amplitude(xc[3:4], lags[3:4], 0.01, 10.0)
