import jax
import numpy as np
import pytest

from workshop_utils import contextual, metrics, vanilla_rnn


def test_targets_are_the_running_sum_of_the_stream_the_context_selects():
    inputs, targets, contexts = contextual.make_trials(jax.random.key(0), 64)
    inputs, targets, contexts = map(np.asarray, (inputs, targets, contexts))
    assert inputs.shape == (64, contextual.N_STEPS, 4) and targets.shape == (64, contextual.N_STEPS, 1)
    assert set(np.unique(contexts)) == {0, 1}
    for i in range(64):
        np.testing.assert_array_equal(inputs[i, :, 2 + contexts[i]], 1.0)   # the cue is on all trial
        np.testing.assert_array_equal(inputs[i, :, 3 - contexts[i]], 0.0)
        np.testing.assert_allclose(targets[i, :, 0], np.cumsum(inputs[i, :, contexts[i]]), rtol=1e-5, atol=1e-6)


def test_a_few_training_steps_reduce_the_loss():
    _, losses = contextual.train(jax.random.key(1), n_steps=60, batch_size=32)
    assert len(losses) == 60 and losses[-10:].mean() < 0.5 * losses[:5].mean()


def test_bad_trial_counts_are_clear_errors():
    with pytest.raises(ValueError, match="n_trials >= 1"):
        contextual.make_trials(jax.random.key(0), 0)


def test_the_committed_checkpoint_integrates_the_cued_stream():
    params, metadata = contextual.load_trained()
    inputs, targets, _ = contextual.make_trials(jax.random.key(7), 200)
    _, outputs = vanilla_rnn.run_batch(params, inputs)
    assert metadata["heldout_r2"] >= 0.99
    assert metrics.r_squared(targets, outputs) >= 0.99
