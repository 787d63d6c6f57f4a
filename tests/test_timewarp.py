import jax
import numpy as np
import pytest

from workshop_utils import timewarp

N_TRIALS, N_BINS, N_NEURONS = 200, 60, 20


@pytest.fixture(scope="module")
def trials():
    return timewarp.make_warped_trials(jax.random.key(0), N_TRIALS, N_BINS, N_NEURONS, max_shift=6.0)


def test_warps_are_smooth_increasing_maps_with_fixed_ends():
    warps = np.asarray(timewarp.random_warps(jax.random.key(1), N_TRIALS, N_BINS, max_shift=6.0))
    tau = np.arange(N_BINS)
    assert warps.shape == (N_TRIALS, N_BINS)
    assert np.all(warps[:, 0] == 0) and np.all(warps[:, -1] == N_BINS - 1)
    assert np.all(np.diff(warps, axis=1) >= timewarp.MIN_SLOPE - 1e-5)     # strictly increasing
    shift = np.abs(warps - tau).max(axis=1)
    assert np.all(shift <= 6.0 + 1e-4) and np.median(shift) > 2.0           # bounded, but warped
    assert np.abs(np.diff(warps, 2, axis=1)).max() < 0.2                    # smooth: no kinks


def test_the_identity_warp_replays_the_template(trials):
    identity = timewarp.random_warps(jax.random.key(3), N_TRIALS, N_BINS, max_shift=0.0)
    np.testing.assert_array_equal(identity, np.tile(np.arange(N_BINS), (N_TRIALS, 1)))
    np.testing.assert_array_equal(timewarp.invert_warps(identity), identity)
    np.testing.assert_array_equal(timewarp.template_at(trials.template, identity),
                                  np.broadcast_to(trials.template, (N_TRIALS, N_BINS, 3)))


def test_template_is_smooth_and_standardised(trials):
    template = np.asarray(trials.template)
    assert template.shape == (N_BINS, 3)
    np.testing.assert_allclose(template.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(template.std(axis=0), 1, rtol=1e-4)
    assert np.abs(np.diff(template, axis=0)).max() < 0.5


def test_inverse_undoes_the_warp(trials):
    inverse = np.asarray(timewarp.invert_warps(trials.warps))
    tau = np.arange(N_BINS)
    for w, w_inv in zip(np.asarray(trials.warps)[:5], inverse[:5]):
        np.testing.assert_allclose(np.interp(w_inv, tau, w), tau, atol=1e-4)   # w(w^-1(t)) = t


def test_latents_are_the_template_at_each_trials_times(trials):
    tau = np.arange(N_BINS)
    template, latents = np.asarray(trials.template), np.asarray(trials.latents)
    for i in range(0, N_TRIALS, 40):
        template_time = np.interp(tau, np.asarray(trials.warps[i]), tau)     # w_i^-1(t), by NumPy
        want = np.stack([np.interp(template_time, tau, z) for z in template.T], axis=1)
        np.testing.assert_allclose(latents[i], want, atol=1e-4)


def test_rates_are_realistic_and_spikes_match_them(trials):
    spikes, rates = np.asarray(trials.spikes), np.asarray(trials.rates)
    assert spikes.shape == rates.shape == (N_TRIALS, N_BINS, N_NEURONS) and trials.bin_size == 0.01
    assert np.issubdtype(spikes.dtype, np.integer) and spikes.min() >= 0
    rates_hz = rates / trials.bin_size
    assert rates_hz.min() >= 5.0 * (1 - 1e-4) and rates_hz.max() <= 40.0 * (1 + 1e-4)
    want = np.exp(np.asarray(trials.latents) @ np.asarray(trials.loadings).T + np.asarray(trials.baselines))
    np.testing.assert_allclose(rates, want, rtol=1e-5)
    # Law of large numbers: counts average to the rates (about 30k spikes in all, 1.5k per neuron).
    assert spikes.sum() / rates.sum() == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(spikes.sum(axis=(0, 1)) / rates.sum(axis=(0, 1)), 1.0, atol=0.15)


def test_unwarping_with_the_true_warps_aligns_trials_to_the_template(trials):
    aligned = np.asarray(timewarp.unwarp(trials.rates, trials.warps))
    on_template = np.exp(np.asarray(trials.template) @ np.asarray(trials.loadings).T
                         + np.asarray(trials.baselines))
    # Exact up to interpolating twice (warp, then unwarp) between bins.
    np.testing.assert_allclose(aligned, np.broadcast_to(on_template, aligned.shape), rtol=0.05)
    raw_error = np.abs(np.asarray(trials.rates) - on_template).mean()
    assert np.abs(aligned - on_template).mean() < 0.2 * raw_error


def test_warp_from_one_hot_attention_recovers_the_positions():
    positions = np.random.default_rng(5).integers(0, 30, size=(3, 12))
    weights = np.eye(30)[positions]                          # (3 trials, 12 outputs, 30 inputs)
    np.testing.assert_array_equal(timewarp.warp_from_attention(weights), positions)
    np.testing.assert_array_equal(timewarp.warp_from_attention(weights, "mean"), positions)
    split = np.zeros((1, 2, 5))
    split[0, 0, [1, 2]] = 0.5                                # halfway between bins 1 and 2
    split[0, 1, [0, 4]] = [0.25, 0.75]
    np.testing.assert_allclose(timewarp.warp_from_attention(split, "mean"), [[1.5, 3.0]])
    np.testing.assert_array_equal(timewarp.warp_from_attention(split[0, 1:]), [4.0])


def test_attention_from_the_template_to_each_trial_finds_its_warp(trials):
    # Step tau attends to the trial bins whose latents are nearest template[tau]: a softmax
    # over -30 * squared distance. Every template state is distinct, so this finds w(tau).
    template, latents = np.asarray(trials.template), np.asarray(trials.latents)
    scores = -30 * ((template[None, :, None] - latents[:, None]) ** 2).sum(-1)  # (trials, tau, t)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    unwarped = timewarp.mean_abs_warp_error(np.tile(np.arange(N_BINS), (N_TRIALS, 1)), trials.warps)
    by_argmax = timewarp.mean_abs_warp_error(timewarp.warp_from_attention(weights), trials.warps)
    by_mean = timewarp.mean_abs_warp_error(timewarp.warp_from_attention(weights, "mean"), trials.warps)
    assert unwarped > 1.5                     # the trials really are jittered, by about 2 bins
    assert by_mean < by_argmax < 0.4          # found to within a fraction of a bin


def test_mean_abs_warp_error_is_its_definition():
    estimated = np.array([[0.0, 1.0, 5.0], [0.0, 2.5, 4.0]])
    true = np.array([[0.0, 2.0, 4.0], [0.0, 2.0, 4.0]])
    assert timewarp.mean_abs_warp_error(estimated, true) == pytest.approx((0 + 1 + 1 + 0 + 0.5 + 0) / 6)
    assert timewarp.mean_abs_warp_error(true, true) == 0.0


KEY = jax.random.key(0)


@pytest.mark.parametrize("call, match", [
    (lambda: timewarp.random_warps(KEY, 0, 10), "n_trials >= 1.*got 0"),
    (lambda: timewarp.random_warps(KEY, 3, 1), "n_bins >= 2.*got 1"),
    (lambda: timewarp.random_warps(KEY, 3, 10, max_shift=-1.0), "max_shift.*>= 0, got -1.0"),
    (lambda: timewarp.random_warps(KEY, 3, 10, min_slope=1.0), r"min_slope must be in \(0, 1\)"),
    (lambda: timewarp.make_template(KEY, 10, 0), "n_latents >= 1.*got 0"),
    (lambda: timewarp.make_warped_trials(KEY, 2, n_neurons=0), "n_neurons >= 1"),
    (lambda: timewarp.make_warped_trials(KEY, 2, bin_size=0.0), "bin_size.*> 0, got 0.0"),
    (lambda: timewarp.make_warped_trials(KEY, 2, min_rate_hz=50.0), "min_rate_hz < max_rate_hz, got 50.0 and 40"),
    (lambda: timewarp.make_warped_trials(KEY, 2, max_shift=-2.0), "max_shift.*>= 0, got -2.0"),
    (lambda: timewarp.invert_warps(np.array([[0.0, 2.0, 1.0]])), "strictly increasing"),
    (lambda: timewarp.invert_warps(np.arange(5.0)), r"shape \(n_trials, n_bins >= 2\), got \(5,\)"),
    (lambda: timewarp.template_at(np.ones(5), np.ones(2)), r"template must have shape.*got \(5,\)"),
    (lambda: timewarp.unwarp(np.ones((2, 5, 3)), np.ones((3, 5))), r"got \(2, 5, 3\) and \(3, 5\)"),
    (lambda: timewarp.warp_from_attention(np.ones(4)), r"\(..., n_out, n_in\).*got \(4,\)"),
    (lambda: timewarp.warp_from_attention(-np.ones((2, 2))), "non-negative"),
    (lambda: timewarp.warp_from_attention(np.zeros((2, 2)), "mean"), "all-zero weights"),
    (lambda: timewarp.warp_from_attention(np.ones((2, 2)), "median"), "method must be 'argmax' or 'mean'"),
    (lambda: timewarp.mean_abs_warp_error(np.ones(3), np.ones(4)), r"\(3,\) but true has \(4,\)"),
    (lambda: timewarp.mean_abs_warp_error(np.ones(2), np.array([1.0, np.nan])), "NaN or inf"),
])
def test_bad_inputs_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
