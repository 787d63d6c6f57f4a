"""The two datasets notebook 04 fits with LFADS, and the checkpoints trained on them.

- "integrator": spikes of notebook 03's integrator RNN driven by noise and input pulses
  (`spiking_data.integrator_spikes`, 100 neurons, 25 bins of 40 ms). LFADS reads 80 neurons;
  the other 20 are held out, to be predicted from its factors (co-smoothing). With one
  inferred input, so the pulses have something to be recovered by.
- "chaotic": the LFADS paper's chaotic RNN (`spiking_data.chaotic_rnn_spikes`, 50 neurons,
  100 bins of 10 ms), 400 conditions x 10 trials as in the paper. Nothing drives it from
  outside, but LFADS keeps its controller: chaos amplifies any error in the inferred initial
  state, and the inferred input corrects the course. Its generator has 128 units (64 reached
  held-out R^2 0.886 with 3,000 steps; 128 units: 0.895 with 3,000 steps, 0.900 with 5,000;
  PCA-denoised smoothing 0.791). With 200 conditions and 64 units it was 0.882 (0.853 without
  a controller).

Each dataset names the held-out R^2 its checkpoint must reach (`min_r2`) and by how much it
must beat the best smoothing baseline (`min_margin`); notebook 04 asserts both.
`load(name)` rebuilds a dataset from its fixed seeds (train and test trials, and which
neurons LFADS reads); `load_trained(name)` loads its checkpoint from data/, made by
`python scripts/train_lfads.py` (see `./workshop checkpoints`).
"""

from pathlib import Path

import numpy as np

from . import lfads, spiking_data

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MAKE_CHECKPOINT = "Make it with: python scripts/train_lfads.py --dataset {name}"

DATASETS = {
    "integrator": {
        "n_train": 1000, "n_test": 200, "n_held_out_neurons": 20,
        "options": {"n_steps": 2000},
        "min_r2": 0.9, "min_margin": 0.1,     # held-out R^2, and its lead over the best baseline
    },
    "chaotic": {
        "n_conditions": 400, "trials_per_condition": 10, "test_per_condition": 2,
        "options": {"n_steps": 5000, "generator_size": 128},
        "min_r2": 0.9, "min_margin": 0.1,     # reached: 0.900 against 0.791 (5,000 steps, 1151 s)
    },
}


def load(name):
    """A dataset by name: dict with `train` and `test` (`SpikingData`), `held_in` (indices of
    the neurons LFADS reads) and `held_out` (the rest; empty for "chaotic")."""
    spec = _spec(name)
    if name == "integrator":
        train = spiking_data.integrator_spikes(0, spec["n_train"])
        test = spiking_data.integrator_spikes(1, spec["n_test"])
        n_neurons = train.n_neurons
        held_out = np.arange(n_neurons - spec["n_held_out_neurons"], n_neurons)
    else:
        data = spiking_data.chaotic_rnn_spikes(0, n_conditions=spec["n_conditions"],
                                               trials_per_condition=spec["trials_per_condition"])
        # the first test_per_condition trials of every condition are the test set
        rank = np.arange(data.n_trials) % spec["trials_per_condition"]
        is_test = rank < spec["test_per_condition"]
        train, test = spiking_data.subset(data, ~is_test), spiking_data.subset(data, is_test)
        n_neurons = data.n_neurons
        held_out = np.arange(0)
    held_in = np.setdiff1d(np.arange(n_neurons), held_out)
    return {"train": train, "test": test, "held_in": held_in, "held_out": held_out}


def checkpoint_path(name, directory=None):
    _spec(name)
    return Path(directory or DATA_DIR) / f"lfads_{name}"


def load_trained(name, directory=None):
    """The trained LFADS for dataset `name`: `(TrainedLFADS, metadata)`."""
    return lfads.load(checkpoint_path(name, directory), hint=MAKE_CHECKPOINT.format(name=name))


def _spec(name):
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(DATASETS)}")
    return DATASETS[name]
