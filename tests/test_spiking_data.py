import jax
import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d

from workshop_utils import integrator, spiking_data, vanilla_rnn

N_CONDITIONS, N_REPEATS = 40, 5


@pytest.fixture(scope="module")
def chaotic():
    return spiking_data.chaotic_rnn_spikes(jax.random.key(0), N_CONDITIONS, N_REPEATS)


@pytest.fixture(scope="module")
def pulsed():
    return spiking_data.chaotic_rnn_spikes(jax.random.key(0), N_CONDITIONS, N_REPEATS, pulses=True)


@pytest.fixture(scope="module")
def integ():
    return spiking_data.integrator_spikes(jax.random.key(0), 300)


def test_chaotic_shapes_dtypes_and_layout(chaotic):
    n = N_CONDITIONS * N_REPEATS
    assert chaotic.spikes.shape == chaotic.rates.shape == chaotic.latents.shape == (n, 100, 50)
    assert chaotic.inputs.shape == chaotic.pulses.shape == (n, 100, 1)
    assert chaotic.spikes.dtype == np.int32 and chaotic.rates.dtype == np.float32
    assert (chaotic.n_trials, chaotic.n_bins, chaotic.n_neurons, chaotic.bin_size) == (n, 100, 50, 0.01)
    np.testing.assert_array_equal(chaotic.conditions, np.repeat(np.arange(N_CONDITIONS), N_REPEATS))
    assert not chaotic.inputs.any() and not chaotic.pulses.any()


def test_integrator_shapes_dtypes_and_layout(integ):
    assert integ.spikes.shape == integ.rates.shape == integ.latents.shape == (300, 25, 100)
    assert integ.inputs.shape == integ.pulses.shape == (300, 25, 1)
    assert integ.spikes.dtype == np.int32 and integ.bin_size == integrator.DT == 0.04
    assert set(np.unique(integ.conditions)) == {0, 1}


def test_generators_are_deterministic_given_the_key():
    a = spiking_data.chaotic_rnn_spikes(jax.random.key(3), 6, 2, pulses=True)
    b = spiking_data.chaotic_rnn_spikes(3, 6, 2, pulses=True)          # an int seed is the same key
    c = spiking_data.chaotic_rnn_spikes(jax.random.key(4), 6, 2, pulses=True)
    for name in ("spikes", "rates", "latents", "inputs"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.rates, c.rates) and not np.array_equal(a.spikes, c.spikes)
    d, e = spiking_data.integrator_spikes(7, 20), spiking_data.integrator_spikes(jax.random.key(7), 20)
    np.testing.assert_array_equal(d.spikes, e.spikes)
    np.testing.assert_array_equal(d.inputs, e.inputs)
    assert not np.array_equal(d.inputs, spiking_data.integrator_spikes(8, 20).inputs)


def test_rates_are_in_range_and_spikes_match_them(chaotic, integ):
    for data, top in ((chaotic, 30.0 * 0.01), (integ, 80.0 * 0.04)):
        assert data.rates.min() >= 0 and data.rates.max() <= top + 1e-6
        assert data.rates.max() > 0.9 * top                                  # the range is used
        assert data.spikes.min() >= 0
        assert data.spikes.mean() == pytest.approx(data.rates.mean(), rel=0.02)
        # Poisson: the variance of counts about their rate equals the rate.
        assert np.mean((data.spikes - data.rates) ** 2) == pytest.approx(data.rates.mean(), rel=0.03)


def test_trials_of_a_condition_share_rates_without_pulses(chaotic):
    rates = chaotic.rates.reshape(N_CONDITIONS, N_REPEATS, 100, 50)
    np.testing.assert_array_equal(rates, np.broadcast_to(rates[:, :1], rates.shape))
    assert not np.array_equal(chaotic.spikes[0], chaotic.spikes[1])         # but not spikes
    assert np.abs(rates[0, 0] - rates[1, 0]).mean() > 0.02                  # conditions differ


def test_pulses_lie_in_the_window_and_change_the_trajectory(chaotic, pulsed):
    u = pulsed.inputs[..., 0]
    np.testing.assert_array_equal(pulsed.pulses, pulsed.inputs)
    assert set(np.unique(u)) == {0.0, spiking_data.PULSE_AMPLITUDE}
    on = u > 0
    starts, ends = on.argmax(axis=1), 100 - on[:, ::-1].argmax(axis=1)       # first bin, one past last
    assert np.all(on.sum(axis=1) == 3) and np.all(ends - starts == 3)        # one 3-bin pulse each
    assert starts.min() * 0.01 >= 0.25 - 1e-9 and ends.max() * 0.01 <= 0.75 + 1e-9
    assert starts.min() <= 30 and starts.max() >= 68                         # spread over the window

    before = np.arange(100)[None, :] < starts[:, None]
    after = np.arange(100)[None, :] >= ends[:, None] + 5
    # Before its pulse a trial follows its condition's unpulsed trajectory; afterwards it leaves it.
    np.testing.assert_allclose(pulsed.rates[before], chaotic.rates[before], atol=1e-4)
    change = np.abs(pulsed.rates - chaotic.rates)[after].mean() / chaotic.rates.std()
    assert change > 0.5
    same_condition = pulsed.rates.reshape(N_CONDITIONS, N_REPEATS, 100, 50)
    assert np.abs(same_condition[:, 0, -20:] - same_condition[:, 1, -20:]).mean() > 0.02


def test_chaotic_activity_is_irregular_and_does_not_decay_in_any_condition(chaotic, pulsed):
    for data in (chaotic, pulsed):
        level = data.rates / (30.0 * 0.01)                                   # fraction of max rate
        first, second = level[:, :50].std(axis=1).mean(-1), level[:, 50:].std(axis=1).mean(-1)
        assert second.min() >= spiking_data.MIN_ACTIVITY                    # every condition active
        assert np.median(second) >= 0.08 and np.median(first) >= 0.08
    # Not one shared pattern: at a given time, conditions are spread over the rate range.
    per_condition = chaotic.rates[::N_REPEATS] / 0.3
    assert per_condition.std(axis=0).mean() > 0.15


def test_networks_that_settle_or_cycle_are_passed_over():
    # The first networks drawn for these keys fade out in some conditions or repeat themselves;
    # the selection skips them, and the probe tells the difference.
    faded = 0
    for seed in range(4):
        first = spiking_data.chaotic_rnn_spikes(seed, N_CONDITIONS, 1, select_network=False)
        chosen = spiking_data.chaotic_rnn_spikes(seed, N_CONDITIONS, 1)
        faded += (first.rates[:, 50:] / 0.3).std(axis=1).mean(-1).min() < spiking_data.MIN_ACTIVITY
        assert (chosen.rates[:, 50:] / 0.3).std(axis=1).mean(-1).min() >= spiking_data.MIN_ACTIVITY
        assert not np.array_equal(first.rates, chosen.rates)
    assert faded >= 1


def test_the_probe_flags_a_fixed_point_and_a_cycle_but_not_irregular_activity():
    probe = spiking_data._Probe(np.random.default_rng(0), 3, 0.01)
    t = np.arange(400)[None, :, None] * 0.01
    phases = np.random.default_rng(1).uniform(0, 2 * np.pi, (16, 1, 3))
    cycle = 2 * np.sin(2 * np.pi * t / 0.45 + phases)                     # period 450 ms
    still = np.zeros_like(cycle) + 0.3
    noise = np.random.default_rng(2).standard_normal((16, 400, 3))
    irregular = 8 * gaussian_filter1d(noise, 4.0, axis=1)                 # smooth, never repeating
    flags = probe.looks_chaotic(np.stack([cycle, still, irregular]))
    np.testing.assert_array_equal(flags, [False, False, True])


def test_no_acceptable_network_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(spiking_data, "MAX_NETWORK_DRAWS", 8)
    with pytest.raises(RuntimeError, match="none of 8 random networks of 50 units at gain 0.0"):
        spiking_data.chaotic_rnn_spikes(0, n_conditions=2, trials_per_condition=1, n_bins=20, gain=0.0)


def test_integrator_rates_are_its_hidden_states(integ):
    params, _ = integrator.load_trained()
    hidden, _ = vanilla_rnn.run_batch(params, integ.inputs)
    np.testing.assert_allclose(integ.latents, hidden, atol=1e-6)
    np.testing.assert_allclose(integ.rates, (np.asarray(hidden) + 1) / 2 * 80 * 0.04, rtol=1e-6, atol=1e-6)
    assert np.abs(integ.latents).max() <= 1


def test_integrator_inputs_are_noise_bias_and_pulses(integ):
    pulses = integ.pulses[..., 0]
    n_pulses = (pulses != 0).sum(axis=1)
    assert n_pulses.max() <= 2 and 0.2 < np.mean(n_pulses == 0) < 0.45     # 0, 1 or 2, each ~1/3
    size = 8.0 * integrator.NOISE_STD                                    # the default pulse size
    assert np.all(np.isin(np.round(np.abs(pulses[pulses != 0]) / size, 6), [1.0, 2.0]))
    rest = (integ.inputs - integ.pulses)[..., 0]                         # bias + white noise
    # white noise of 0.25 x the training noise (the default noise_scale) plus a uniform bias
    expected = np.sqrt((0.25 * integrator.NOISE_STD) ** 2 + integrator.BIAS_MAX ** 2 / 3)
    assert rest.std() == pytest.approx(expected, rel=0.05)
    mean = rest.mean(axis=1)
    assert mean[integ.conditions == 1].mean() > 0.008 > -0.008 > mean[integ.conditions == 0].mean()
    no_pulses = spiking_data.integrator_spikes(0, 50, max_pulses=0)
    assert not no_pulses.pulses.any()


def test_split_and_subset_cut_by_trial(chaotic):
    train, valid, test = spiking_data.split(chaotic, (0.8, 0.1, 0.1), jax.random.key(1))
    assert (train.n_trials, valid.n_trials, test.n_trials) == (160, 20, 20)
    again = spiking_data.split(chaotic, (0.8, 0.1, 0.1), 1)[0]
    np.testing.assert_array_equal(train.spikes, again.spikes)
    # No trial twice, and each part carries its own truth.
    rows = np.concatenate([train.spikes, valid.spikes, test.spikes]).reshape(200, -1)
    assert len(np.unique(rows, axis=0)) == 200
    for part in (train, valid, test):
        for i in range(0, part.n_trials, 7):
            c = part.conditions[i]
            np.testing.assert_array_equal(part.rates[i], chaotic.rates[c * N_REPEATS])
    counts = spiking_data.split(chaotic, (150, 30))
    assert [p.n_trials for p in counts] == [150, 30]
    np.testing.assert_array_equal(counts[1].spikes, chaotic.spikes[150:180])   # key=None keeps order
    mask = chaotic.conditions == 3
    one = spiking_data.subset(chaotic, mask)
    assert one.n_trials == N_REPEATS and np.all(one.conditions == 3) and one.bin_size == chaotic.bin_size
    np.testing.assert_array_equal(spiking_data.subset(chaotic, [4, 2]).inputs, chaotic.inputs[[4, 2]])


@pytest.mark.parametrize("call, match", [
    (lambda: spiking_data.chaotic_rnn_spikes(0, n_conditions=0), "n_conditions must be a whole number >= 1"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, trials_per_condition=2.5), "trials_per_condition"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, n_bins=1), "n_bins must be a whole number >= 2"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, bin_size=0.0), "bin_size must be a number > 0"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, bin_size=0.0105), "whole number of Euler steps"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, bin_size=0.04, dt=0.02), "at most tau / 2"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, gain=-1.0), "gain must be a finite number >= 0"),
    (lambda: spiking_data.chaotic_rnn_spikes(0, n_bins=60, pulses=True), "pulses need trials of at least 0.75 s"),
    (lambda: spiking_data.chaotic_rnn_spikes("zero"), "key must be a jax.random key"),
    (lambda: spiking_data.chaotic_rnn_spikes(-1), "seed must be >= 0"),
    (lambda: spiking_data.integrator_spikes(0, 0), "n_trials must be a whole number >= 1"),
    (lambda: spiking_data.integrator_spikes(0, 10, pulse_size=-1.0), "pulse_size"),
    (lambda: spiking_data.integrator_spikes(0, 10, max_pulses=-1), "max_pulses must be a whole number >= 0"),
])
def test_bad_generator_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_splits_and_datasets_raise_clear_errors(chaotic):
    with pytest.raises(ValueError, match="fractions must sum to at most 1"):
        spiking_data.split(chaotic, (0.8, 0.3))
    with pytest.raises(ValueError, match="ask for 250 trials"):
        spiking_data.split(chaotic, (200, 50))
    with pytest.raises(ValueError, match="leave a part with no trial"):
        spiking_data.split(chaotic, (0.999, 0.001))
    with pytest.raises(ValueError, match="positive fractions or trial counts"):
        spiking_data.split(chaotic, (0.5, -0.5))
    with pytest.raises(ValueError, match="outside"):
        spiking_data.subset(chaotic, [0, 200])
    with pytest.raises(ValueError, match="selects no trial"):
        spiking_data.subset(chaotic, [])
    with pytest.raises(TypeError, match="must be a SpikingData"):
        spiking_data.subset(chaotic.spikes, [0])
    with pytest.raises(ValueError, match="rates has shape"):
        spiking_data.SpikingData(chaotic.spikes, chaotic.rates[:, :50], chaotic.latents, chaotic.inputs,
                                 chaotic.conditions, 0.01)
    with pytest.raises(ValueError, match="conditions has shape"):
        spiking_data.SpikingData(chaotic.spikes, chaotic.rates, chaotic.latents, chaotic.inputs,
                                 chaotic.conditions[:3], 0.01)
