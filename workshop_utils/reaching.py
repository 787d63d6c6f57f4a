"""Simulated center-out reaching over many sessions that share one latent dynamical system.

The data of notebook 05 (stitched LFADS), built so that every claim can be checked against
the truth. One latent system drives every session:

- **Rotational dynamics** (the jPCA picture of Churchland et al. 2012). Before movement
  onset the state sits at a preparatory point set by the reach direction theta; at onset it
  is released and rotates while it decays. Plane A starts at g (cos theta, 0) and plane B at
  g (sin theta, 0), both turning at `reach_hz` and decaying with `decay_s`; plane C starts at
  a point set by 2 theta (plus trial noise) and turns at `plane_c_hz`. Each plane's second
  coordinate is 0 at rest, so the hand is still before onset.
- **A condition-invariant signal** (CIS), a bump that peaks `cis_peak_s` after onset.
- **A beta-like oscillation** at `beta_hz`: a 2-D oscillator that movement onset resets
  (its phase at onset is 0 plus N(0, beta_phase_jitter_deg^2), the same in every condition;
  `beta_phase_jitter_deg=None` draws a uniform phase instead), with an amplitude of its own
  per trial, suppressed during movement by the CIS (movement-related beta
  desynchronisation): a(t) = a_trial (1 - beta_suppression CIS(t)). It carries no
  information about the reach direction.

Latent order (`LATENT_NAMES`): A1, A2, B1, B2, C1, C2, CIS, beta cos, beta sin.
Every session sees the same directions (one condition per direction), but records its own
neurons (20 to 60 of them, each with its own loadings onto all latents and its own
baseline), only a few trials per condition, and Poisson spikes from
rate = min_rate + (max_rate - min_rate) sigmoid(baseline + latents @ loadings).

Hand velocity (cm/s) is one fixed linear readout for all sessions, lagging the latents by
`velocity_delay_s` (cortex leads the hand): velocity[t] = latents[t - delay] @ readout.T +
white noise; the readout takes the second coordinates of planes A and B, so each reach is a
straight line in its direction with a bell-shaped speed (a small return at the end).
Each session also has an LFP-like signal (microvolts): beta_lfp_uv x beta cos latent +
cis_lfp_uv x CIS (a movement-evoked potential) + slow AR(1) noise + white noise. The same
oscillation modulates every neuron's rate by `beta_modulation` (log-odds) with a phase of its
own: present in the true rates, hard to see in one neuron's smoothed spikes.

Layout as everywhere in the package: spikes (trials, time, neurons), rates in spikes per
bin, the bin width in seconds beside them. Deterministic given the key (a `jax.random` key
or an integer seed).
"""

import dataclasses

import numpy as np

from .spiking_data import _streams

LATENT_NAMES = ("A1", "A2", "B1", "B2", "C1", "C2", "CIS", "beta cos", "beta sin")
N_LATENTS = len(LATENT_NAMES)
PLANE_A, PLANE_B, PLANE_C, CIS, BETA = slice(0, 2), slice(2, 4), slice(4, 6), 6, slice(7, 9)


@dataclasses.dataclass(eq=False)
class ReachSession:
    """One recording session: what was measured, and the truth that made it.

    Measured: `spikes`, `velocity`, `lfp`, `conditions`. Truth: `rates`, `latents` (shared
    system, see `LATENT_NAMES`), `directions` (the trial's actual reach angle), this
    session's `loadings` and `baselines`, and the `velocity_readout` shared by all sessions.
    """
    spikes: np.ndarray            # (trials, time, neurons) int32 Poisson counts
    rates: np.ndarray             # (trials, time, neurons) float32 true rates, spikes per bin
    latents: np.ndarray           # (trials, time, 9) float32 the shared latent state
    velocity: np.ndarray          # (trials, time, 2) float32 hand velocity, cm/s
    lfp: np.ndarray               # (trials, time) float32 LFP-like signal, microvolts
    conditions: np.ndarray        # (trials,) int32 reach-direction index
    directions: np.ndarray        # (trials,) float32 actual reach angle of each trial, radians
    loadings: np.ndarray          # (9, neurons) float32 log-odds per unit latent
    baselines: np.ndarray         # (neurons,) float32 log-odds at latents = 0
    velocity_readout: np.ndarray  # (2, 9) float32 the same for every session
    velocity_delay_bins: int      # velocity[t] reads the latents at t - delay
    bin_size: float               # seconds per bin
    session: int = 0              # index of the session in its experiment

    def __post_init__(self):
        self.spikes = np.asarray(self.spikes, dtype=np.int32)
        for name in ("rates", "latents", "velocity", "lfp", "directions", "loadings", "baselines",
                     "velocity_readout"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float32))
        self.conditions = np.asarray(self.conditions, dtype=np.int32)
        self.bin_size = float(self.bin_size)
        if self.spikes.ndim != 3:
            raise ValueError(f"spikes must be (trials, time, neurons), got shape {self.spikes.shape}")
        n_trials, n_bins, n_neurons = self.spikes.shape
        expected = {"rates": self.spikes.shape, "latents": (n_trials, n_bins, N_LATENTS),
                    "velocity": (n_trials, n_bins, 2), "lfp": (n_trials, n_bins),
                    "conditions": (n_trials,), "directions": (n_trials,),
                    "loadings": (N_LATENTS, n_neurons), "baselines": (n_neurons,),
                    "velocity_readout": (2, N_LATENTS)}
        for name, want in expected.items():
            got = getattr(self, name).shape
            if got != want:
                raise ValueError(f"{name} has shape {got} but spikes have {self.spikes.shape}; "
                                 f"expected {want}")
        if not self.bin_size > 0:
            raise ValueError(f"bin_size is in seconds and must be > 0, got {self.bin_size}")

    @property
    def n_trials(self):
        return self.spikes.shape[0]

    @property
    def n_bins(self):
        return self.spikes.shape[1]

    @property
    def n_neurons(self):
        return self.spikes.shape[2]

    @property
    def times(self):
        """Start of each bin, seconds from the start of the trial."""
        return np.arange(self.n_bins) * self.bin_size


def reaching_sessions(key, n_sessions=12, n_conditions=8, trials_per_condition=(3, 6),
                      neurons=(20, 60), n_bins=80, bin_size=0.01, *, onset_s=0.2,
                      reach_hz=1.25, decay_s=0.25, plane_c_hz=2.5, cis_peak_s=0.15,
                      beta_hz=15.0, beta_suppression=0.8, beta_modulation=1.5,
                      beta_phase_jitter_deg=30.0,
                      loading_scale=1.0, min_rate_hz=2.0, max_rate_hz=60.0,
                      baseline_hz=(5.0, 25.0), direction_jitter_deg=5.0, vigour_jitter=0.1,
                      peak_speed=40.0, velocity_delay_s=0.1, velocity_noise=1.0,
                      beta_lfp_uv=20.0, cis_lfp_uv=-30.0, lfp_noise_uv=15.0):
    """A list of `n_sessions` `ReachSession`s sharing one latent system (see the module docstring).

    Sessions differ in their neurons: each draws its neuron count uniformly from the range
    `neurons` (inclusive), and per neuron a baseline rate uniform in `baseline_hz`, loadings
    N(0, loading_scale^2) on the rotational planes and the CIS, and loadings of size
    beta_modulation x U(0.5, 1.5) with a random phase on the oscillator. Each session draws
    its trials per condition uniformly from `trials_per_condition` (a whole number, or an
    inclusive (low, high) range); its trials are ordered condition by condition.

    Per trial: the reach angle is the condition's (2 pi c / n_conditions) plus
    N(0, direction_jitter_deg^2); a vigour g = 1 + N(0, vigour_jitter^2) scales planes A and B;
    plane C's preparatory point gets N(0, 0.15^2) noise per coordinate; the oscillator gets an
    amplitude exp(N(0, 0.25^2)) and the phase N(0, beta_phase_jitter_deg^2) at movement onset
    (uniform over the circle with `beta_phase_jitter_deg=None`). Beyond the condition means, a
    trial's rhythm then differs from its condition's by its amplitude and its phase jitter:
    the part that notebook 05's LFP analysis measures. `peak_speed` (cm/s) is the peak speed
    of a reach with g = 1. Trials are `n_bins` bins of `bin_size` seconds, movement onset of
    the latents at `onset_s`. LFP noise: AR(1) with a 50 ms time constant and standard
    deviation `lfp_noise_uv`, plus white noise of a third of that.
    """
    _check_whole("n_sessions", n_sessions, 1)
    _check_whole("n_conditions", n_conditions, 2)
    _check_whole("n_bins", n_bins, 2)
    tpc_low, tpc_high = _check_range("trials_per_condition", trials_per_condition, 1)
    n_low, n_high = _check_range("neurons", neurons, 1)
    for name, value in (("bin_size", bin_size), ("reach_hz", reach_hz), ("decay_s", decay_s),
                        ("plane_c_hz", plane_c_hz), ("cis_peak_s", cis_peak_s), ("beta_hz", beta_hz),
                        ("max_rate_hz", max_rate_hz), ("peak_speed", peak_speed)):
        _check_number(name, value, positive=True)
    for name, value in (("onset_s", onset_s), ("beta_modulation", beta_modulation),
                        ("loading_scale", loading_scale), ("min_rate_hz", min_rate_hz),
                        ("direction_jitter_deg", direction_jitter_deg), ("vigour_jitter", vigour_jitter),
                        ("velocity_delay_s", velocity_delay_s), ("velocity_noise", velocity_noise),
                        ("lfp_noise_uv", lfp_noise_uv), ("beta_suppression", beta_suppression)):
        _check_number(name, value, positive=False)
    if beta_phase_jitter_deg is not None:
        _check_number("beta_phase_jitter_deg", beta_phase_jitter_deg, positive=False)
    _check_number("beta_lfp_uv", beta_lfp_uv)
    _check_number("cis_lfp_uv", cis_lfp_uv)
    if beta_suppression > 1:
        raise ValueError(f"beta_suppression is the fraction of beta amplitude lost at peak movement "
                         f"and must be in [0, 1], got {beta_suppression!r}")
    if not min_rate_hz < max_rate_hz:
        raise ValueError(f"min_rate_hz ({min_rate_hz}) must be below max_rate_hz ({max_rate_hz})")
    try:
        b_low, b_high = (float(v) for v in np.broadcast_to(np.asarray(baseline_hz, float), (2,)))
    except (TypeError, ValueError):
        b_low = b_high = np.nan
    if not min_rate_hz < b_low <= b_high < max_rate_hz:
        raise ValueError(f"baseline_hz must be a range (low, high) inside (min_rate_hz, max_rate_hz) = "
                         f"({min_rate_hz}, {max_rate_hz}), got {baseline_hz!r}")
    if beta_hz >= 0.5 / bin_size:
        raise ValueError(f"beta_hz ({beta_hz} Hz) must be below the Nyquist frequency of the bins "
                         f"({0.5 / bin_size:g} Hz)")
    if onset_s >= n_bins * bin_size:
        raise ValueError(f"onset_s ({onset_s} s) must fall inside the trial ({n_bins} bins of {bin_size} s)")

    delay = int(round(velocity_delay_s / bin_size))
    if delay >= n_bins:
        raise ValueError(f"velocity_delay_s ({velocity_delay_s} s = {delay} bins) must be shorter than the "
                         f"trial ({n_bins} bins)")
    readout = velocity_readout(reach_hz, decay_s, peak_speed)
    streams = _streams(key, int(n_sessions))
    sessions = []
    for s, rng in enumerate(streams):
        count_rng, tuning_rng, trial_rng, spike_rng, noise_rng = rng.spawn(5)
        per_condition = int(count_rng.integers(tpc_low, tpc_high + 1))
        n_neurons = int(count_rng.integers(n_low, n_high + 1))
        conditions = np.repeat(np.arange(n_conditions), per_condition)
        latents, directions = _latent_trajectories(
            trial_rng, conditions, n_conditions, n_bins, bin_size, onset_s, reach_hz, decay_s, plane_c_hz,
            cis_peak_s, beta_hz, beta_suppression, beta_phase_jitter_deg, direction_jitter_deg, vigour_jitter)
        loadings, baselines = _tuning(tuning_rng, n_neurons, loading_scale, beta_modulation,
                                      (b_low, b_high), min_rate_hz, max_rate_hz)
        drive = baselines + latents @ loadings
        rates = (min_rate_hz + (max_rate_hz - min_rate_hz) / (1 + np.exp(-drive))) * bin_size
        spikes = spike_rng.poisson(rates)
        delayed = latents[:, np.maximum(np.arange(n_bins) - delay, 0)]    # rest before the trial
        velocity = delayed @ readout.T + velocity_noise * noise_rng.standard_normal((len(conditions), n_bins, 2))
        lfp = (beta_lfp_uv * latents[..., BETA.start] + cis_lfp_uv * latents[..., CIS]
               + _lfp_noise(noise_rng, latents.shape[:2], bin_size, lfp_noise_uv))
        sessions.append(ReachSession(spikes, rates, latents, velocity, lfp, conditions, directions, loadings,
                                     baselines, readout, delay, bin_size, s))
    return sessions


def velocity_readout(reach_hz=1.25, decay_s=0.25, peak_speed=40.0):
    """The (2, 9) map from latents to hand velocity (cm/s), shared by every session.

    It reads the second coordinate of plane A (x) and of plane B (y), scaled so that a
    released state g (cos theta, 0) reaches a peak speed of `peak_speed` g:
    speed(tau) = k exp(-tau / decay_s) sin(2 pi reach_hz tau), maximal where
    tan(2 pi reach_hz tau) = 2 pi reach_hz decay_s.
    """
    omega = 2 * np.pi * reach_hz
    tau_peak = np.arctan(omega * decay_s) / omega
    k = peak_speed / (np.exp(-tau_peak / decay_s) * np.sin(omega * tau_peak))
    readout = np.zeros((2, N_LATENTS), np.float32)
    readout[0, PLANE_A.start + 1] = readout[1, PLANE_B.start + 1] = k
    return readout


# --- helpers ---------------------------------------------------------------------------------

def _latent_trajectories(rng, conditions, n_conditions, n_bins, bin_size, onset_s, reach_hz, decay_s,
                         plane_c_hz, cis_peak_s, beta_hz, beta_suppression, beta_phase_jitter_deg,
                         direction_jitter_deg, vigour_jitter):
    """(trials, time, 9) latents and (trials,) reach angles, from the preparatory state of
    each trial released at onset (see the module docstring)."""
    n_trials = len(conditions)
    theta = 2 * np.pi * conditions / n_conditions + np.deg2rad(direction_jitter_deg) * rng.standard_normal(n_trials)
    vigour = np.maximum(1 + vigour_jitter * rng.standard_normal(n_trials), 0.2)
    prep_c = 0.7 * np.stack([np.cos(2 * theta), np.sin(2 * theta)], -1) + 0.15 * rng.standard_normal((n_trials, 2))
    beta_phase = rng.uniform(0, 2 * np.pi, n_trials)
    beta_amplitude = np.exp(0.25 * rng.standard_normal(n_trials))
    if beta_phase_jitter_deg is not None:  # drawn last, so every other draw is the same either way
        at_onset = np.deg2rad(beta_phase_jitter_deg) * rng.standard_normal(n_trials)
        beta_phase = at_onset - 2 * np.pi * beta_hz * onset_s

    t = np.arange(n_bins) * bin_size
    since = np.maximum(t - onset_s, 0.0)                      # time since onset; 0 while at rest
    latents = np.empty((n_trials, n_bins, N_LATENTS))
    for plane, start, hz in ((PLANE_A, vigour[:, None] * np.cos(theta)[:, None] * [1.0, 0.0], reach_hz),
                             (PLANE_B, vigour[:, None] * np.sin(theta)[:, None] * [1.0, 0.0], reach_hz),
                             (PLANE_C, prep_c, plane_c_hz)):
        latents[..., plane] = _rotate(start, 2 * np.pi * hz * since, np.exp(-since / decay_s))
    cis = (since / cis_peak_s) * np.exp(1 - since / cis_peak_s)
    latents[..., CIS] = cis
    amplitude = beta_amplitude[:, None] * (1 - beta_suppression * cis)
    phase = 2 * np.pi * beta_hz * t + beta_phase[:, None]
    latents[..., BETA] = amplitude[..., None] * np.stack([np.cos(phase), np.sin(phase)], -1)
    return latents, theta


def _rotate(start, angle, decay):
    """start (trials, 2) rotated by angle (time,) and scaled by decay (time,): (trials, time, 2)."""
    cos, sin = np.cos(angle), np.sin(angle)
    x0, y0 = start[:, None, 0], start[:, None, 1]
    return decay[None, :, None] * np.stack([x0 * cos - y0 * sin, x0 * sin + y0 * cos], -1)


def _tuning(rng, n_neurons, loading_scale, beta_modulation, baseline_hz, min_rate_hz, max_rate_hz):
    """Loadings (9, neurons) and baselines (neurons,) in log-odds of the rate's range."""
    loadings = loading_scale * rng.standard_normal((N_LATENTS, n_neurons))
    size = beta_modulation * rng.uniform(0.5, 1.5, n_neurons)
    phase = rng.uniform(0, 2 * np.pi, n_neurons)
    loadings[BETA] = size * np.stack([np.cos(phase), np.sin(phase)])
    fraction = (rng.uniform(*baseline_hz, n_neurons) - min_rate_hz) / (max_rate_hz - min_rate_hz)
    return loadings, np.log(fraction / (1 - fraction))


def _lfp_noise(rng, shape, bin_size, std, tau_s=0.05):
    """AR(1) noise of stationary std `std` and time constant tau_s, plus white noise of std / 3."""
    rho = np.exp(-bin_size / tau_s)
    shocks = rng.standard_normal(shape)
    noise = np.empty(shape)
    noise[:, 0] = shocks[:, 0]
    for i in range(1, shape[1]):
        noise[:, i] = rho * noise[:, i - 1] + np.sqrt(1 - rho ** 2) * shocks[:, i]
    return std * (noise + rng.standard_normal(shape) / 3)


def _check_whole(name, n, least):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"{name} must be a whole number >= {least}, got {n!r}")


def _check_range(name, value, least):
    """A whole number n or an inclusive range (low, high) of whole numbers >= least."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in value)
            or not least <= value[0] <= value[1]):
        raise ValueError(f"{name} must be a whole number >= {least} or a range (low, high) of them with "
                         f"low <= high, got {value!r}")
    return int(value[0]), int(value[1])


def _check_number(name, value, positive=None):
    """A finite real number; > 0 if positive is True, >= 0 if it is False, any if None."""
    ok = (not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
          and np.isfinite(value))
    if ok and positive is True:
        ok = value > 0
    elif ok and positive is False:
        ok = value >= 0
    if not ok:
        want = {True: " > 0", False: " >= 0", None: ""}[positive]
        raise ValueError(f"{name} must be a finite number{want}, got {value!r}")
