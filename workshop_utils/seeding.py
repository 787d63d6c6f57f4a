"""One seed at the top of a notebook makes every figure and number reproducible."""

import random

import jax
import numpy as np


def seed_everything(seed: int):
    """Seed Python's and NumPy's global generators; return `(jax_key, numpy_rng)`.

    JAX has no global state: pass the returned key around and split it in the open
    (`key, subkey = jax.random.split(key)`). The NumPy generator is for data that is made
    outside JAX.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    return jax.random.key(int(seed)), np.random.default_rng(int(seed))
