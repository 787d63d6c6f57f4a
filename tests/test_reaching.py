import jax
import numpy as np
import pytest

from workshop_utils import decoding, reaching, smoothing


@pytest.fixture(scope="module")
def sessions():
    return reaching.reaching_sessions(0)


@pytest.fixture(scope="module")
def clean():
    """No velocity noise, no LFP noise: the ground-truth maps hold exactly."""
    return reaching.reaching_sessions(1, n_sessions=3, velocity_noise=0.0, lfp_noise_uv=0.0)


def test_defaults_give_twelve_data_limited_sessions_with_their_own_neurons(sessions):
    assert len(sessions) == 12
    neurons = [s.n_neurons for s in sessions]
    assert all(20 <= n <= 60 for n in neurons) and len(set(neurons)) > 3
    for i, s in enumerate(sessions):
        assert s.session == i and s.bin_size == 0.01 and s.n_bins == 80
        counts = np.bincount(s.conditions)
        assert len(counts) == 8 and len(set(counts)) == 1 and 3 <= counts[0] <= 6
        assert np.all(np.diff(s.conditions) >= 0)                     # condition by condition
        assert s.spikes.dtype == np.int32 and s.spikes.shape == s.rates.shape
        assert s.latents.shape == (s.n_trials, 80, reaching.N_LATENTS)
        assert s.velocity.shape == (s.n_trials, 80, 2) and s.lfp.shape == (s.n_trials, 80)
        assert s.loadings.shape == (reaching.N_LATENTS, s.n_neurons)


def test_rates_are_realistic_and_follow_the_sessions_own_tuning(sessions):
    for s in sessions:
        hz = s.rates / s.bin_size
        assert hz.min() >= 2.0 and hz.max() <= 60.0
        assert 5 < hz.mean() < 40
        drive = s.baselines + s.latents.astype(float) @ s.loadings
        np.testing.assert_allclose(s.rates, (2.0 + 58.0 / (1 + np.exp(-drive))) * s.bin_size, rtol=1e-5)
    assert not np.allclose(sessions[0].loadings[:, :20], sessions[1].loadings[:, :20])
    spikes = np.concatenate([s.spikes.ravel() for s in sessions])
    rates = np.concatenate([s.rates.ravel() for s in sessions])
    assert spikes.mean() == pytest.approx(rates.mean(), rel=0.02)            # Poisson counts
    assert spikes.var() == pytest.approx(rates.mean() + rates.var(), rel=0.03)


def test_velocity_is_one_fixed_readout_of_the_delayed_latents(clean, sessions):
    for s in clean:
        np.testing.assert_array_equal(s.velocity_readout, clean[0].velocity_readout)
        assert s.velocity_delay_bins == 10
        delayed = s.latents[:, np.maximum(np.arange(s.n_bins) - 10, 0)]
        np.testing.assert_allclose(s.velocity, delayed @ s.velocity_readout.T, atol=1e-4)
    noisy = sessions[0]
    delayed = noisy.latents[:, np.maximum(np.arange(noisy.n_bins) - 10, 0)]
    residual = noisy.velocity - delayed @ noisy.velocity_readout.T
    assert residual.std() == pytest.approx(1.0, rel=0.05) and abs(residual.mean()) < 0.05


def test_reaches_are_straight_with_a_bell_shaped_speed(clean):
    s = clean[0]
    speed = np.linalg.norm(s.velocity, axis=-1)
    rest = int(round((0.2 + 0.1) / s.bin_size))                    # onset of the latents + delay
    assert np.all(speed[:, :rest + 1] < 1e-4)                      # still before the reach
    mean_speed = speed.mean(axis=0)
    peak = int(np.argmax(mean_speed))
    assert rest < peak < rest + 25
    assert np.all(np.diff(mean_speed[rest:peak + 1]) > 0) and np.all(np.diff(mean_speed[peak:rest + 40]) < 0)
    assert mean_speed[peak] == pytest.approx(40.0, rel=0.1)
    angle = np.arctan2(s.velocity[:, peak, 1], s.velocity[:, peak, 0])
    error = np.angle(np.exp(1j * (angle - 2 * np.pi * s.conditions / 8)))
    assert np.all(np.abs(np.rad2deg(error)) < 20)
    np.testing.assert_allclose(angle, np.angle(np.exp(1j * s.directions)), atol=1e-3)


def test_sessions_share_one_latent_system(clean):
    a, b = clean[0], clean[1]
    rot = slice(0, 7)                              # planes and CIS: set by the condition alone (+ trial noise)
    mean_a = np.stack([a.latents[a.conditions == c, :, rot].mean(0) for c in range(8)])
    mean_b = np.stack([b.latents[b.conditions == c, :, rot].mean(0) for c in range(8)])
    assert np.corrcoef(mean_a.ravel(), mean_b.ravel())[0, 1] > 0.95
    np.testing.assert_allclose(a.latents[:, :, reaching.CIS], b.latents[:1, :, reaching.CIS].repeat(a.n_trials, 0))


def test_the_lfp_carries_the_latent_oscillation_and_so_do_the_rates(clean, sessions):
    s = clean[0]
    np.testing.assert_allclose(s.lfp, 20.0 * s.latents[..., 7] - 30.0 * s.latents[..., 6], atol=1e-3)
    beta = s.latents[..., 7:9]
    amplitude = np.linalg.norm(beta, axis=-1)
    moving = int(round((0.2 + 0.15) / s.bin_size))                 # CIS peak: beta suppressed by 80%
    np.testing.assert_allclose(amplitude[:, moving] / amplitude[:, 0], 0.2, rtol=1e-4)
    # The LFP's spectrum peaks at 15 Hz despite its noise.
    noisy = sessions[0]
    lfp = noisy.lfp - noisy.lfp.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(lfp, axis=1)) ** 2).mean(0)
    freqs = np.fft.rfftfreq(noisy.n_bins, noisy.bin_size)
    beta_bin = int(np.argmin(np.abs(freqs - 15)))
    assert power[beta_bin] > 3 * np.median(power[(freqs > 25)])
    # Each neuron's log-odds loads on the oscillator by beta_modulation (1.5) x U(0.5, 1.5).
    size = np.linalg.norm(noisy.loadings[7:9], axis=0)
    assert np.all((size >= 0.75) & (size <= 2.25))


def test_movement_onset_resets_the_rhythm_with_a_jitter():
    """At movement onset the oscillator's phase is N(0, 30 deg^2) in every condition; with
    beta_phase_jitter_deg=None it is uniform, and every other draw is the same."""
    locked = reaching.reaching_sessions(2, n_sessions=4)
    free = reaching.reaching_sessions(2, n_sessions=4, beta_phase_jitter_deg=None)
    for jitter, sessions in ((30.0, locked), (None, free)):
        onset = int(round(0.2 / sessions[0].bin_size))
        phase = np.concatenate([np.angle(s.latents[:, onset, 7] + 1j * s.latents[:, onset, 8]) for s in sessions])
        conditions = np.concatenate([s.conditions for s in sessions])
        resultant = np.abs(np.mean(np.exp(1j * phase)))
        if jitter is None:
            assert resultant < 0.2                                  # uniform: no preferred phase
        else:
            circular_std = np.sqrt(-2 * np.log(resultant))
            assert 0.8 * np.deg2rad(jitter) < circular_std < 1.2 * np.deg2rad(jitter)
            for c in range(8):                                      # near 0 in every direction
                assert abs(np.angle(np.mean(np.exp(1j * phase[conditions == c])))) < 0.35
    for a, b in zip(locked, free):
        np.testing.assert_array_equal(a.latents[..., :7], b.latents[..., :7])
        np.testing.assert_allclose(np.linalg.norm(a.latents[..., 7:], axis=-1),
                                   np.linalg.norm(b.latents[..., 7:], axis=-1), rtol=1e-5)


def test_one_session_alone_is_data_limited_but_its_true_rates_decode_well(sessions):
    lag = decoding.lag_in_bins(decoding.PAPER_LAG_S, 0.01)
    smoothed = [decoding.decode(smoothing.gaussian_smooth(s.spikes, 3.0), s.velocity, lag).r2 for s in sessions]
    truth = [decoding.decode(s.rates, s.velocity, lag).r2 for s in sessions]
    assert 0.05 < np.median(smoothed) < 0.4
    assert np.median(truth) > 0.9 and min(truth) > 0.75   # the rhythm in the rates costs a little


def test_deterministic_given_the_key():
    a = reaching.reaching_sessions(3, n_sessions=2)
    b = reaching.reaching_sessions(jax.random.key(3), n_sessions=2)
    c = reaching.reaching_sessions(4, n_sessions=2)
    for x, y in zip(a, b):
        for name in ("spikes", "rates", "latents", "velocity", "lfp", "loadings"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name))
    assert a[0].spikes.shape != c[0].spikes.shape or not np.array_equal(a[0].spikes, c[0].spikes)


def test_options_are_honoured():
    s = reaching.reaching_sessions(0, n_sessions=1, n_conditions=12, trials_per_condition=2, neurons=(33, 33),
                                   n_bins=50, bin_size=0.02)[0]
    assert s.spikes.shape == (24, 50, 33) and s.bin_size == 0.02 and s.velocity_delay_bins == 5
    np.testing.assert_allclose(s.times[:3], [0, 0.02, 0.04])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_sessions=0), "n_sessions"),
    (dict(n_conditions=1), "n_conditions"),
    (dict(trials_per_condition=(5, 3)), "trials_per_condition"),
    (dict(trials_per_condition=0), "trials_per_condition"),
    (dict(neurons=(0, 10)), "neurons"),
    (dict(neurons=2.5), "neurons"),
    (dict(bin_size=-0.01), "bin_size"),
    (dict(beta_hz=60.0), "Nyquist"),
    (dict(baseline_hz=(1.0, 10.0)), "baseline_hz"),
    (dict(min_rate_hz=70.0), "min_rate_hz"),
    (dict(velocity_delay_s=1.0), "velocity_delay_s"),
    (dict(onset_s=2.0), "onset_s"),
    (dict(beta_suppression=1.5), "beta_suppression"),
    (dict(beta_phase_jitter_deg=-5.0), "beta_phase_jitter_deg"),
    (dict(loading_scale=float("nan")), "loading_scale"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        reaching.reaching_sessions(0, n_sessions=kwargs.pop("n_sessions", 1), **kwargs)


def test_bad_keys_and_inconsistent_sessions_are_refused(clean):
    with pytest.raises(ValueError, match="seed must be >= 0"):
        reaching.reaching_sessions(-1, n_sessions=1)
    s = clean[0]
    with pytest.raises(ValueError, match="velocity has shape"):
        reaching.ReachSession(s.spikes, s.rates, s.latents, s.velocity[:, :-1], s.lfp, s.conditions, s.directions,
                              s.loadings, s.baselines, s.velocity_readout, 10, 0.01)


def test_non_numbers_are_refused_clearly():
    with pytest.raises(ValueError, match="beta_hz must be a finite number > 0, got 'fast'"):
        reaching.reaching_sessions(0, n_sessions=1, beta_hz="fast")
    with pytest.raises(ValueError, match="baseline_hz must be a range"):
        reaching.reaching_sessions(0, n_sessions=1, baseline_hz=(1.0, 2.0, 3.0))
