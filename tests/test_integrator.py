import jax
import jax.numpy as jnp
import numpy as np
import pytest

from workshop_utils import gradcheck, integrator, metrics


def test_targets_are_the_running_sum_of_the_inputs():
    inputs, targets = integrator.make_trials(jax.random.key(0), 50)
    assert inputs.shape == targets.shape == (50, integrator.N_STEPS, 1)
    np.testing.assert_allclose(targets, np.cumsum(np.asarray(inputs), axis=1), rtol=1e-5, atol=1e-6)


def test_input_statistics_match_the_task_definition():
    inputs, _ = integrator.make_trials(jax.random.key(1), 4000, n_steps=50)
    inputs = np.asarray(inputs)[..., 0]
    bias = inputs.mean(axis=1)                       # per-trial bias plus averaged-out noise
    noise = inputs - inputs.mean(axis=1, keepdims=True)
    assert np.std(noise) * np.sqrt(50 / 49) == pytest.approx(integrator.NOISE_STD, rel=0.02)
    assert np.abs(bias).max() < integrator.BIAS_MAX + 4 * integrator.NOISE_STD / np.sqrt(50)
    assert np.var(bias) == pytest.approx(integrator.BIAS_MAX**2 / 3 + integrator.NOISE_STD**2 / 50, rel=0.1)


def test_scan_matches_a_python_loop_over_time():
    params = integrator.init_params(jax.random.key(2), n_hidden=16)
    inputs, _ = integrator.make_trials(jax.random.key(3), 1)
    hidden, outputs = integrator.run(params, inputs[0])
    h = jnp.zeros(16)
    for t in range(integrator.N_STEPS):
        h = jnp.tanh(params["W"] @ h + params["B"] @ inputs[0, t] + params["b"])
        np.testing.assert_allclose(hidden[t], h, atol=1e-5)
    np.testing.assert_allclose(outputs, hidden @ params["C"].T + params["c"], atol=1e-5)


def test_loss_gradient_matches_finite_differences():
    params = integrator.init_params(jax.random.key(4), n_hidden=8)
    inputs, targets = integrator.make_trials(jax.random.key(5), 4)
    loss = lambda p: integrator.loss(p, inputs, targets)
    for seed in range(3):
        assert gradcheck.relative_error(loss, params, jax.random.key(seed)) < 1e-2


def test_a_few_training_steps_reduce_the_loss():
    params, losses = integrator.train(jax.random.key(7), n_steps=60, batch_size=32, n_hidden=32)
    assert len(losses) == 60 and losses[-10:].mean() < 0.5 * losses[:5].mean()


def test_the_committed_checkpoint_loads_and_integrates():
    params, info = integrator.load_trained()
    assert params["W"].shape == (integrator.N_HIDDEN, integrator.N_HIDDEN)
    assert info["task"]["n_steps"] == integrator.N_STEPS
    inputs, targets = integrator.make_trials(jax.random.key(123), 500)
    _, outputs = integrator.run_batch(params, inputs)
    assert metrics.r_squared(targets, outputs) >= 0.99


def test_bad_trial_counts_are_clear_errors():
    with pytest.raises(ValueError, match="n_trials >= 1"):
        integrator.make_trials(jax.random.key(0), 0)
