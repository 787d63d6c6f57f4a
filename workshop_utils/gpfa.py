"""GPFA latents from binned spikes, by Elephant's maintained implementation (Yu et al. 2009).

The baseline between smoothing and LFADS in the LFADS paper's decoding comparison. We do not
write GPFA: `latents` converts our layout (spike counts (trials, time, neurons) with the bin
width beside them) into what `elephant.gpfa.GPFA` expects (per trial, one neo SpikeTrain per
neuron, each bin's spikes placed evenly inside that bin), fits it, and returns the
orthonormalised posterior-mean latents on the same bins. Elephant is imported only when a
function here is called, so the rest of the package works without it.
"""

import contextlib
import io
import warnings

import numpy as np

DEFAULT_EM_ITERS = 10     # Elephant's default is 500; see `latents` for what this costs


def latents(spikes, bin_size, n_latents, em_max_iters=DEFAULT_EM_ITERS, tau_init_s=0.1, verbose=False):
    """GPFA posterior-mean latents (trials, time, n_latents) of binned counts (trials, time, neurons).

    Fits `elephant.gpfa.GPFA` on all the trials given (GPFA is unsupervised, so using the
    trials later held out by a behavioural decoder is fair) with `n_latents` latent
    dimensions, `em_max_iters` EM iterations (em_tol 1e-8, as Elephant) and initial GP
    timescale `tau_init_s`, then returns the orthonormalised latents ('latent_variable_orth':
    ordered by the variance they explain). Elephant takes the square root of the counts
    and drops neurons that never fire; a neuron repeated exactly makes its covariance
    singular, which Elephant reports. Elephant's messages are silenced unless `verbose`.

    Cost: on the 12 sessions of `reaching.reaching_sessions(0)` (24-48 trials of 80 bins,
    20-59 neurons), 9 latents and 10 EM iterations took 7.7-11.6 s per session (92-140 s
    for all 12) on a 2-core CPU shared with other jobs (load average 4-5), about half of it
    in Elephant's conversion to and from neo; 20 iterations took 10.6 s per session and
    moved the median velocity r^2 only from 0.270 to 0.278 (`benchmarks/reaching_decoding.py`).
    """
    counts = _check_counts(spikes)
    if isinstance(bin_size, bool) or not (np.isscalar(bin_size) and np.isfinite(bin_size) and bin_size > 0):
        raise ValueError(f"bin_size must be a positive number of seconds, got {bin_size!r}")
    n_active = int(np.any(counts > 0, axis=(0, 1)).sum())
    if isinstance(n_latents, bool) or not isinstance(n_latents, (int, np.integer)) or not 1 <= n_latents <= n_active:
        raise ValueError(f"n_latents must be a whole number in [1, {n_active}] (the neurons that fire at least "
                         f"once), got {n_latents!r}")
    if isinstance(em_max_iters, bool) or not isinstance(em_max_iters, (int, np.integer)) or em_max_iters < 1:
        raise ValueError(f"em_max_iters must be a whole number >= 1, got {em_max_iters!r}")
    if isinstance(tau_init_s, bool) or not (np.isscalar(tau_init_s) and np.isfinite(tau_init_s) and tau_init_s > 0):
        raise ValueError(f"tau_init_s must be a positive number of seconds, got {tau_init_s!r}")
    try:
        import quantities as pq
        from elephant.gpfa import GPFA
    except ImportError as error:
        raise ImportError("GPFA needs Elephant and scikit-learn: pip install elephant scikit-learn") from error

    model = GPFA(bin_size=bin_size * pq.s, x_dim=int(n_latents), em_max_iters=int(em_max_iters),
                 tau_init=tau_init_s * pq.s, verbose=bool(verbose))
    trains = to_spiketrains(counts, bin_size)
    with warnings.catch_warnings(), (contextlib.nullcontext() if verbose
                                     else contextlib.redirect_stdout(io.StringIO())):
        # quantities >= 0.16 deprecates an argument Elephant 1.2 still passes, once per trial
        warnings.filterwarnings("ignore", message="The 'copy' argument in Quantity is deprecated")
        out = model.fit_transform(trains)
    result = np.stack([np.asarray(trial, float).T for trial in out])
    if result.shape != (counts.shape[0], counts.shape[1], n_latents):
        raise RuntimeError(f"Elephant returned latents of shape {result.shape}, expected "
                           f"{(counts.shape[0], counts.shape[1], n_latents)}")
    return result


def to_spiketrains(spikes, bin_size):
    """Counts (trials, time, neurons) -> a list per trial of one neo.SpikeTrain per neuron.

    A bin [t, t + bin_size) holding k spikes gets them at t + (j + 1) / (k + 1) x bin_size,
    j = 0 .. k - 1: evenly spread inside the bin, none on an edge, so re-binning at
    `bin_size` from 0 gives back the counts exactly. Each train runs from 0 to
    time x bin_size seconds.
    """
    import neo
    import quantities as pq

    counts = _check_counts(spikes)
    n_trials, n_bins, n_neurons = counts.shape
    t_stop = n_bins * bin_size
    trials = []
    for trial in counts:
        trains = []
        for neuron in range(n_neurons):
            k = trial[:, neuron]
            bins = np.repeat(np.arange(n_bins), k)
            rank = np.arange(bins.size) - np.repeat(np.cumsum(k) - k, k)       # j within its bin
            times = (bins + (rank + 1) / (np.repeat(k, k) + 1)) * bin_size
            trains.append(neo.SpikeTrain(times * pq.s, t_start=0 * pq.s, t_stop=t_stop * pq.s))
        trials.append(trains)
    return trials


def _check_counts(spikes):
    x = np.asarray(spikes)
    if x.ndim != 3 or 0 in x.shape:
        raise ValueError(f"spikes must be non-empty counts (trials, time, neurons), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"spikes must be numeric counts, got dtype {x.dtype}")
    f = x.astype(float)
    if not np.all(np.isfinite(f)) or np.any(f < 0) or np.any(f != np.round(f)):
        raise ValueError("spikes must be finite, non-negative whole-number counts")
    return f.astype(np.int64)
