import os

# Unit tests run in fast mode unless a test sets the switch itself.
os.environ.setdefault("WORKSHOP_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
