import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from workshop_utils import flipflop, gradcheck

N_TRIALS = 300  # one batch shape for most tests: one compilation of the generator


def last_pulse(inputs):
    """The definition, one step at a time: each bit is the value of the last nonzero pulse."""
    inputs = np.asarray(inputs)
    targets = np.zeros_like(inputs)
    bits = np.zeros(inputs.shape[::2])
    for t in range(inputs.shape[1]):
        bits = np.where(inputs[:, t] != 0, inputs[:, t], bits)
        targets[:, t] = bits
    return targets


def test_targets_hold_the_last_pulse_on_each_channel():
    inputs, targets = flipflop.make_trials(jax.random.key(0), N_TRIALS)
    assert inputs.shape == targets.shape == (N_TRIALS, flipflop.N_STEPS, 3)
    assert set(np.unique(np.asarray(inputs))) <= {-1.0, 0.0, 1.0}
    assert np.all(np.asarray(inputs)[:, 0] != 0)             # every bit is set at t = 0
    assert set(np.unique(np.asarray(targets))) == {-1.0, 1.0}
    np.testing.assert_array_equal(targets, last_pulse(inputs))


def test_pulse_statistics_match_the_task_definition():
    inputs, targets = flipflop.make_trials(jax.random.key(1), N_TRIALS, p_flip=0.1)
    later = np.asarray(inputs)[:, 1:]
    assert np.mean(later != 0) == pytest.approx(0.1, rel=0.05)
    assert np.mean(later[later != 0] > 0) == pytest.approx(0.5, abs=0.02)  # signs are fair coins
    flips = np.mean(np.asarray(targets)[:, 1:] != np.asarray(targets)[:, :-1])
    assert flips == pytest.approx(0.05, rel=0.1)                            # p_flip / 2


def test_memories_are_the_eight_sign_patterns():
    patterns = flipflop.memories()
    assert patterns.shape == (8, 3) and len({tuple(p) for p in patterns}) == 8
    assert set(np.unique(patterns)) == {-1.0, 1.0}


def test_scan_matches_a_python_loop_and_the_step_map():
    params = flipflop.init_params(jax.random.key(2))
    W, B, b = (np.asarray(params[k], np.float64) for k in ("W", "B", "b"))
    inputs = flipflop.make_trials(jax.random.key(3), N_TRIALS)[0][:, :10]
    x = np.asarray(inputs[0], np.float64)
    hidden, outputs = flipflop.run(params, inputs[0])
    h = np.zeros(flipflop.N_HIDDEN)
    for t in range(10):
        h = np.tanh(W @ h + B @ x[t] + b)
        np.testing.assert_allclose(hidden[t], h, atol=1e-5)
    F = jax.jit(jax.vmap(flipflop.step_map(params)))
    np.testing.assert_allclose(F(hidden[:-1], inputs[0, 1:]), hidden[1:], atol=1e-6)
    np.testing.assert_allclose(outputs, np.asarray(hidden) @ np.asarray(params["C"]).T + np.asarray(params["c"]), atol=1e-5)


def test_loss_gradient_matches_finite_differences():
    theta, unravel = ravel_pytree(flipflop.init_params(jax.random.key(4), n_hidden=8))
    inputs, targets = (a[:4, :12] for a in flipflop.make_trials(jax.random.key(5), N_TRIALS))
    loss = jax.jit(lambda theta: flipflop.loss(unravel(theta), inputs, targets))
    for seed in range(3):  # along random unit directions of all parameters at once
        v = jax.random.normal(jax.random.key(seed), theta.shape)
        v = v / jnp.linalg.norm(v)
        exact = jnp.vdot(jax.grad(loss)(theta), v)
        assert gradcheck.central_difference(loss, theta, v) == pytest.approx(float(exact), rel=1e-2)


def test_a_few_training_steps_reduce_the_loss():
    _, losses = flipflop.train(jax.random.key(7), n_steps=60, batch_size=32)
    assert len(losses) == 60 and losses[-10:].mean() < 0.6 * losses[:5].mean()


def test_bad_task_settings_are_clear_errors():
    with pytest.raises(ValueError, match="n_trials, n_steps and n_bits >= 1"):
        flipflop.make_trials(jax.random.key(0), 0)
    with pytest.raises(ValueError, match=r"p_flip .* must be in \[0, 1\]; got 1.5"):
        flipflop.make_trials(jax.random.key(0), 5, p_flip=1.5)


def test_a_missing_checkpoint_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_flipflop.py"):
        flipflop.load_trained(tmp_path / "nothing")


@pytest.fixture(scope="module")
def trained():
    params, info = flipflop.load_trained()
    return params, info, flipflop.find_fixed_points(params, jax.random.key(0))


def test_the_committed_checkpoint_solves_the_task(trained):
    params, info, _ = trained
    assert info["task"] == {"n_bits": 3, "n_steps": flipflop.N_STEPS, "p_flip": flipflop.P_FLIP}
    inputs, targets = flipflop.make_trials(jax.random.key(123), N_TRIALS)
    assert flipflop.accuracy(params, inputs, targets) >= 0.999


def test_its_memories_are_eight_stable_fixed_points_with_saddles_between(trained):
    params, info, fps = trained
    stable = fps[fps.is_stable]
    assert len(stable) == 8 and flipflop.holds_all_memories(params, fps)
    assert sorted(flipflop.match_memories(params, fps)) == sorted(tuple(p) for p in flipflop.memories().astype(int))
    assert np.all(np.abs(stable.eigval_J_xstar[:, 0]) < 0.9)            # clearly attracting
    saddles = fps[~fps.is_stable]
    assert len(saddles) >= 7 and np.all(saddles.n_unstable_modes >= 1)
    assert np.all(fps.qstar <= 1e-12)
    # the cube's 12 edges and 6 faces; its centre (3 unstable modes) has a small basin, which
    # most but not all sets of candidates reach
    by_modes = fps.counts()["unstable_by_modes"]
    assert by_modes[1] == 12 and by_modes[2] == 6 and by_modes.get(3, 0) <= 1 and max(by_modes) <= 3
    assert info["fixed_points"]["unstable_by_modes"] == {"1": 12, "2": 6, "3": 1}


def test_a_stable_point_holds_its_memory_when_the_network_runs_from_it(trained):
    params, _, fps = trained
    stable = fps[fps.is_stable]
    nudged = jnp.asarray(stable.xstar) + 0.05
    _, outputs = jax.vmap(flipflop.run, (None, None, 0))(params, jnp.zeros((50, 3)), nudged)  # no input
    np.testing.assert_array_equal(np.sign(outputs[:, -1]), np.sign(flipflop.readout(params, stable.xstar)))
