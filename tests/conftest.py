import os

# Unit tests run in fast mode unless a test sets the switch itself.
os.environ.setdefault("WORKSHOP_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# Imported before any test computes with JAX, so that it sees one device per core (as the
# notebooks do; see runtime.use_cpu_cores) whichever test module runs first.
import workshop_utils  # noqa: E402,F401
