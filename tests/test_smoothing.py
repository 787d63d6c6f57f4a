import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from workshop_utils import metrics, smoothing


def sinusoid_trials(period_bins, seed=0, n_trials=40, n_bins=100, n_neurons=20, mean_rate=0.5):
    """Rates (spikes per bin) oscillating with a given period, random phase per neuron and trial."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_bins)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, (n_trials, 1, n_neurons))
    rates = mean_rate * (1 + 0.8 * np.sin(2 * np.pi * t / period_bins + phase))
    return rng.poisson(rates), rates


def low_rank_trials(seed=0, n_trials=60, n_bins=80, n_neurons=50, n_latents=3):
    """Rates exp(C z + b) from 3 smooth latents shared by 50 neurons, and Poisson counts."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_bins)[None, :, None]
    freq = rng.uniform(1, 3, (1, 1, n_latents))
    phase = rng.uniform(0, 2 * np.pi, (n_trials, 1, n_latents))
    z = np.sin(2 * np.pi * freq * t + phase)
    loadings = rng.normal(0, 0.5, (n_latents, n_neurons))
    rates = np.exp(z @ loadings + np.log(0.3))
    return rng.poisson(rates), rates


def test_a_constant_rate_stays_constant_up_to_the_edges():
    x = np.full((3, 50, 4), 2.5)
    for width in (0.5, 3.0, 20.0, 100.0):
        np.testing.assert_allclose(smoothing.gaussian_smooth(x, width), 2.5, rtol=1e-12)


def test_a_delta_becomes_the_gaussian_and_matches_scipy_inside_the_trial():
    x = np.zeros((101, 1))
    x[50] = 1.0
    out = smoothing.gaussian_smooth(x, 5.0)[:, 0]
    lag = np.arange(101) - 50
    gauss = np.exp(-0.5 * (lag / 5.0) ** 2) * (np.abs(lag) <= 20)
    np.testing.assert_allclose(out, gauss / gauss.sum(), atol=1e-12)
    assert out.sum() == pytest.approx(1.0)

    spikes = np.random.default_rng(0).poisson(1.0, (4, 200, 3)).astype(float)
    ours = smoothing.gaussian_smooth(spikes, 3.0)
    ref = gaussian_filter1d(spikes, 3.0, axis=1, mode="constant", truncate=4.0)
    np.testing.assert_allclose(ours[:, 12:-12], ref[:, 12:-12], atol=1e-10)   # away from edges


def test_width_zero_is_the_identity_and_one_trial_works():
    spikes = np.random.default_rng(1).poisson(1.0, (30, 5))
    np.testing.assert_array_equal(smoothing.gaussian_smooth(spikes, 0), spikes)
    assert smoothing.gaussian_smooth(spikes, 0).dtype == float
    batched = smoothing.gaussian_smooth(spikes[None], 2.0)
    np.testing.assert_allclose(smoothing.gaussian_smooth(spikes, 2.0), batched[0])


def test_slow_rates_want_wide_kernels_and_fast_rates_narrow_ones():
    slow_spikes, slow_rates = sinusoid_trials(period_bins=100)
    fast_spikes, fast_rates = sinusoid_trials(period_bins=8, mean_rate=4.0)
    slow = smoothing.choose_smoothing_width(slow_spikes, true_rates=slow_rates)
    fast = smoothing.choose_smoothing_width(fast_spikes, true_rates=fast_rates)
    assert slow >= 5.0 and fast <= 2.0
    # The truth-free choice (leave-one-bin-out likelihood) orders them the same way, close to it.
    slow_loo = smoothing.choose_smoothing_width(slow_spikes)
    fast_loo = smoothing.choose_smoothing_width(fast_spikes)
    assert fast_loo < slow_loo
    assert slow / 2 <= slow_loo <= slow * 2 and fast_loo <= 2.5


def test_chosen_width_is_the_best_on_the_grid():
    spikes, rates = sinusoid_trials(period_bins=30, seed=2)
    widths = [1.0, 2.0, 4.0, 8.0, 16.0]
    chosen = smoothing.choose_smoothing_width(spikes, widths=widths, true_rates=rates)
    r2 = {w: metrics.r_squared(rates, smoothing.gaussian_smooth(spikes, w)) for w in widths}
    assert chosen == max(r2, key=r2.get)
    assert r2[chosen] > r2[1.0] + 0.1 and r2[chosen] > r2[16.0] + 0.1   # a real optimum inside


def test_pca_with_all_components_reproduces_the_input():
    spikes, _ = low_rank_trials(n_neurons=12)
    smoothed = smoothing.gaussian_smooth(spikes, 2.0)
    fit = smoothing.fit_pca_denoiser(smoothed, 12)
    np.testing.assert_allclose(smoothing.apply_pca_denoiser(fit, smoothed), smoothed, atol=1e-10)
    np.testing.assert_allclose(fit.components @ fit.components.T, np.eye(12), atol=1e-10)


def test_pca_with_more_neurons_than_bins_still_has_a_full_basis():
    x = np.random.default_rng(3).poisson(2.0, (1, 5, 8)).astype(float)
    fit = smoothing.fit_pca_denoiser(x, 8)
    np.testing.assert_allclose(smoothing.apply_pca_denoiser(fit, x), x, atol=1e-10)


def test_pca_denoising_improves_held_out_r2_on_low_rank_rates():
    spikes, rates = low_rank_trials(n_trials=120)
    train, test = slice(0, 80), slice(80, 120)
    width = smoothing.choose_smoothing_width(spikes[train], true_rates=rates[train])
    smooth_r2 = metrics.r_squared(rates[test], smoothing.gaussian_smooth(spikes[test], width))

    for truth in (rates[train], None):      # chosen with or without the true rates
        pca_width, fit = smoothing.choose_pca_denoiser(spikes[train], true_rates=truth)
        denoised = smoothing.apply_pca_denoiser(fit, smoothing.gaussian_smooth(spikes[test], pca_width))
        assert metrics.r_squared(rates[test], denoised) > smooth_r2 + 0.05
        assert 2 <= fit.components.shape[0] <= 10       # near the true rank of 3 (log-rates)
        assert np.all(denoised >= 0)


def test_rates_floor_makes_bits_per_spike_finite():
    spikes = np.zeros((2, 30, 3), dtype=int)
    spikes[0, 0, 0] = 1
    spikes[1, 15, 1] = 2
    smoothed = smoothing.gaussian_smooth(spikes, 1.0)
    assert smoothed.min() == 0
    with pytest.raises(ValueError, match="rates must be > 0"):
        metrics.bits_per_spike(smoothed, spikes)
    floored = smoothing.rates_floor(smoothed)
    assert floored.min() == smoothing.RATE_FLOOR and np.isfinite(metrics.bits_per_spike(floored, spikes))
    np.testing.assert_array_equal(floored[smoothed > 1e-4], smoothed[smoothed > 1e-4])


@pytest.mark.parametrize("call, match", [
    (lambda x: smoothing.gaussian_smooth(x, -1.0), "width_bins must be a finite number >= 0"),
    (lambda x: smoothing.gaussian_smooth(x, np.nan), "width_bins"),
    (lambda x: smoothing.gaussian_smooth(x, [1.0, 2.0]), "width_bins"),
    (lambda x: smoothing.gaussian_smooth(x[0, :, 0], 1.0), "got 1 dimensions"),
    (lambda x: smoothing.gaussian_smooth(x[None], 1.0), "got 4 dimensions"),
    (lambda x: smoothing.gaussian_smooth(np.where(x > 1, np.nan, x), 1.0), "spikes contains NaN"),
    (lambda x: smoothing.gaussian_smooth(-x, 1.0), "spikes must be non-negative"),
    (lambda x: smoothing.choose_smoothing_width(x + 0.5), "whole-number spike counts"),
    (lambda x: smoothing.choose_smoothing_width(x, widths=[0.0, 1.0]), "widths must be"),
    (lambda x: smoothing.choose_smoothing_width(x, true_rates=x[:1]), "true_rates has shape"),
    (lambda x: smoothing.fit_pca_denoiser(x, 0), r"n_components must be a whole number in \[1, 4\]"),
    (lambda x: smoothing.fit_pca_denoiser(x, 5), r"in \[1, 4\]"),
    (lambda x: smoothing.apply_pca_denoiser(smoothing.fit_pca_denoiser(x, 2), x[..., :3]), "has 3 neurons"),
    (lambda x: smoothing.apply_pca_denoiser((0, 1), x), "fit must be a PCADenoiser"),
    (lambda x: smoothing.choose_pca_denoiser(x, components=[2, 9]), "components must be whole numbers"),
    (lambda x: smoothing.rates_floor(x, floor=0.0), "floor must be a positive"),
    (lambda x: smoothing.rates_floor(np.full(3, np.inf)), "rates contains NaN"),
])
def test_bad_inputs_raise_clear_errors(call, match):
    x = np.random.default_rng(0).poisson(1.0, (3, 20, 4)).astype(float)
    with pytest.raises((ValueError, TypeError), match=match):
        call(x)


def test_large_data_are_searched_on_a_subset_of_trials_with_the_same_answer(monkeypatch):
    spikes, rates = sinusoid_trials(period_bins=60, seed=4, n_trials=60)
    full = smoothing.choose_smoothing_width(spikes, true_rates=rates)
    full_pca = smoothing.choose_pca_denoiser(spikes, true_rates=rates)
    monkeypatch.setattr(smoothing, "MAX_SEARCH_COUNTS", spikes[0].size * 30)   # half the trials
    subset = smoothing.choose_smoothing_width(spikes, true_rates=rates)
    assert subset / 1.6 <= full <= subset * 1.6                  # within one grid step or so
    width, fit = smoothing.choose_pca_denoiser(spikes, true_rates=rates)
    assert width / 1.6 <= full_pca[0] <= width * 1.6
    # The returned fit uses every training trial, not just the searched ones.
    all_trials = smoothing.fit_pca_denoiser(smoothing.gaussian_smooth(spikes, width), fit.components.shape[0])
    np.testing.assert_allclose(fit.mean, all_trials.mean)
