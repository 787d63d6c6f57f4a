"""Stitching sessions: the bookkeeping, and the PCR initialisation of read-ins and readouts.

Stitched LFADS (Pandarinath et al. 2018) shares one dynamical model across sessions that
recorded different neurons; each session s gets its own read-in (its neurons -> a shared
space) and readout (the shared factors -> its neurons). Before training, those maps are
initialised by principal-components regression (PCR):

1. smooth each session's spikes (a Gaussian of `smooth_s`, 20 ms by default) and average
   them within each condition: A_s, (conditions, time, neurons_s);
2. concatenate every session's averages along neurons, (conditions x time, all neurons),
   mean-centre each neuron, and keep the top `n_factors` principal components: the scores
   P, (conditions x time, n_factors), one trajectory per condition shared by all sessions;
3. per session, ridge-regress P on that session's centred averages:
   read_in_s = argmin ||(A_s - mean_s) W - P||^2 + alpha' ||W||^2, (neurons_s, n_factors);
4. readout_s = pinv(read_in_s), (n_factors, neurons_s), with bias_s = mean_s, the neurons'
   mean rates (spikes per bin): rates ~ factors @ readout_s + bias_s.

Every session must share the bin width, the trial length and the set of conditions (the
condition-averages are concatenated row by row). `check_sessions` says clearly which
session breaks which rule; `check_read_ins` does the same for per-session weights.
A session is any object with `spikes` (trials, time, neurons) counts, `conditions`
(trials,) labels and `bin_size` (seconds): a `reaching.ReachSession`, a
`spiking_data.SpikingData`.
"""

import dataclasses

import numpy as np

from . import smoothing

DEFAULT_SMOOTH_S = 0.02      # lfads-torch smooths with a 20 ms Gaussian before its PCR
DEFAULT_ALPHA = 1e-3         # ridge, relative to the mean eigenvalue of each session's Gram


@dataclasses.dataclass(frozen=True)
class SessionLayout:
    """What stitched sessions share, and what each has of its own."""
    n_sessions: int
    n_bins: int
    bin_size: float               # seconds
    conditions: np.ndarray        # (conditions,) sorted labels present in every session
    n_neurons: tuple              # neurons per session
    n_trials: tuple               # trials per session


@dataclasses.dataclass(eq=False)
class PCRInit:
    """The PCR initialisation of every session's read-in and readout (module docstring)."""
    read_in: list                 # per session (neurons_s, n_factors): centred rates -> factors
    readout: list                 # per session (n_factors, neurons_s): pinv(read_in)
    bias: list                    # per session (neurons_s,) mean rates, spikes per bin
    scores: np.ndarray            # (conditions, time, n_factors) the shared PC trajectories P
    explained_variance: np.ndarray  # (n_factors,) fraction of the averages' variance per PC
    conditions: np.ndarray        # (conditions,) condition labels, the row order of `scores`

    def project(self, session, rates):
        """Factors of `rates` (..., neurons_s) of session `session`: (rates - bias) @ read_in."""
        w, b = self.read_in[_check_index(session, len(self.read_in))], self.bias[session]
        rates = np.asarray(rates, float)
        if rates.ndim < 1 or rates.shape[-1] != w.shape[0]:
            raise ValueError(f"rates has shape {rates.shape} but session {session} has {w.shape[0]} neurons "
                             "(the last axis)")
        return (rates - b) @ w

    def reconstruct(self, session, factors):
        """Rates (..., neurons_s) of session `session` from factors: factors @ readout + bias."""
        r, b = self.readout[_check_index(session, len(self.readout))], self.bias[session]
        factors = np.asarray(factors, float)
        if factors.ndim < 1 or factors.shape[-1] != r.shape[0]:
            raise ValueError(f"factors has shape {factors.shape} but the read-outs take {r.shape[0]} factors "
                             "(the last axis)")
        return factors @ r + b


def check_sessions(sessions):
    """Validate sessions for stitching; return their `SessionLayout`.

    Raises a ValueError naming the session and the problem when: the list is empty; a
    session's spikes are not (trials, time, neurons) non-negative whole counts or have no
    trial or no neuron; its conditions are not one label per trial; sessions differ in bin
    width or trial length; a session lacks a condition another one has.
    """
    if not isinstance(sessions, (list, tuple)):
        raise TypeError(f"sessions must be a list of sessions, got {type(sessions).__name__}")
    if len(sessions) == 0:
        raise ValueError("sessions is empty: stitching needs at least one session")
    checked = []
    for s, session in enumerate(sessions):
        missing = [a for a in ("spikes", "conditions", "bin_size") if not hasattr(session, a)]
        if missing:
            raise TypeError(f"session {s} ({type(session).__name__}) lacks {', '.join(missing)}: a session "
                            "needs spikes, conditions and bin_size")
        checked.append(_check_session(s, session))
    spikes0, _, bin0 = checked[0]
    labels0 = np.unique(checked[0][1])
    for s, (spikes, conditions, bin_size) in enumerate(checked[1:], start=1):
        if not np.isclose(bin_size, bin0, rtol=1e-9, atol=0):
            raise ValueError(f"session {s} has bin_size {bin_size} s but session 0 has {bin0} s: stitched "
                             "sessions must share one bin width (rebin them first)")
        if spikes.shape[1] != spikes0.shape[1]:
            raise ValueError(f"session {s} has trials of {spikes.shape[1]} bins but session 0 has "
                             f"{spikes0.shape[1]}: stitched sessions must share one trial length")
        labels = np.unique(conditions)
        lacks, extra = np.setdiff1d(labels0, labels), np.setdiff1d(labels, labels0)
        if lacks.size or extra.size:
            raise ValueError(f"session {s} has conditions that do not match session 0's: it lacks "
                             f"{lacks.tolist()} and has extra {extra.tolist()}; every session must hold "
                             "every condition")
    return SessionLayout(len(checked), spikes0.shape[1], bin0, labels0,
                         tuple(c[0].shape[2] for c in checked), tuple(c[0].shape[0] for c in checked))


def check_read_ins(sessions, read_in):
    """Check per-session weights against the sessions: one (neurons_s, factors) array each,
    with every session's neuron count and one shared factor count. Returns the factor count."""
    layout = check_sessions(sessions)
    if not isinstance(read_in, (list, tuple)) or len(read_in) != layout.n_sessions:
        got = f"a list of {len(read_in)}" if isinstance(read_in, (list, tuple)) else type(read_in).__name__
        raise ValueError(f"read_in must be a list with one (neurons, factors) array per session "
                         f"({layout.n_sessions}), got {got}")
    n_factors = None
    for s, (w, n) in enumerate(zip(read_in, layout.n_neurons)):
        shape = np.shape(w)
        if len(shape) != 2 or shape[0] != n:
            raise ValueError(f"read_in[{s}] has shape {shape} but session {s} has {n} neurons: expected "
                             f"({n}, factors)")
        if n_factors is not None and shape[1] != n_factors:
            raise ValueError(f"read_in[{s}] maps to {shape[1]} factors but read_in[0] to {n_factors}: "
                             "every session must map to the same factors")
        n_factors = shape[1]
    return n_factors


def condition_averages(x, conditions, labels=None):
    """(conditions, time, neurons) mean of x (trials, time, neurons) over the trials of each
    condition, in the order of `labels` (default: the sorted labels present)."""
    x = np.asarray(x, float)
    conditions = np.asarray(conditions)
    if x.ndim != 3 or x.shape[0] == 0:
        raise ValueError(f"x must be (trials, time, neurons) with at least one trial, got shape {x.shape}")
    if conditions.shape != (x.shape[0],):
        raise ValueError(f"conditions must be one label per trial, shape ({x.shape[0]},), got {conditions.shape}")
    labels = np.unique(conditions) if labels is None else np.asarray(labels)
    absent = [c for c in labels.tolist() if not np.any(conditions == c)]
    if absent:
        raise ValueError(f"conditions {absent} have no trial, so they have no average")
    return np.stack([x[conditions == c].mean(axis=0) for c in labels])


def pcr_init(sessions, n_factors, smooth_s=DEFAULT_SMOOTH_S, alpha=DEFAULT_ALPHA):
    """The PCR initialisation of every session's read-in and readout; returns a `PCRInit`.

    Smooths each session's spikes with a Gaussian of `smooth_s` seconds (0: no smoothing),
    averages them per condition, then `pcr_from_averages(averages, n_factors, alpha)`.
    """
    layout = check_sessions(sessions)
    if isinstance(smooth_s, bool) or not (np.isscalar(smooth_s) and np.isfinite(smooth_s) and smooth_s >= 0):
        raise ValueError(f"smooth_s is the Gaussian's std in seconds and must be >= 0, got {smooth_s!r}")
    width = smooth_s / layout.bin_size
    averages = [condition_averages(smoothing.gaussian_smooth(np.asarray(s.spikes), width), s.conditions,
                                   layout.conditions) for s in sessions]
    return pcr_from_averages(averages, n_factors, alpha, layout.conditions)


def pcr_from_averages(averages, n_factors, alpha=DEFAULT_ALPHA, conditions=None):
    """Steps 2-4 of the module docstring on given condition-averaged rates.

    `averages`: one (conditions, time, neurons_s) array per session, the same conditions and
    time in every one. `alpha` is the ridge strength relative to the mean eigenvalue of each
    session's Gram matrix (scale-free; 0 for ordinary least squares). `conditions` labels the
    rows (default 0, 1, ...).
    """
    if not isinstance(averages, (list, tuple)) or len(averages) == 0:
        raise ValueError("averages must be a non-empty list with one (conditions, time, neurons) array per "
                         f"session, got {type(averages).__name__}")
    averages = [np.asarray(a, float) for a in averages]
    for s, a in enumerate(averages):
        if a.ndim != 3 or 0 in a.shape:
            raise ValueError(f"averages[{s}] must be a non-empty (conditions, time, neurons) array, got shape "
                             f"{a.shape}")
        if a.shape[:2] != averages[0].shape[:2]:
            raise ValueError(f"averages[{s}] has {a.shape[:2]} (conditions, time) but averages[0] has "
                             f"{averages[0].shape[:2]}: sessions must share conditions and time")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"averages[{s}] contains NaN or inf")
    n_conditions, n_bins = averages[0].shape[:2]
    total = sum(a.shape[2] for a in averages)
    limit = min(total, n_conditions * n_bins - 1)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors <= limit:
        raise ValueError(f"n_factors must be a whole number in [1, {limit}] (the neurons of all sessions and "
                         f"conditions x time - 1 bound it), got {n_factors!r}")
    if isinstance(alpha, bool) or not (np.isscalar(alpha) and np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    conditions = np.arange(n_conditions) if conditions is None else np.asarray(conditions)
    if conditions.shape != (n_conditions,):
        raise ValueError(f"conditions must label the {n_conditions} rows of the averages, got shape "
                         f"{conditions.shape}")

    rows = [a.reshape(n_conditions * n_bins, -1) for a in averages]
    means = [r.mean(axis=0) for r in rows]
    centred = [r - m for r, m in zip(rows, means)]
    stacked = np.concatenate(centred, axis=1)
    left, singular, right = np.linalg.svd(stacked, full_matrices=False)
    signs = np.sign(right[:n_factors, :][np.arange(n_factors), np.argmax(np.abs(right[:n_factors]), axis=1)])
    scores = left[:, :n_factors] * singular[:n_factors] * signs           # = stacked @ PCs
    explained = singular[:n_factors] ** 2 / np.sum(singular ** 2)

    read_in, readout = [], []
    for x in centred:
        gram = x.T @ x
        ridge = alpha * np.trace(gram) / gram.shape[0]
        w = np.linalg.lstsq(gram + ridge * np.eye(gram.shape[0]), x.T @ scores, rcond=None)[0]
        read_in.append(w)
        readout.append(np.linalg.pinv(w))
    return PCRInit(read_in, readout, means, scores.reshape(n_conditions, n_bins, n_factors), explained,
                   conditions)


# --- helpers ---------------------------------------------------------------------------------

def _check_session(s, session):
    spikes = np.asarray(session.spikes)
    if spikes.ndim != 3:
        raise ValueError(f"session {s}: spikes must be (trials, time, neurons), got shape {spikes.shape}")
    if spikes.shape[0] == 0:
        raise ValueError(f"session {s} has no trials (spikes shape {spikes.shape})")
    if spikes.shape[1] == 0 or spikes.shape[2] == 0:
        raise ValueError(f"session {s} has no time bins or no neurons (spikes shape {spikes.shape})")
    if not (np.issubdtype(spikes.dtype, np.number) or spikes.dtype == bool) or np.iscomplexobj(spikes):
        raise ValueError(f"session {s}: spikes must be numeric counts, got dtype {spikes.dtype}")
    as_float = spikes.astype(float)
    if not np.all(np.isfinite(as_float)) or np.any(as_float < 0) or np.any(as_float != np.round(as_float)):
        raise ValueError(f"session {s}: spikes must be finite, non-negative whole-number counts")
    conditions = np.asarray(session.conditions)
    if conditions.shape != (spikes.shape[0],):
        raise ValueError(f"session {s}: conditions must be one label per trial, shape ({spikes.shape[0]},), "
                         f"got {conditions.shape}")
    bin_size = session.bin_size
    if isinstance(bin_size, bool) or not (np.isscalar(bin_size) and np.isfinite(bin_size) and bin_size > 0):
        raise ValueError(f"session {s}: bin_size must be a positive number of seconds, got {bin_size!r}")
    return spikes, conditions, float(bin_size)


def _check_index(session, n):
    if isinstance(session, bool) or not isinstance(session, (int, np.integer)) or not 0 <= session < n:
        raise ValueError(f"session must be an index in [0, {n}), got {session!r}")
    return int(session)
