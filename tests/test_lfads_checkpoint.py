"""LFADS checkpoints: save/load round trips, mismatches caught, and the example datasets."""

import json

import numpy as np
import pytest

from workshop_utils import checkpoint, lfads, lfads_examples

TINY = dict(encoder_size=4, controller_size=3, generator_size=5, n_factors=2, n_steps=4, batch_size=8,
            eval_every=2, progress=False)


@pytest.fixture(scope="module")
def tiny():
    spikes = np.random.default_rng(0).poisson(0.5, (20, 6, 4))
    return spikes, lfads.fit(spikes, seed=1, **TINY)


def test_save_and_load_round_trip(tiny, tmp_path):
    spikes, trained = tiny
    lfads.save(trained, tmp_path / "model", dataset="tiny", note=3)
    loaded, metadata = lfads.load(tmp_path / "model")
    assert metadata == {"dataset": "tiny", "note": 3}
    assert loaded.config == trained.config
    np.testing.assert_array_equal(loaded.train_idx, trained.train_idx)
    np.testing.assert_array_equal(loaded.valid_idx, trained.valid_idx)
    np.testing.assert_allclose(loaded.history["valid_loss"], trained.history["valid_loss"])
    assert loaded.history["best_step"] == trained.history["best_step"]
    np.testing.assert_array_equal(lfads.posterior_rates(loaded, spikes, n_samples=2),
                                  lfads.posterior_rates(trained, spikes, n_samples=2))


def test_a_bare_model_saves_too(tiny, tmp_path):
    spikes, trained = tiny
    lfads.save(trained.model, tmp_path / "bare")
    loaded, _ = lfads.load(tmp_path / "bare")
    assert loaded.train_idx.size == 0
    np.testing.assert_array_equal(lfads.posterior_rates(loaded, spikes, n_samples=1),
                                  lfads.posterior_rates(trained, spikes, n_samples=1))


def test_a_config_that_disagrees_with_the_weights_is_caught(tiny, tmp_path):
    _, trained = tiny
    lfads.save(trained, tmp_path / "model")
    sidecar = tmp_path / "model.json"
    manifest = json.loads(sidecar.read_text())
    manifest["metadata"]["config"]["n_factors"] = 3       # the weights were saved with 2
    sidecar.write_text(json.dumps(manifest))
    with pytest.raises(checkpoint.CheckpointError, match="does not match the expected parameters"):
        lfads.load(tmp_path / "model")


def test_save_rejects_what_is_not_a_model(tmp_path):
    with pytest.raises(TypeError, match="TrainedLFADS"):
        lfads.save({"W": np.zeros(3)}, tmp_path / "x")


def test_a_missing_checkpoint_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_lfads.py --dataset chaotic"):
        lfads_examples.load_trained("chaotic", directory=tmp_path)


def test_example_datasets_split_trials_and_neurons():
    data = lfads_examples.load("integrator")
    assert data["train"].spikes.shape[1:] == data["test"].spikes.shape[1:] == (25, 100)
    assert len(data["held_in"]) == 80 and len(data["held_out"]) == 20
    assert not set(data["held_in"]) & set(data["held_out"])
    with pytest.raises(ValueError, match="unknown dataset 'lorenz'"):
        lfads_examples.load("lorenz")


@pytest.mark.parametrize("name", sorted(lfads_examples.DATASETS))
def test_committed_checkpoints_load_and_match_their_dataset(name):
    trained, metadata = lfads_examples.load_trained(name)
    spec = lfads_examples.DATASETS[name]
    assert metadata["dataset"] == name and metadata["heldout_r2"] >= spec["min_r2"]
    assert metadata["heldout_r2"] >= max(metadata["smoothing_r2"], metadata["pca_r2"]) + spec["min_margin"]
    assert len(trained.history["train_loss"]) <= spec["options"]["n_steps"]
    assert trained.config.n_inputs == spec["options"].get("n_inputs", 1)
