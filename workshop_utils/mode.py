"""Fast and full modes: one switch, the WORKSHOP_FAST environment variable.

Full mode is the default for learners. Tests and CI set WORKSHOP_FAST=1, which shortens
training and data; it never skips a check.
"""

import os

ENV_VAR = "WORKSHOP_FAST"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def is_fast() -> bool:
    """True when WORKSHOP_FAST is set to 1/true/yes/on (case-insensitive)."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not understood; expected 1 (fast mode) "
        "or 0 / unset (full mode)."
    )


def pick(*, full, fast):
    """Return `fast` in fast mode and `full` otherwise, e.g. `n_steps = pick(full=3000, fast=100)`."""
    return fast if is_fast() else full


def name() -> str:
    """'fast' or 'full', for printing."""
    return "fast" if is_fast() else "full"
