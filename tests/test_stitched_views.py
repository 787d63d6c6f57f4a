import dataclasses

import matplotlib.pyplot as plt
import numpy as np
import pytest
from flax import nnx

from workshop_utils import lfads, stitched_lfads, stitched_views
from workshop_utils.plotting import OKABE_ITO


@dataclasses.dataclass
class Session:
    spikes: np.ndarray
    conditions: np.ndarray
    bin_size: float = 0.01


# ------------------------------------------------------------------------- hand positions
def test_constant_velocity_gives_a_straight_line_at_that_speed():
    v = np.zeros((2, 50, 2))
    v[0, :, 0] = 10.0                      # 10 cm/s in x for 0.5 s
    v[1, :, 1] = -4.0
    pos = stitched_views.hand_positions(v, 0.01)
    assert pos.shape == v.shape
    np.testing.assert_allclose(pos[0, :, 0], 10.0 * 0.01 * np.arange(1, 51))
    np.testing.assert_allclose(pos[0, -1], [5.0, 0.0])
    np.testing.assert_allclose(pos[1, -1], [0.0, -2.0])


def test_nan_bins_of_a_lagged_decoder_count_as_a_still_hand():
    v = np.full((1, 10, 2), 3.0)
    v[:, :4] = np.nan
    pos = stitched_views.hand_positions(v, 0.1)
    np.testing.assert_allclose(pos[0, :4], 0.0)
    np.testing.assert_allclose(pos[0, -1], [6 * 0.3, 6 * 0.3])


@pytest.mark.parametrize("velocity, bin_size, message", [
    (np.zeros((10, 2)), 0.01, r"velocity must be a non-empty array \(trials, time, dims\), got shape \(10, 2\)"),
    (np.zeros((1, 0, 2)), 0.01, "non-empty"),
    (np.full((1, 3, 2), np.inf), 0.01, "velocity contains inf"),
    (np.zeros((1, 3, 2)), 0.0, "bin_size must be a positive number of seconds, got 0.0"),
    (np.zeros((1, 3, 2)), True, "bin_size"),
])
def test_hand_positions_bad_input(velocity, bin_size, message):
    with pytest.raises(ValueError, match=message):
        stitched_views.hand_positions(velocity, bin_size)


# ------------------------------------------------------------------------------- figures
def test_condition_colors_follow_the_sorted_labels():
    assert stitched_views.condition_colors([3, 1, 3, 7]) == [OKABE_ITO[1], OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2]]
    with pytest.raises(ValueError, match="9 conditions but only 8 colours"):
        stitched_views.condition_colors(np.arange(9))


def test_reach_panels_draw_one_panel_per_method_with_shared_limits():
    rng = np.random.default_rng(0)
    conditions = np.repeat(np.arange(4), 2)
    panels = {f"method {k}": np.cumsum(rng.normal(size=(8, 20, 2)), axis=1) * (k + 1) for k in range(3)}
    fig = stitched_views.reach_panels(panels, conditions, suptitle="test")
    fig.canvas.draw()                                  # equal aspect on shared axes must render
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == list(panels)
    assert len({ax.get_xlim() for ax in axes}) == 1 and len({ax.get_ylim() for ax in axes}) == 1
    assert len(axes[0].lines) == 8
    plt.close(fig)
    with pytest.raises(ValueError, match="panels is empty"):
        stitched_views.reach_panels({}, conditions)


def test_plot_reaches_checks_its_input():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"positions must be \(trials, time, 2\)"):
        stitched_views.plot_reaches(ax, np.zeros((3, 5, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match="conditions has 2 labels but positions 3 trials"):
        stitched_views.plot_reaches(ax, np.zeros((3, 5, 2)), [0, 1])
    plt.close(fig)


def test_stitching_diagram_draws_every_session_with_its_neuron_count():
    rng = np.random.default_rng(1)
    trials = [rng.poisson(0.3, (40, n)) for n in (30, 12, 55)]
    fig = stitched_views.stitching_diagram(trials, [0, 4, 9], n_factors=16, read_in_dim=16)
    fig.canvas.draw()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for s, n in zip((0, 4, 9), (30, 12, 55)):
        assert f"session {s}: {n} neurons" in texts
    assert "shared LFADS core" in texts and "controller" not in texts
    assert len(fig.axes[0].images) == 3
    plt.close(fig)
    fig = stitched_views.stitching_diagram(trials[:2], controller=True)
    assert "controller" in " ".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


@pytest.mark.parametrize("trials, ids, message", [
    ([np.zeros((5, 3))], None, "2 to 4"),
    ([np.zeros((5, 3)), np.zeros(5)], None, r"trials\[1\] must be one trial's spikes \(time, neurons\)"),
    ([np.zeros((5, 3)), np.zeros((5, 4))], [0], "session_ids has 1 labels for 2 trials"),
])
def test_stitching_diagram_bad_input(trials, ids, message):
    with pytest.raises(ValueError, match=message):
        stitched_views.stitching_diagram(trials, ids)
