import jax.numpy as jnp
import matplotlib as mpl
import numpy as np
import pytest

from workshop_utils import metrics, plotting
from workshop_utils.exercises import check_exercise


def reference(x):
    return {"double": 2 * x, "pair": (x, x + 1)}


CASES = [(jnp.arange(3.0),), (jnp.ones((2, 2)),)]


def test_correct_answer_is_returned_and_praised(capsys):
    mine = lambda x: {"double": x + x, "pair": (x, 1 + x)}
    assert check_exercise(mine, reference, CASES) is mine
    assert capsys.readouterr().out.strip() == "Correct!"


def test_unfinished_stub_falls_back_to_the_reference(capsys):
    def stub(x):
        raise NotImplementedError("Exercise: replace this line with your solution")

    assert check_exercise(stub, reference, CASES) is reference
    out = capsys.readouterr().out
    assert "not written yet" in out and "Later cells use the reference solution" in out


def test_wrong_value_is_described(capsys):
    wrong = lambda x: {"double": 3 * x, "pair": (x, x + 1)}
    assert check_exercise(wrong, reference, CASES) is reference
    assert "output['double'] differs from the expected value by up to 2" in capsys.readouterr().out


def test_wrong_shape_and_structure_are_described(capsys):
    check_exercise(lambda x: {"double": 2 * x[:1], "pair": (x, x + 1)}, reference, CASES)
    assert "output['double'] has shape (1,), expected (3,)" in capsys.readouterr().out
    check_exercise(lambda x: {"double": 2 * x, "pair": (x,)}, reference, CASES)
    assert "output['pair'] should be a tuple of 2 items" in capsys.readouterr().out


def test_an_exception_in_the_learners_code_is_reported(capsys):
    assert check_exercise(lambda x: x.nope, reference, CASES) is reference
    assert "raised AttributeError" in capsys.readouterr().out


def test_r_squared_matches_its_definition():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(10, 5))
    pred = y + 0.1 * rng.normal(size=y.shape)
    expected = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert metrics.r_squared(y, pred) == pytest.approx(expected)
    assert metrics.r_squared(y, y) == 1.0
    assert metrics.r_squared(y, np.full_like(y, y.mean())) == pytest.approx(0.0)


@pytest.mark.parametrize("true, pred, message", [
    (np.ones((3, 2)), np.ones((2, 3)), "y_true has shape"),
    (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "y_true contains NaN"),
    (np.ones(4), np.ones(4), "constant"),
    (np.ones(1), np.ones(1), "at least 2"),
])
def test_r_squared_bad_input(true, pred, message):
    with pytest.raises(ValueError, match=message):
        metrics.r_squared(true, pred)


def test_style_sets_small_figures_and_the_colour_blind_palette():
    plotting.use_style()
    assert mpl.rcParams["figure.dpi"] == 80
    assert mpl.rcParams["axes.prop_cycle"].by_key()["color"][0] == plotting.OKABE_ITO[0]
    assert plotting.COLORS["stable"] != plotting.COLORS["unstable"]


def _poisson_nll_by_hand(rates, spikes):
    from math import lgamma, log

    return sum(r - k * log(r) + lgamma(k + 1) if r > 0 else 0.0
               for r, k in zip(np.ravel(rates), np.ravel(spikes)))


def test_poisson_nll_matches_the_formula_with_log_factorial():
    rates = np.array([[0.5, 2.0], [1e-6, 3.0]])
    spikes = np.array([[0, 3], [0, 1]])
    assert metrics.poisson_nll(rates, spikes) == pytest.approx(_poisson_nll_by_hand(rates, spikes), rel=1e-12)


def test_bits_per_spike_matches_its_definition_on_a_hand_made_case():
    spikes = np.array([[[0, 2], [1, 0]], [[3, 1], [0, 1]]])        # (trials, time, neurons)
    rates = np.array([[[0.2, 1.5], [0.9, 0.3]], [[2.5, 1.0], [0.1, 0.8]]])
    null = np.broadcast_to(spikes.reshape(-1, 2).mean(0), spikes.shape)
    expected = (_poisson_nll_by_hand(null, spikes) - _poisson_nll_by_hand(rates, spikes)) / spikes.sum() / np.log(2)
    assert metrics.bits_per_spike(rates, spikes) == pytest.approx(expected, rel=1e-12)


def test_bits_per_spike_is_zero_for_the_null_model_and_positive_for_the_truth():
    rng = np.random.default_rng(1)
    true_rates = np.exp(rng.normal(-1, 1, size=(50, 20, 8)))
    spikes = rng.poisson(true_rates)
    null = np.broadcast_to(spikes.reshape(-1, 8).mean(0), spikes.shape)
    assert metrics.bits_per_spike(null, spikes) == pytest.approx(0.0, abs=1e-12)
    assert metrics.bits_per_spike(true_rates, spikes) > 0.2


def test_bits_per_spike_with_a_silent_neuron_and_rates_near_zero():
    spikes = np.array([[1, 0], [2, 0], [0, 0]])                     # neuron 2 never spikes
    rates = np.array([[1.0, 1e-9], [2.0, 1e-9], [1e-9, 1e-9]])      # and the model says so
    value = metrics.bits_per_spike(rates, spikes)
    assert np.isfinite(value) and value > 0
    null = np.broadcast_to(spikes.mean(0), spikes.shape)
    expected = (_poisson_nll_by_hand(null, spikes) - _poisson_nll_by_hand(rates, spikes)) / 3 / np.log(2)
    assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("rates, spikes, message", [
    (np.array([1.0, 0.0]), np.array([1, 0]), "rates must be > 0"),
    (np.array([1.0, -1.0]), np.array([1, 0]), "rates must be > 0"),
    (np.array([1.0, np.nan]), np.array([1, 0]), "rates contains NaN"),
    (np.ones((2, 3)), np.ones((3, 2)), "rates has shape"),
    (np.ones(3), np.array([1, -1, 0]), "non-negative"),
    (np.ones(3), np.array([1.0, 0.5, 0.0]), "whole-number"),
    (np.ones(3), np.zeros(3), "no spike at all"),
])
def test_bits_per_spike_bad_input(rates, spikes, message):
    with pytest.raises(ValueError, match=message):
        metrics.bits_per_spike(rates, spikes)
