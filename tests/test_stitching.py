import dataclasses

import numpy as np
import pytest

from workshop_utils import metrics, reaching, smoothing, stitching


@dataclasses.dataclass
class Session:
    spikes: np.ndarray
    conditions: np.ndarray
    bin_size: float = 0.01


def toy_sessions(neurons=(5, 7, 4), n_conditions=3, per_condition=2, n_bins=10, seed=0):
    rng = np.random.default_rng(seed)
    conditions = np.repeat(np.arange(n_conditions), per_condition)
    return [Session(rng.poisson(1.0, (len(conditions), n_bins, n)), conditions) for n in neurons]


def known_mixing(seed=0, neurons=(6, 9, 4, 12), n_conditions=5, n_bins=30, k=3):
    """Condition-averaged rates that are exactly latents @ M_s + mean_s, latents (C, T, k)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_bins)
    latents = np.stack([np.stack([np.sin(2 * np.pi * (j + 1) * t + c) * (c + 1) for j in range(k)], -1)
                        for c in range(n_conditions)])
    mixing = [rng.normal(size=(k, n)) for n in neurons]
    means = [rng.uniform(0.1, 1.0, n) for n in neurons]
    return latents, [latents @ m + b for m, b in zip(mixing, means)], mixing, means


@pytest.fixture(scope="module")
def reach():
    return reaching.reaching_sessions(0, n_sessions=6)


def test_pcr_recovers_a_known_mixing_exactly():
    latents, averages, mixing, means = known_mixing()
    pcr = stitching.pcr_from_averages(averages, 3, alpha=0.0)
    scores = pcr.scores.reshape(-1, 3)
    assert pcr.explained_variance.sum() == pytest.approx(1.0)           # the data have rank 3
    assert np.all(np.diff(pcr.explained_variance) <= 0)
    centred = latents.reshape(-1, 3) - latents.reshape(-1, 3).mean(0)
    # The shared components span exactly the latents' space ...
    residual = centred - scores @ np.linalg.lstsq(scores, centred, rcond=None)[0]
    assert np.abs(residual).max() < 1e-9
    for s, (avg, mean) in enumerate(zip(averages, means)):
        # ... every session's read-in maps its own neurons onto those same components ...
        np.testing.assert_allclose(pcr.project(s, avg), pcr.scores, atol=1e-8)
        np.testing.assert_allclose(pcr.bias[s], mean + mixing[s].T @ latents.reshape(-1, 3).mean(0), atol=1e-12)
        # ... and its readout, the pseudo-inverse, gives its rates back.
        np.testing.assert_allclose(pcr.readout[s], np.linalg.pinv(pcr.read_in[s]))
        np.testing.assert_allclose(pcr.reconstruct(s, pcr.scores), avg, atol=1e-8)
        assert pcr.read_in[s].shape == (avg.shape[-1], 3) and pcr.readout[s].shape == (3, avg.shape[-1])


def test_components_are_the_principal_components_of_the_concatenation():
    _, averages, _, _ = known_mixing(seed=1, k=4)
    rng = np.random.default_rng(1)
    noisy = [a + 0.1 * rng.normal(size=a.shape) for a in averages]
    pcr = stitching.pcr_from_averages(noisy, 2)
    stacked = np.concatenate([a.reshape(-1, a.shape[-1]) for a in noisy], axis=1)
    centred = stacked - stacked.mean(0)
    eigvals, eigvecs = np.linalg.eigh(centred.T @ centred)
    top = centred @ eigvecs[:, ::-1][:, :2]
    for j in range(2):
        assert abs(np.corrcoef(top[:, j], pcr.scores.reshape(-1, 2)[:, j])[0, 1]) == pytest.approx(1.0)
    np.testing.assert_allclose(pcr.explained_variance, eigvals[::-1][:2] / eigvals.sum())


def test_ridge_shrinks_the_read_in():
    _, averages, _, _ = known_mixing()
    plain = stitching.pcr_from_averages(averages, 3, alpha=0.0)
    ridged = stitching.pcr_from_averages(averages, 3, alpha=1.0)
    for a, b in zip(plain.read_in, ridged.read_in):
        assert np.linalg.norm(b) < 0.9 * np.linalg.norm(a)


def test_pcr_on_reaching_sessions_finds_the_shared_latents(reach):
    pcr = stitching.pcr_init(reach, 8)
    assert pcr.scores.shape == (8, 80, 8)
    np.testing.assert_array_equal(pcr.conditions, np.arange(8))
    scores = pcr.scores.reshape(-1, 8)
    for s, session in enumerate(reach):
        avg = stitching.condition_averages(smoothing.gaussian_smooth(session.spikes, 2.0), session.conditions)
        assert metrics.r_squared(scores, pcr.project(s, avg).reshape(-1, 8)) > 0.6
        np.testing.assert_allclose(pcr.bias[s], avg.reshape(-1, avg.shape[-1]).mean(0))
    # The condition-averaged rotational latents and CIS are linear in the shared scores.
    latents = stitching.condition_averages(reach[0].latents, reach[0].conditions)[..., :7].reshape(-1, 7)
    design = np.c_[scores, np.ones(len(scores))]
    fit = design @ np.linalg.lstsq(design, latents, rcond=None)[0]
    assert metrics.r_squared(latents, fit) > 0.9


def test_pcr_init_is_smoothing_then_averages():
    sessions = toy_sessions()
    direct = stitching.pcr_init(sessions, 2, smooth_s=0.0)
    by_hand = stitching.pcr_from_averages(
        [stitching.condition_averages(s.spikes, s.conditions) for s in sessions], 2)
    np.testing.assert_allclose(direct.scores, by_hand.scores)
    smoothed = stitching.pcr_init(sessions, 2, smooth_s=0.03)
    by_hand = stitching.pcr_from_averages([stitching.condition_averages(
        smoothing.gaussian_smooth(s.spikes, 3.0), s.conditions) for s in sessions], 2)
    np.testing.assert_allclose(smoothed.read_in[1], by_hand.read_in[1])


def test_condition_averages():
    x = np.arange(24, dtype=float).reshape(4, 3, 2)
    out = stitching.condition_averages(x, [1, 0, 1, 0])
    np.testing.assert_allclose(out[0], (x[1] + x[3]) / 2)
    np.testing.assert_allclose(stitching.condition_averages(x, [1, 0, 1, 0], labels=[1, 0])[0], (x[0] + x[2]) / 2)
    with pytest.raises(ValueError, match=r"conditions \[2\] have no trial"):
        stitching.condition_averages(x, [1, 0, 1, 0], labels=[0, 1, 2])
    with pytest.raises(ValueError, match="one label per trial"):
        stitching.condition_averages(x, [1, 0])


def test_session_layout(reach):
    layout = stitching.check_sessions(reach)
    assert layout.n_sessions == 6 and layout.n_bins == 80 and layout.bin_size == 0.01
    np.testing.assert_array_equal(layout.conditions, np.arange(8))
    assert layout.n_neurons == tuple(s.n_neurons for s in reach)
    assert layout.n_trials == tuple(s.n_trials for s in reach)


def test_mismatched_sessions_are_named():
    base = toy_sessions()
    other_bin = toy_sessions()
    other_bin[2].bin_size = 0.02
    with pytest.raises(ValueError, match=r"session 2 has bin_size 0.02 s but session 0 has 0.01 s"):
        stitching.check_sessions(other_bin)
    with pytest.raises(ValueError, match="session 1 has trials of 12 bins but session 0 has 10"):
        stitching.check_sessions([base[0], toy_sessions(n_bins=12)[1]])
    empty = Session(np.zeros((0, 10, 5), int), np.zeros(0, int))
    with pytest.raises(ValueError, match="session 1 has no trials"):
        stitching.check_sessions([base[0], empty])
    fewer = toy_sessions(n_conditions=2)[0]
    with pytest.raises(ValueError, match=r"session 1 has conditions .* lacks \[2\] and has extra \[\]"):
        stitching.check_sessions([base[0], fewer])
    relabelled = Session(base[1].spikes, base[1].conditions + 5)
    with pytest.raises(ValueError, match=r"lacks \[0, 1, 2\] and has extra \[5, 6, 7\]"):
        stitching.pcr_init([base[0], relabelled], 2)
    with pytest.raises(ValueError, match="session 0: conditions must be one label per trial"):
        stitching.check_sessions([Session(base[0].spikes, base[0].conditions[:-1])])
    with pytest.raises(ValueError, match="session 0: spikes must be finite, non-negative whole-number"):
        stitching.check_sessions([Session(base[0].spikes + 0.5, base[0].conditions)])
    with pytest.raises(ValueError, match=r"session 0: spikes must be \(trials, time, neurons\)"):
        stitching.check_sessions([Session(base[0].spikes[0], base[0].conditions)])
    with pytest.raises(ValueError, match="session 0: bin_size"):
        stitching.check_sessions([Session(base[0].spikes, base[0].conditions, -1.0)])
    with pytest.raises(ValueError, match="sessions is empty"):
        stitching.check_sessions([])
    with pytest.raises(TypeError, match="session 0 .* lacks spikes, conditions, bin_size"):
        stitching.check_sessions([np.zeros((2, 3, 4))])
    with pytest.raises(TypeError, match="list of sessions"):
        stitching.check_sessions(base[0])


def test_read_ins_must_match_each_sessions_neurons():
    sessions = toy_sessions()
    pcr = stitching.pcr_init(sessions, 2)
    assert stitching.check_read_ins(sessions, pcr.read_in) == 2
    wrong = list(pcr.read_in)
    wrong[1] = np.zeros((6, 2))
    with pytest.raises(ValueError, match=r"read_in\[1\] has shape \(6, 2\) but session 1 has 7 neurons"):
        stitching.check_read_ins(sessions, wrong)
    wrong[1] = np.zeros((7, 3))
    with pytest.raises(ValueError, match=r"read_in\[1\] maps to 3 factors but read_in\[0\] to 2"):
        stitching.check_read_ins(sessions, wrong)
    with pytest.raises(ValueError, match="one .* array per session \\(3\\), got a list of 2"):
        stitching.check_read_ins(sessions, pcr.read_in[:2])
    with pytest.raises(ValueError, match="session 0 has 5 neurons"):
        pcr.project(0, np.zeros((4, 10, 7)))
    with pytest.raises(ValueError, match="take 2 factors"):
        pcr.reconstruct(1, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="session must be an index"):
        pcr.project(3, np.zeros((10, 5)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_factors=0), "n_factors"), (dict(n_factors=17), r"n_factors must be a whole number in \[1, 16\]"),
    (dict(n_factors=2.0), "n_factors"), (dict(n_factors=2, alpha=-1.0), "alpha"),
    (dict(n_factors=2, smooth_s=-0.01), "smooth_s"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        stitching.pcr_init(toy_sessions(), **kwargs)


def test_bad_averages_are_named():
    _, averages, _, _ = known_mixing()
    with pytest.raises(ValueError, match=r"averages\[1\] has \(5, 29\)"):
        stitching.pcr_from_averages([averages[0], averages[1][:, :-1]], 2)
    with pytest.raises(ValueError, match=r"averages\[0\] contains NaN"):
        stitching.pcr_from_averages([averages[0] * np.nan], 2)
    with pytest.raises(ValueError, match="non-empty list"):
        stitching.pcr_from_averages([], 2)
    with pytest.raises(ValueError, match="conditions must label the 5 rows"):
        stitching.pcr_from_averages(averages, 2, conditions=[0, 1])
