"""Save and load parameter pytrees in a plain format: a NumPy .npz plus a JSON sidecar.

`name.npz` holds one array per leaf, keyed by its path in the tree ("W", "layers/0/b", ...).
`name.json` holds the npz's SHA-256, the arrays' shapes and dtypes, and your metadata, so a
missing, corrupt or mismatched checkpoint is caught with an error that says which and why.
"""

import hashlib
import json
from pathlib import Path

import jax
import numpy as np

FORMAT = "workshop_utils.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint exists but is corrupt or does not match what was expected."""


def save(path, tree, metadata=None):
    """Write `tree` (a pytree of arrays) to `path` (.npz) and its sidecar (.json)."""
    npz_path, json_path = _paths(path)
    arrays = _flatten(tree)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    with open(npz_path, "wb") as f:
        np.savez(f, **arrays)
    manifest = {
        "format": FORMAT,
        "sha256": _sha256(npz_path),
        "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()},
        "metadata": metadata or {},
    }
    json_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return npz_path


def load(path, like=None, hint=""):
    """Load a checkpoint; return `(tree, metadata)`.

    Without `like`, the tree is rebuilt as nested dicts from the stored paths. With `like`
    (a pytree of the expected structure, e.g. freshly initialised parameters), every leaf's
    path, shape and dtype must match, and the result has `like`'s structure.
    `hint` is added to the error when the file is missing (e.g. the command that makes it).
    """
    npz_path, json_path = _paths(path)
    for p in (npz_path, json_path):
        if not p.exists():
            raise FileNotFoundError(f"checkpoint file {p} is missing. {hint}".strip())
    try:
        manifest = json.loads(json_path.read_text())
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{json_path} is corrupt: not valid JSON ({err}).") from None
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{json_path} has format {manifest.get('format')!r}; expected {FORMAT!r}.")
    digest = _sha256(npz_path)
    if digest != manifest["sha256"]:
        raise CheckpointError(
            f"{npz_path} is corrupt: its SHA-256 is {digest[:12]}..., but {json_path.name} "
            f"records {manifest['sha256'][:12]}... (a partial download or an edited file?). {hint}".strip()
        )
    with np.load(npz_path) as data:
        arrays = {k: data[k] for k in data.files}
    if like is None:
        return _unflatten(arrays), manifest["metadata"]
    return _match(arrays, like, npz_path), manifest["metadata"]


def _paths(path):
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npz", ".json") else path
    return base.with_suffix(".npz"), base.with_suffix(".json")


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _key(path):
    """'layers/0/W' for the leaf at tree['layers'][0]['W']; 'value' for a bare array."""
    parts = []
    for entry in path:
        part = next((str(getattr(entry, a)) for a in ("key", "idx", "name") if hasattr(entry, a)),
                    str(entry))
        if "/" in part:
            raise ValueError(f"tree key {part!r} contains '/', which the checkpoint uses as a separator")
        parts.append(part)
    return "/".join(parts) or "value"


def _flatten(tree):
    leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
    if not leaves:
        raise ValueError("nothing to save: the tree has no arrays")
    return {_key(path): np.asarray(leaf) for path, leaf in leaves}


def _unflatten(arrays):
    tree = {}
    for key, value in arrays.items():
        node = tree
        *parents, last = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return tree


def _match(arrays, like, npz_path):
    leaves, treedef = jax.tree_util.tree_flatten_with_path(like)
    expected = {_key(p): np.asarray(leaf) for p, leaf in leaves}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"{npz_path} does not match the expected parameters: "
            f"missing {missing or 'nothing'}, unexpected {extra or 'nothing'}."
        )
    for key, want in expected.items():
        got = arrays[key]
        if got.shape != want.shape or got.dtype != want.dtype:
            raise CheckpointError(
                f"{npz_path} does not match the expected parameters: {key!r} is "
                f"{got.dtype}{list(got.shape)}, expected {want.dtype}{list(want.shape)} "
                "(was it saved from a model of another size?)."
            )
    return jax.tree_util.tree_unflatten(treedef, [arrays[_key(p)] for p, _ in leaves])
