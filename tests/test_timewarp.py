import jax
import numpy as np
import pytest

from workshop_utils import timewarp

N_TRIALS, N_BINS, N_NEURONS, N_LATENTS = 200, 60, 20, 5   # n_latents: the default


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
                                  np.broadcast_to(trials.template, (N_TRIALS, N_BINS, N_LATENTS)))


def test_template_is_smooth_and_standardised(trials):
    template = np.asarray(trials.template)
    assert template.shape == (N_BINS, N_LATENTS)
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
    assert spikes.shape == rates.shape == (N_TRIALS, N_BINS, N_NEURONS) and trials.bin_size == timewarp.BIN_SIZE
    assert np.issubdtype(spikes.dtype, np.integer) and spikes.min() >= 0
    rates_hz = rates / trials.bin_size
    assert rates_hz.min() >= 5.0 * (1 - 1e-4) and rates_hz.max() <= 80.0 * (1 + 1e-4)   # the defaults
    want = np.exp(np.asarray(trials.latents) @ np.asarray(trials.loadings).T + np.asarray(trials.baselines))
    np.testing.assert_allclose(rates, want, rtol=1e-5)
    # Law of large numbers: counts average to the rates (about 30k spikes in all, 1.5k per neuron).
    assert spikes.sum() / rates.sum() == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(spikes.sum(axis=(0, 1)) / rates.sum(axis=(0, 1)), 1.0, atol=0.15)


def test_unwarping_with_the_true_warps_aligns_trials_to_the_template(trials):
    aligned = np.asarray(timewarp.unwarp(trials.rates, trials.warps))
    on_template = np.exp(np.asarray(trials.template) @ np.asarray(trials.loadings).T
                         + np.asarray(trials.baselines))
    np.testing.assert_allclose(trials.template_rates, on_template, rtol=1e-5)
    # Exact up to interpolating twice (warp, then unwarp) between bins: a few per cent, and up
    # to ~10% where the template turns fastest.
    np.testing.assert_allclose(aligned, np.broadcast_to(on_template, aligned.shape), rtol=0.15)
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


def test_the_likelihood_aligner_recovers_the_warps_of_the_default_data():
    data = timewarp.make_warped_trials(jax.random.key(4), 60)        # 150 neurons at 5-80 Hz
    found = timewarp.align_by_likelihood(data.spikes, data.template_rates)
    assert found.shape == data.warps.shape
    assert np.all(np.diff(found, axis=1) >= 0)                       # monotonic
    unwarped = timewarp.mean_abs_warp_error(np.tile(np.arange(timewarp.N_BINS), (60, 1)), data.warps)
    error = timewarp.mean_abs_warp_error(found, data.warps)
    assert unwarped > 3.0              # the defaults jitter trials by several bins...
    assert error < 1.0                 # ...and every template bin is recognisable from one trial


def test_the_likelihood_aligner_is_exact_on_noiseless_distinct_bins():
    # Template bin s drives neuron s alone; a trial that repeats or skips bins is read exactly.
    rates = np.full((5, 5), 1e-3) + 20 * np.eye(5)
    path = np.array([0, 0, 1, 3, 3, 3, 4])                      # trial bin t shows template bin path[t]
    spikes = (20 * np.eye(5)[path])[None]                      # (1 trial, 7 bins, 5 neurons)
    found = timewarp.align_by_likelihood(spikes, rates)
    # Template bin 0 sits at trial bins 0-1 (mean 0.5), 1 at 2, 2 is skipped (halfway), 3 at 4, 4 at 6.
    np.testing.assert_allclose(found, [[0.5, 2.0, 3.0, 4.0, 6.0]])


def test_unwarped_trials_align_near_the_identity():
    data = timewarp.make_warped_trials(jax.random.key(6), 20, max_shift=0.0)
    found = timewarp.align_by_likelihood(data.spikes, data.template_rates)
    assert timewarp.mean_abs_warp_error(found, data.warps) < 0.5
    np.testing.assert_array_equal(data.warps, np.tile(np.arange(timewarp.N_BINS), (20, 1)))


def test_the_template_and_neurons_depend_on_the_key_not_the_trial_count():
    few, many = (timewarp.make_warped_trials(jax.random.key(9), n, 30, 10) for n in (3, 40))
    np.testing.assert_array_equal(few.template, many.template)
    np.testing.assert_array_equal(few.loadings, many.loadings)
    other = timewarp.make_warped_trials(jax.random.key(10), 3, 30, 10)
    assert not np.allclose(few.template, other.template)
    legacy_key = jax.random.PRNGKey(9)                           # raw uint32 keys work too
    assert timewarp.make_template(legacy_key, 30).shape == (30, 5)


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
    (lambda: timewarp.make_warped_trials(KEY, 2, min_rate_hz=90.0), "min_rate_hz < max_rate_hz, got 90.0 and 80"),
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
    (lambda: timewarp.make_template(3, 10), "key must be a JAX PRNG key"),
    (lambda: timewarp.make_warped_trials(KEY, 2, template_modes=0), "template_modes >= 1"),
    (lambda: timewarp.align_by_likelihood(np.ones((4, 3)), np.ones((4, 3))), r"spikes must have shape.*got \(4, 3\)"),
    (lambda: timewarp.align_by_likelihood(np.ones((2, 4, 3)), np.ones((4, 5))), r"n_neurons=3.*got \(4, 5\)"),
    (lambda: timewarp.align_by_likelihood(np.ones((2, 4, 3)), np.zeros((4, 3))), "finite and > 0"),
    (lambda: timewarp.align_by_likelihood(-np.ones((2, 4, 3)), np.ones((4, 3))), "non-negative counts"),
    (lambda: timewarp.align_by_likelihood(np.ones((2, 1, 3)), np.ones((4, 3))), "n_bins >= 2"),
])
def test_bad_inputs_are_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
