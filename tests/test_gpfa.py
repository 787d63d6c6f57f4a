import sys

import numpy as np
import pytest

from workshop_utils import gpfa


def two_latent_counts(seed=0, n_trials=12, n_bins=25, n_neurons=10):
    """Poisson counts driven by two smooth latents (trials, time, 2) through exp of a loading."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_bins)
    phase = rng.uniform(0, 2 * np.pi, (n_trials, 1, 1))
    latents = np.concatenate([np.sin(2 * np.pi * t[None, :, None] + phase),
                              np.cos(3 * np.pi * t[None, :, None] + 2 * phase)], axis=-1)
    loadings = rng.normal(0, 0.7, (2, n_neurons))
    return rng.poisson(np.exp(latents @ loadings + np.log(1.5))), latents


def test_spike_trains_sit_inside_their_bins_and_rebin_to_the_counts():
    pytest.importorskip("neo")
    pytest.importorskip("quantities")
    counts = np.array([[[0, 3], [2, 0], [1, 1]]])                    # (1 trial, 3 bins, 2 neurons)
    trains = gpfa.to_spiketrains(counts, 0.01)
    assert len(trains) == 1 and len(trains[0]) == 2
    times = trains[0][0].rescale("s").magnitude
    np.testing.assert_allclose(times, [0.01 + 0.01 / 3, 0.01 + 0.02 / 3, 0.025])
    np.testing.assert_allclose(trains[0][1].rescale("s").magnitude, [0.0025, 0.005, 0.0075, 0.025])
    assert float(trains[0][0].t_stop.rescale("s")) == pytest.approx(0.03)
    for train, column in zip(trains[0], counts[0].T):
        edges = np.arange(4) * 0.01
        np.testing.assert_array_equal(np.histogram(train.rescale("s").magnitude, edges)[0], column)


@pytest.mark.filterwarnings("ignore:The 'copy' argument in Quantity is deprecated")
def test_elephant_rebins_our_trains_to_the_same_counts():
    pytest.importorskip("elephant")
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain

    counts, _ = two_latent_counts()
    trains = gpfa.to_spiketrains(counts, 0.02)
    for trial in (0, 7):
        binned = BinnedSpikeTrain(trains[trial], bin_size=0.02 * pq.s).to_array()
        np.testing.assert_array_equal(binned, counts[trial].T)


def test_gpfa_latents_are_on_our_bins_and_carry_the_true_latents():
    pytest.importorskip("elephant")
    pytest.importorskip("sklearn")
    counts, truth = two_latent_counts()
    out = gpfa.latents(counts, 0.02, 2, em_max_iters=5)
    assert out.shape == (12, 25, 2) and np.all(np.isfinite(out))
    design = np.c_[out.reshape(-1, 2), np.ones(out.shape[0] * out.shape[1])]
    fit = design @ np.linalg.lstsq(design, truth.reshape(-1, 2), rcond=None)[0]
    r2 = 1 - ((fit - truth.reshape(-1, 2)) ** 2).sum(0) / ((truth.reshape(-1, 2) - truth.mean((0, 1))) ** 2).sum(0)
    assert np.all(r2 > 0.7)
    np.testing.assert_allclose(gpfa.latents(counts, 0.02, 2, em_max_iters=5), out)    # deterministic


def test_a_missing_elephant_is_reported_clearly(monkeypatch):
    counts, _ = two_latent_counts()
    monkeypatch.setitem(sys.modules, "elephant.gpfa", None)
    with pytest.raises(ImportError, match="pip install elephant"):
        gpfa.latents(counts, 0.02, 2)


@pytest.mark.parametrize("kwargs, match", [
    (dict(spikes=-np.ones((2, 5, 3))), "non-negative whole-number"),
    (dict(spikes=np.ones((5, 3))), r"\(trials, time, neurons\)"),
    (dict(bin_size=0.0), "bin_size"),
    (dict(n_latents=11), r"n_latents must be a whole number in \[1, 10\]"),
    (dict(n_latents=0), "n_latents"),
    (dict(em_max_iters=0), "em_max_iters"),
    (dict(tau_init_s=-1.0), "tau_init_s"),
])
def test_bad_inputs_are_named(kwargs, match):
    counts, _ = two_latent_counts()
    args = dict(spikes=counts, bin_size=0.02, n_latents=2) | kwargs
    with pytest.raises(ValueError, match=match):
        gpfa.latents(**args)
