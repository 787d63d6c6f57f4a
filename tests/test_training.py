import jax.numpy as jnp
import numpy as np
import pytest

from workshop_utils import training


def quadratic_step(state, batch):
    """Gradient descent on (x - batch)^2 with step 0.25."""
    loss = (state - batch) ** 2
    return state - 0.25 * 2 * (state - batch), loss


def test_train_runs_all_steps_and_records_losses():
    state, losses = training.train(quadratic_step, jnp.array(4.0), 20, lambda i: 0.0)
    assert losses.shape == (20,)
    assert losses[0] == pytest.approx(16.0) and losses[-1] < 1e-10
    assert abs(float(state)) < 1e-5


def test_train_accepts_an_iterable_of_batches_and_warns_when_it_runs_out():
    with pytest.warns(UserWarning, match="ran out after 3 of 5 steps"):
        _, losses = training.train(quadratic_step, jnp.array(1.0), 5, [0.0, 0.0, 0.0])
    assert len(losses) == 3


def test_nan_loss_stops_and_keeps_the_last_good_state():
    def step(state, i):
        new = state + 1.0
        return new, (jnp.nan if i == 3 else new)

    with pytest.warns(training.TrainingDiverged, match="became nan at step 3.*step 2"):
        state, losses = training.train(step, jnp.array(0.0), 10, lambda i: i)
    assert float(state) == 3.0          # steps 0, 1, 2 applied; step 3's update discarded
    np.testing.assert_array_equal(losses, [1.0, 2.0, 3.0])


class _Loss:
    """A loss that logs when it is read."""

    def __init__(self, value, i, log):
        self.value, self.i, self.log = value, i, log

    def __float__(self):
        self.log.append(f"read {self.i}")
        return float(self.value)


def test_each_step_starts_before_the_previous_loss_is_read():
    log = []

    def step(state, i):
        log.append(f"step {i}")
        return state + 1.0, _Loss(state, i, log)

    state, losses = training.train(step, 0.0, 3, lambda i: i)
    assert log == ["step 0", "step 1", "read 0", "step 2", "read 1", "read 2"]
    assert state == 3.0 and list(losses) == [0.0, 1.0, 2.0]


def test_a_callback_that_stops_keeps_its_state_and_drops_the_step_started_after_it():
    seen = []

    def callback(i, state):
        seen.append((i, float(state)))
        return i == 3

    state, losses = training.train(quadratic_step, jnp.array(4.0), 10, lambda i: 0.0,
                                   callback=callback, callback_every=2)
    assert seen == [(1, 1.0), (3, 0.25)]   # x halves each step: 4, 2, 1, 0.5, 0.25
    assert float(state) == 0.25 and len(losses) == 4


def test_infinite_loss_also_stops():
    with pytest.warns(training.TrainingDiverged, match="became inf"):
        _, losses = training.train(lambda s, b: (s, jnp.inf), 0.0, 4, lambda i: None)
    assert len(losses) == 0


def test_bad_step_count_is_a_clear_error():
    with pytest.raises(ValueError, match="n_steps must be a non-negative integer, got -2"):
        training.train(quadratic_step, 0.0, -2, lambda i: 0.0)


def test_nnx_train_step_fits_a_line_and_keeps_the_model_usable():
    import optax
    from flax import nnx

    model = nnx.Linear(1, 1, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
    x = jnp.linspace(-1, 1, 32)[:, None]
    y = 3.0 * x - 1.0
    loss_fn = lambda m, batch: jnp.mean((m(batch[0]) - batch[1]) ** 2)
    step, state, unpack = training.nnx_train_step(model, optimizer, loss_fn)
    state, losses = training.train(step, state, 300, lambda i: (x, y))
    model, _ = unpack(state)
    assert losses[-1] < 1e-6 < losses[0]
    np.testing.assert_allclose(model.kernel[...], [[3.0]], atol=1e-3)
    np.testing.assert_allclose(model.bias[...], [-1.0], atol=1e-3)


def test_optax_train_step_fits_a_line():
    import optax

    x = jnp.linspace(-1, 1, 32)
    loss_fn = lambda p, batch: jnp.mean((p["w"] * batch[0] + p["b"] - batch[1]) ** 2)
    optimizer = optax.sgd(0.2)
    params = {"w": jnp.array(0.0), "b": jnp.array(0.0)}
    step = training.optax_train_step(loss_fn, optimizer)
    (params, _), losses = training.train(step, (params, optimizer.init(params)), 300, lambda i: (x, 2 * x + 0.5))
    assert losses[-1] < 1e-8 < losses[0]
    assert float(params["w"]) == pytest.approx(2.0, abs=1e-3) and float(params["b"]) == pytest.approx(0.5, abs=1e-3)
