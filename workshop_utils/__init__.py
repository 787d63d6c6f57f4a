"""Shared plumbing for the notebook series on advanced recurrent networks for neural data.

One module per concept: `mode` (fast/full switch), `runtime` (versions and device),
`seeding`, `training` (loop with progress bar), `checkpoint` (save/load with checksum),
`plotting` (one style), `exercises` (self-checks), `metrics`, `gradcheck`, `attention`
(the shared attention primitive), `fixed_points` (the fixed-point finder), `lfads` (the
sequential VAE of notebooks 04-06), `smoothing` (the baselines it must beat), and the models
and data generators the notebooks share (`vanilla_rnn`, and its tasks `integrator`, `flipflop`
and `contextual`; `timewarp`; `spiking_data`, synthetic spikes with their true rates).
"""

__version__ = "0.1.0"

from . import runtime as _runtime

_runtime.keep_freed_memory()  # before JAX's threads allocate: XLA:CPU steps ~1.3x quicker
_runtime.use_cpu_cores()  # before JAX starts: LFADS trains on every core
