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
