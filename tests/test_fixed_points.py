import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import pytest
from jax.tree_util import Partial

from workshop_utils import checkpoint, fixed_points
from workshop_utils.fixed_points import FixedPoints, find_fixed_points

# The maps are module-level functions wrapped in Partial with their parameters as leaves, so
# tests that share a map's shapes share its compiled code.
N = 16  # candidates per search
# Adam's first step is as long as the learning rate whatever the gradient, and the cubic map's
# basins are about a unit wide: a smaller first rate keeps each candidate in its own basin.
GENTLE = {"lr_init": 0.1}


def linear(A, b, h):
    """h -> A h + b: one fixed point (I - A)^-1 b, with the eigenvalues of A."""
    return A @ h + b


def cubic(h):
    """x -> 1.5 x - 0.5 x^3: fixed points -1 and +1 (slope 0, stable) and 0 (slope 1.5, unstable)."""
    return 1.5 * h - 0.5 * h**3


def stable_and_saddle(a, h):
    """(x, y) -> (x - a (x^2 - 1), y / 2 + x / 4): a stable point at (1, 1/2) (eigenvalues
    1 - 2a and 1/2) and a saddle at (-1, -1/2) (eigenvalues 1 + 2a and 1/2)."""
    x, y = h
    return jnp.stack([x - a * (x**2 - 1), 0.5 * y + 0.25 * x])


def far_and_near(h):
    """x -> x - x (x - 20) / 20: fixed points at 0 (unstable) and 20 (stable)."""
    return h - h * (h - 20.0) / 20.0


def driven(B, h, u):
    """(h, u) -> h / 2 + B u: the fixed point for input u is 2 B u; dF/du = B."""
    return 0.5 * h + B @ u


def rnn(W, b, h):
    return jnp.tanh(W @ h + b)


def driven_rnn(W, B, h, u):
    return jnp.tanh(W @ h + B @ u)


def random_rnn(seed, gain, d=6):
    """A tanh RNN with random weights (gain / sqrt(d) scaled) and small random biases."""
    key_w, key_b = jax.random.split(jax.random.key(seed))
    return Partial(rnn, gain * jax.random.normal(key_w, (d, d)) / np.sqrt(d), 0.3 * jax.random.normal(key_b, (d,)))


def rotation(radius, angle):
    c, s = np.cos(angle), np.sin(angle)
    return radius * jnp.array([[c, -s], [s, c]])


def uniform(key, low, high, d=1, n=N):
    return jax.random.uniform(jax.random.key(key), (n, d), minval=low, maxval=high)


def central_jacobian(f, x, eps=1e-3):
    """dF/dx by central differences, one column per coordinate."""
    columns = [(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in jnp.eye(len(x))]
    return np.stack([np.asarray(c) for c in columns], axis=1)


@pytest.fixture(scope="module")
def saddle_fps():
    F = Partial(stable_and_saddle, jnp.float32(0.5))
    return F, find_fixed_points(F, uniform(0, -2.0, 2.0, d=2))


# --- finding the points -----------------------------------------------------------------------


def test_cubic_map_has_two_stable_points_and_one_unstable_between():
    fps = find_fixed_points(Partial(cubic), uniform(1, -1.5, 1.5), **GENTLE)
    order = np.argsort(fps.xstar[:, 0])
    np.testing.assert_allclose(fps.xstar[order, 0], [-1, 0, 1], atol=1e-6)
    np.testing.assert_array_equal(fps.is_stable[order], [True, False, True])
    np.testing.assert_allclose(np.abs(fps.eigval_J_xstar[order, 0]), [0, 1.5, 0], atol=1e-5)
    np.testing.assert_array_equal(fps.n_unstable_modes[order], [0, 1, 0])
    assert fps.counts() == {"unique": 3, "stable": 2, "unstable": 1, "unstable_by_modes": {1: 1}}


def test_linear_map_fixed_point_and_eigenvalues_are_exact():
    A = jnp.array([[0.5, 0.3], [-0.2, 0.8]])
    b = jnp.array([1.0, -2.0])
    fps = find_fixed_points(Partial(linear, A, b), uniform(2, -3.0, 3.0, d=2))
    assert len(fps) == 1
    np.testing.assert_allclose(fps.xstar[0], np.linalg.solve(np.eye(2) - A, b), atol=1e-5)
    np.testing.assert_allclose(fps.J_xstar[0], A, atol=1e-6)
    expected = np.linalg.eigvals(np.asarray(A, np.float64))
    np.testing.assert_allclose(np.sort_complex(fps.eigval_J_xstar[0]), np.sort_complex(expected), atol=1e-6)
    assert fps.inputs is None and fps.dF_du is None


def test_nonlinear_map_with_a_stable_point_and_a_saddle(saddle_fps):
    _, fps = saddle_fps
    assert len(fps) == 2
    stable, saddle = fps[fps.is_stable], fps[~fps.is_stable]
    np.testing.assert_allclose(stable.xstar[0], [1.0, 0.5], atol=1e-6)
    np.testing.assert_allclose(saddle.xstar[0], [-1.0, -0.5], atol=1e-6)
    np.testing.assert_allclose(np.abs(stable.eigval_J_xstar[0]), [0.5, 0.0], atol=1e-5)
    np.testing.assert_allclose(np.abs(saddle.eigval_J_xstar[0]), [2.0, 0.5], atol=1e-5)
    assert saddle.n_unstable_modes[0] == 1
    # the unstable direction of the saddle: J v = 2 v with J = [[2, 0], [1/4, 1/2]] -> v ~ (6, 1)
    v = np.real(saddle.eigvec_J_xstar[0][:, 0])
    assert abs(v[0] / v[1]) == pytest.approx(6.0, rel=1e-4)


def test_results_are_sorted_by_q_and_every_q_is_float32_round_off(saddle_fps):
    _, fps = saddle_fps
    assert np.all(np.diff(fps.qstar) >= 0)
    assert np.all(fps.qstar <= 1e-12)


def test_newton_polish_takes_q_from_the_descents_tolerance_to_round_off():
    F = random_rnn(3, gain=0.8)
    x0 = uniform(4, -1.0, 1.0, d=6)
    rough = find_fixed_points(F, x0, tol_q=1e-6, newton_steps=0)
    polished = find_fixed_points(F, x0, tol_q=1e-6)
    assert 1e-10 < rough.qstar.max() < 1e-6                  # where the descent stopped
    assert polished.all_points.qstar.max() < 1e-6
    assert polished.qstar.max() <= 1e-12                     # after three Newton steps
    # q is the definition: 1/2 |h - F(h)|^2
    h = polished.xstar[0]
    assert polished.qstar[0] == pytest.approx(0.5 * float(jnp.sum((h - F(h)) ** 2)), abs=1e-14)


def test_a_candidate_that_starts_on_a_fixed_point_stops_at_once():
    F = Partial(linear, 0.5 * jnp.eye(2), jnp.zeros(2))
    fps = find_fixed_points(F, jnp.zeros((N, 2)))
    assert len(fps) == 1 and fps.n_iters[0] == 0 and fps.qstar[0] == 0


def test_constant_and_scheduled_learning_rates_also_converge():
    for rate in (0.05, lambda i: 0.05 * 0.999**i):
        fps = find_fixed_points(Partial(cubic), uniform(5, 0.9, 1.2), learning_rate=rate)
        np.testing.assert_allclose(fps.xstar[:, 0], [1.0], atol=1e-6)


# --- Jacobians and eigenvectors ---------------------------------------------------------------


def test_jacobians_match_central_differences(saddle_fps):
    F, fps = saddle_fps
    for x, J in zip(fps.xstar, fps.J_xstar):
        np.testing.assert_allclose(J, central_jacobian(F, jnp.asarray(x)), atol=2e-3)


def test_input_jacobian_matches_central_differences_on_an_rnn():
    key_w, key_b = jax.random.split(jax.random.key(6))
    W = 0.9 * jax.random.normal(key_w, (6, 6)) / np.sqrt(6)
    F = Partial(driven_rnn, W, jax.random.normal(key_b, (6, 2)))
    u = jnp.array([0.3, -0.2])
    fps = find_fixed_points(F, uniform(7, -1.0, 1.0, d=6), u)
    x = jnp.asarray(fps.xstar[0])
    np.testing.assert_allclose(fps.J_xstar[0], central_jacobian(lambda h: F(h, u), x), atol=2e-3)
    np.testing.assert_allclose(fps.dF_du[0], central_jacobian(lambda v: F(x, v), u), atol=2e-3)
    assert fps.dF_du.shape == (len(fps), 6, 2)


@pytest.mark.parametrize("radius, stable, n_modes", [(0.99, True, 0), (1.01, False, 2)])
def test_complex_eigenvalues_just_inside_or_outside_the_unit_circle(radius, stable, n_modes):
    A = rotation(radius, 0.7)
    fps = find_fixed_points(Partial(linear, A, jnp.array([0.01, 0.02])), uniform(8, -1.0, 1.0, d=2))
    eig = fps.eigval_J_xstar[0]
    np.testing.assert_allclose(np.abs(eig), [radius, radius], rtol=1e-6)
    np.testing.assert_allclose(sorted(np.angle(eig)), [-0.7, 0.7], atol=1e-6)
    assert fps.is_stable[0] == stable and fps.n_unstable_modes[0] == n_modes


@pytest.mark.parametrize("slow, stable", [(0.999, True), (1.001, False)])
def test_a_real_eigenvalue_just_inside_or_outside_the_unit_circle(slow, stable):
    A = jnp.diag(jnp.array([0.5, slow]))
    fps = find_fixed_points(Partial(linear, A, jnp.array([0.0, 1e-3])), uniform(9, -1.0, 1.0, d=2))
    assert len(fps) == 1
    np.testing.assert_allclose(fps.xstar[0], [0.0, 1e-3 / (1 - slow)], atol=1e-4)
    np.testing.assert_allclose(fps.eigval_J_xstar[0].real, [slow, 0.5], atol=1e-7)  # largest first
    assert fps.is_stable[0] == stable and fps.n_unstable_modes[0] == (0 if stable else 1)


def test_left_and_right_eigenvectors_are_biorthonormal():
    fps = find_fixed_points(random_rnn(10, gain=1.5), uniform(11, -1.0, 1.0, d=6))  # several points
    assert len(fps) >= 2
    for J, lam, R, L in zip(fps.J_xstar, fps.eigval_J_xstar, fps.eigvec_J_xstar, fps.left_eigvec_J_xstar):
        np.testing.assert_allclose(L.conj().T @ R, np.eye(6), atol=1e-6)
        np.testing.assert_allclose(J @ R, R * lam, atol=1e-5)                          # J r = lambda r
        np.testing.assert_allclose(L.conj().T @ J, lam[:, None] * L.conj().T, atol=1e-5)  # l^H J = lambda l^H
        assert np.all(np.diff(np.abs(lam)) <= 1e-12)                                   # largest first


# --- merging, outliers, the slowest N, inputs -------------------------------------------------


def test_tol_unique_merges_points_and_keeps_the_lowest_q():
    x0 = uniform(12, -1.5, 1.5)
    separate = find_fixed_points(Partial(cubic), x0, **GENTLE)
    merged = find_fixed_points(Partial(cubic), x0, tol_unique=5.0, **GENTLE)
    assert len(separate) == 3 and len(merged) == 1 and merged.qstar[0] <= 1e-12
    slowest = np.argmin(merged.all_points.qstar)  # the candidate the descent left lowest
    np.testing.assert_allclose(merged.xstar[0], merged.all_points.xstar[slowest], atol=1e-5)
    assert np.all(merged.all_points.assigned == 0)


def test_all_points_keep_every_candidate_and_say_where_it_went():
    x0 = uniform(13, -1.5, 1.5)
    fps = find_fixed_points(Partial(cubic), x0, **GENTLE)
    every = fps.all_points
    np.testing.assert_array_equal(every.initial_states, x0)
    assert every.xstar.shape == (N, 1) and every.qstar.shape == every.n_iters.shape == (N,)
    np.testing.assert_allclose(every.xstar, fps.xstar[every.assigned], atol=1e-3)
    assert not every.is_outlier.any()


def test_points_far_from_the_candidates_are_outliers():
    x0 = jnp.concatenate([uniform(14, -1.0, 1.0, n=N - 2), jnp.array([[12.0], [14.0]])])
    kept = find_fixed_points(Partial(far_and_near), x0)
    assert sorted(np.round(kept.xstar[:, 0], 4)) == [0.0, 20.0]
    # 20 lies beyond 5 times the candidates' mean distance from their centroid
    centroid = np.mean(x0)
    assert 20 - centroid > 5 * np.mean(np.abs(x0 - centroid))
    dropped = find_fixed_points(Partial(far_and_near), x0, outlier_distance_scale=5.0)
    np.testing.assert_allclose(dropped.xstar[:, 0], [0.0], atol=1e-6)
    np.testing.assert_array_equal(dropped.all_points.is_outlier, [False] * (N - 2) + [True, True])
    np.testing.assert_array_equal(dropped.all_points.assigned[-2:], [-1, -1])
    assert len(find_fixed_points(Partial(far_and_near), x0, outlier_distance_scale=None)) == 2
    nothing = find_fixed_points(Partial(far_and_near), x0, outlier_distance_scale=0.01)
    assert len(nothing) == 0 and nothing.counts()["unique"] == 0 and np.all(nothing.all_points.assigned == -1)


def test_max_n_unique_keeps_the_slowest_points():
    x0 = uniform(15, -1.5, 1.5)
    every = find_fixed_points(Partial(cubic), x0, tol_q=1e-9, newton_steps=0, **GENTLE)  # distinct q values
    two = find_fixed_points(Partial(cubic), x0, tol_q=1e-9, newton_steps=0, max_n_unique=2, **GENTLE)
    assert len(every) == 3 and len(two) == 2
    np.testing.assert_array_equal(two.qstar, every.qstar[:2])
    assert set(two.all_points.assigned) == {-1, 0, 1}


def test_one_input_shared_by_all_candidates():
    B = jnp.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    u = jnp.array([0.2, -0.4, 0.6])
    fps = find_fixed_points(Partial(driven, B), uniform(16, -1.0, 1.0, d=2), u)
    assert len(fps) == 1
    np.testing.assert_allclose(fps.xstar[0], 2 * B @ u, atol=1e-6)
    np.testing.assert_allclose(fps.inputs, u[None])
    np.testing.assert_allclose(fps.dF_du[0], B, atol=1e-6)


def test_one_input_per_candidate_gives_one_fixed_point_per_input():
    B = jnp.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    levels = jnp.array([[0.0, 0.0, 0.0], [0.2, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]])
    u = jnp.repeat(levels, N // 4, axis=0)
    fps = find_fixed_points(Partial(driven, B), jnp.zeros((N, 2)) + 0.3, u)
    assert len(fps) == 4  # the same state for another input is another fixed point
    for x, v in zip(fps.xstar, fps.inputs):
        np.testing.assert_allclose(x, 2 * B @ v, atol=1e-6)
    assert {tuple(np.round(v, 3)) for v in fps.inputs} == {tuple(np.round(v, 3)) for v in np.asarray(levels)}


def test_noise_needs_a_key_and_moves_the_starting_points():
    x0 = jnp.full((N, 1), 1.1)
    fps = find_fixed_points(Partial(cubic), x0, key=jax.random.key(0), noise_scale=0.05)
    spread = fps.all_points.initial_states - 1.1
    assert 0.02 < np.std(spread) < 0.08
    np.testing.assert_allclose(fps.xstar[:, 0], [1.0], atol=1e-6)


# --- saving, plotting, sampling ---------------------------------------------------------------


def test_save_and_load_roundtrip(tmp_path, saddle_fps):
    _, fps = saddle_fps
    fps.save(tmp_path / "fps", note="test")
    loaded = FixedPoints.load(tmp_path / "fps")
    for name in ("xstar", "qstar", "n_iters", "J_xstar", "eigval_J_xstar", "eigvec_J_xstar", "left_eigvec_J_xstar"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(fps, name))
    assert loaded.inputs is None and loaded.dF_du is None
    np.testing.assert_array_equal(loaded.is_stable, fps.is_stable)
    np.testing.assert_array_equal(loaded.all_points.assigned, fps.all_points.assigned)
    _, metadata = checkpoint.load(tmp_path / "fps")
    assert metadata["note"] == "test"


def test_save_and_load_keep_inputs_and_refuse_other_checkpoints(tmp_path):
    B = jnp.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]])
    fps = find_fixed_points(Partial(driven, B), uniform(16, -1.0, 1.0, d=2), jnp.array([0.2, -0.4, 0.6]))
    fps.save(tmp_path / "fps")
    loaded = FixedPoints.load(tmp_path / "fps.npz")
    np.testing.assert_array_equal(loaded.inputs, fps.inputs)
    np.testing.assert_array_equal(loaded.dF_du, fps.dF_du)
    checkpoint.save(tmp_path / "weights", {"W": np.ones(2)})
    with pytest.raises(checkpoint.CheckpointError, match="not fixed points"):
        FixedPoints.load(tmp_path / "weights")


def test_plot_marks_stable_and_unstable_points_and_draws_unstable_modes(saddle_fps):
    _, fps = saddle_fps
    trajectories = np.random.default_rng(0).normal(size=(3, 10, 2))
    fig = plt.figure()
    ax = fig.add_subplot(projection="3d")
    mean, axes = fixed_points.plot_fixed_points(ax, fps, trajectories)
    assert axes.shape == (2, 2)  # only two dimensions to project onto
    assert ax.get_xlabel() == "PC 1 (a.u.)" and ax.get_zlabel() == "PC 3 (a.u.)"
    assert len(ax.lines) == 3 + 1  # three trajectories, one unstable mode
    assert "1 stable and 1 unstable" in ax.get_title()
    plt.close(fig)


def test_sample_states_draws_rows_of_the_trajectories():
    states = jnp.arange(2 * 5 * 3, dtype=jnp.float32).reshape(2, 5, 3)
    sample = fixed_points.sample_states(jax.random.key(0), states, 7)
    assert sample.shape == (7, 3)
    rows = {tuple(r) for r in np.asarray(states).reshape(-1, 3)}
    assert all(tuple(r) in rows for r in np.asarray(sample)) and len({tuple(r) for r in np.asarray(sample)}) == 7


# --- bad input ---------------------------------------------------------------------------------

A2 = Partial(linear, 0.5 * jnp.eye(2), jnp.zeros(2))


def test_candidates_must_be_a_2d_array():
    with pytest.raises(ValueError, match=r"initial_states must be 2-D.*got shape \(2,\)"):
        find_fixed_points(A2, jnp.zeros(2))


def test_candidates_of_the_wrong_state_size_are_named():
    with pytest.raises(ValueError, match=r"F\(h\) fails for a state of shape \(3,\) from initial_states: is the state size right"):
        find_fixed_points(A2, jnp.zeros((N, 3)))


def test_a_map_that_changes_the_state_shape_is_refused():
    with pytest.raises(ValueError, match=r"F\(h\) returned shape \(1,\) for a state of shape \(2,\)"):
        find_fixed_points(lambda h: h[:1], jnp.zeros((N, 2)))


def test_nan_candidates_are_refused():
    x0 = jnp.zeros((N, 2)).at[3, 1].set(jnp.nan)
    with pytest.raises(ValueError, match=r"initial_states has NaN or inf in 1 of 16 candidates \(rows \[3\]\)"):
        find_fixed_points(A2, x0)


def test_inputs_must_be_one_or_one_per_candidate():
    F = Partial(driven, jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="inputs has 5 rows but there are 16 candidates; expected 1 row"):
        find_fixed_points(F, jnp.zeros((N, 2)), jnp.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"F\(h, u\) fails for a state of shape \(2,\) .*an input of shape \(4,\)"):
        find_fixed_points(F, jnp.zeros((N, 2)), jnp.zeros(4))


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="noise_scale=0.5 needs a PRNG key"):
        find_fixed_points(A2, jnp.zeros((N, 2)), noise_scale=0.5)
    with pytest.raises(ValueError, match="learning_rate must be 'adaptive', a number or a schedule"):
        find_fixed_points(A2, jnp.zeros((N, 2)), learning_rate="fast")
    with pytest.raises(ValueError, match="max_n_unique must be a positive integer"):
        find_fixed_points(A2, jnp.zeros((N, 2)), max_n_unique=0)
