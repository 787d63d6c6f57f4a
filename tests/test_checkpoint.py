import json

import jax.numpy as jnp
import numpy as np
import pytest

from workshop_utils import checkpoint


@pytest.fixture
def tree():
    return {"W": jnp.arange(6.0).reshape(2, 3), "layers": [{"b": jnp.ones(3)}, {"b": jnp.zeros(2, jnp.int32)}]}


def test_roundtrip_with_like_keeps_structure_values_and_metadata(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree, {"seed": 0, "note": "test"})
    loaded, meta = checkpoint.load(tmp_path / "ckpt.npz", like=tree)
    assert meta == {"seed": 0, "note": "test"}
    assert isinstance(loaded["layers"], list)
    np.testing.assert_array_equal(loaded["W"], tree["W"])
    assert loaded["layers"][1]["b"].dtype == np.int32


def test_roundtrip_without_like_gives_nested_dicts(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree)
    loaded, _ = checkpoint.load(tmp_path / "ckpt")
    np.testing.assert_array_equal(loaded["layers"]["0"]["b"], np.ones(3))


def test_the_sidecar_is_plain_json_with_shapes_and_checksum(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree)
    manifest = json.loads((tmp_path / "ckpt.json").read_text())
    assert manifest["arrays"]["W"] == {"shape": [2, 3], "dtype": "float32"}
    assert len(manifest["sha256"]) == 64


def test_missing_file_says_which_and_gives_the_hint(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.npz is missing\. Run make"):
        checkpoint.load(tmp_path / "nothing", hint="Run make")


def test_corrupt_file_is_caught_by_the_checksum(tmp_path, tree):
    path = checkpoint.save(tmp_path / "ckpt", tree)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(checkpoint.CheckpointError, match=r"ckpt\.npz is corrupt: its SHA-256"):
        checkpoint.load(path)


def test_corrupt_sidecar_is_named(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree)
    (tmp_path / "ckpt.json").write_text("{not json")
    with pytest.raises(checkpoint.CheckpointError, match=r"ckpt\.json is corrupt"):
        checkpoint.load(tmp_path / "ckpt")


def test_mismatched_shape_names_the_array(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree)
    other = {**tree, "W": jnp.zeros((3, 3))}
    with pytest.raises(checkpoint.CheckpointError, match=r"'W' is float32\[2, 3\], expected float32\[3, 3\]"):
        checkpoint.load(tmp_path / "ckpt", like=other)


def test_mismatched_keys_are_listed(tmp_path, tree):
    checkpoint.save(tmp_path / "ckpt", tree)
    with pytest.raises(checkpoint.CheckpointError, match=r"missing \['V'\], unexpected \['W'\]"):
        checkpoint.load(tmp_path / "ckpt", like={**{k: v for k, v in tree.items() if k != "W"}, "V": tree["W"]})


def test_keys_with_the_separator_are_refused(tmp_path):
    with pytest.raises(ValueError, match="contains '/'"):
        checkpoint.save(tmp_path / "ckpt", {"a/b": jnp.ones(2)})
