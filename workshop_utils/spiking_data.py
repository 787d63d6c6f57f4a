"""Synthetic spiking datasets that carry their ground truth: rates, latent states and inputs.

Notebooks 04 and 05 fit LFADS and transformers to spikes whose true rates are known, so every
inferred rate, factor and input can be scored. Each generator returns a `SpikingData`:
spikes (trials, time, neurons) Poisson counts, the true rates in spikes per bin, the latent
state that produced them, the true external input, a condition label per trial, and the bin
width in seconds. Two systems:

- `integrator_spikes`: the trained integrator RNN of notebook 03 (100 tanh units, 25 bins of
  40 ms), driven by its usual noisy input plus occasional pulses; each hidden unit is a neuron
  firing at (h + 1) / 2 * 80 Hz. The data of the original LFADS tutorial.
- `chaotic_rnn_spikes`: the LFADS paper's chaotic rate network (Pandarinath et al. 2018;
  Sussillo et al. 2016): tau dx/dt = -x + gain J tanh(x) + B u(t), many conditions (initial
  states) times a few trials each, each unit a neuron firing at max_rate (tanh(x) + 1) / 2;
  with `pulses=True` every trial receives one input pulse at a random time in 0.25-0.75 s.

Everything is deterministic given the key (a `jax.random` key or an integer seed). Arrays are
NumPy; `split` and `subset` cut a dataset by trials into train / validation / test sets.
"""

import dataclasses
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

from . import integrator, vanilla_rnn

INTEGRATOR_MAX_RATE_HZ = 80.0   # a hidden state of +1 fires at 80 Hz, -1 at 0 Hz
PULSE_WINDOW_S = (0.25, 0.75)   # chaotic-RNN pulses start and end inside this window
PULSE_AMPLITUDE = 5.0           # chaotic-RNN pulse size (the input u while it lasts)
MIN_ACTIVITY = 0.05             # least late-trial rate std (fraction of max rate) in any condition
MIN_IRREGULARITY = 0.05         # least distance of late activity from its own shifted copies
MAX_NETWORK_DRAWS = 1024


@dataclasses.dataclass(eq=False)
class SpikingData:
    """Spike counts with the truth that made them; one row per trial in every array.

    `inputs` is everything that drove the system from outside (zeros if nothing did);
    `pulses` is the part of it that came as pulses (the integrator also receives noise and a
    bias; for the chaotic RNN the pulses are the only input). Made by the generators below.
    """
    spikes: np.ndarray      # (trials, time, neurons) int32 Poisson counts
    rates: np.ndarray       # (trials, time, neurons) float32 true rates, spikes per bin
    latents: np.ndarray     # (trials, time, n_latents) float32 the dynamical state
    inputs: np.ndarray      # (trials, time, n_inputs) float32 the true external input
    conditions: np.ndarray  # (trials,) int32 condition label of each trial
    bin_size: float         # seconds per bin
    pulses: np.ndarray = None   # (trials, time, n_inputs) float32 the pulse part of `inputs`

    def __post_init__(self):
        self.spikes = np.asarray(self.spikes, dtype=np.int32)
        self.rates, self.latents, self.inputs = (np.asarray(a, dtype=np.float32)
                                                 for a in (self.rates, self.latents, self.inputs))
        self.pulses = (np.zeros_like(self.inputs) if self.pulses is None
                       else np.asarray(self.pulses, dtype=np.float32))
        self.conditions = np.asarray(self.conditions, dtype=np.int32)
        self.bin_size = float(self.bin_size)
        if self.spikes.ndim != 3:
            raise ValueError(f"spikes must be (trials, time, neurons), got shape {self.spikes.shape}")
        n_trials, n_bins, _ = self.spikes.shape
        expected = {"rates": self.spikes.shape, "latents": (n_trials, n_bins, None),
                    "inputs": (n_trials, n_bins, None), "pulses": self.inputs.shape,
                    "conditions": (n_trials,)}
        for name, want in expected.items():
            got = getattr(self, name).shape
            if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
                raise ValueError(f"{name} has shape {got} but spikes have {self.spikes.shape}; expected "
                                 f"{tuple('any' if w is None else w for w in want)}")
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


def subset(data, idx):
    """The trials `idx` (indices, a slice or a boolean mask over trials) as a new `SpikingData`."""
    if not isinstance(data, SpikingData):
        raise TypeError(f"data must be a SpikingData, got {type(data).__name__}")
    if not isinstance(idx, slice):
        idx = np.asarray(idx)
        if idx.size == 0:
            raise ValueError("idx selects no trial")
        if idx.dtype == bool:
            if idx.shape != (data.n_trials,):
                raise ValueError(f"a boolean idx must have shape ({data.n_trials},), got {idx.shape}")
        elif not np.issubdtype(idx.dtype, np.integer) or idx.ndim != 1:
            raise ValueError(f"idx must be a 1-D array of trial indices, a slice or a boolean mask, "
                             f"got dtype {idx.dtype} and shape {idx.shape}")
        elif idx.size and (idx.min() < -data.n_trials or idx.max() >= data.n_trials):
            raise ValueError(f"idx has trial indices outside [0, {data.n_trials}) "
                             f"(min {idx.min()}, max {idx.max()})")
    picked = {f.name: getattr(data, f.name)[idx] for f in dataclasses.fields(data) if f.name != "bin_size"}
    if picked["spikes"].shape[0] == 0:
        raise ValueError("idx selects no trial")
    return SpikingData(bin_size=data.bin_size, **picked)


def split(data, sizes, key=None):
    """Split trials into parts (e.g. train / valid / test); returns a list of `SpikingData`.

    `sizes` are fractions summing to at most 1 (e.g. (0.8, 0.2)) or whole trial counts summing
    to more than 1 and at most `data.n_trials` (e.g. (800, 100, 100)). Trials are shuffled by `key` (a
    `jax.random` key or an integer seed) first; with `key=None` they keep their order.
    Parts never overlap, and each must get at least one trial.
    """
    if not isinstance(data, SpikingData):
        raise TypeError(f"data must be a SpikingData, got {type(data).__name__}")
    sizes = np.atleast_1d(np.asarray(sizes, dtype=float))
    if sizes.ndim != 1 or sizes.size == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise ValueError(f"sizes must be positive fractions or trial counts, got {sizes.tolist()}")
    n = data.n_trials
    if np.all(sizes == np.round(sizes)) and sizes.sum() > 1:            # trial counts
        counts = sizes.astype(int)
        if counts.sum() > n:
            raise ValueError(f"sizes ask for {counts.sum()} trials ({counts.tolist()}) but data has {n}")
    else:
        if sizes.sum() > 1 + 1e-9:
            raise ValueError(f"fractions must sum to at most 1, got {sizes.tolist()} (sum {sizes.sum():.3g})")
        bounds = np.round(np.cumsum(sizes) * n).astype(int)
        counts = np.diff(bounds, prepend=0)
        if np.any(counts < 1):
            raise ValueError(f"fractions {sizes.tolist()} of {n} trials leave a part with no trial "
                             f"(counts {counts.tolist()})")
    order = np.arange(n) if key is None else _streams(key, 1)[0].permutation(n)
    starts = np.cumsum(counts) - counts
    return [subset(data, order[s:s + c]) for s, c in zip(starts, counts)]


def integrator_spikes(key, n_trials, max_pulses=2, pulse_size=8.0, max_rate_hz=INTEGRATOR_MAX_RATE_HZ,
                      params=None, noise_scale=0.25):
    """Poisson spikes from the trained integrator RNN's 100 hidden units (the LFADS tutorial's data).

    Each trial's input is u_t = bias + noise_scale * noise_std * xi_t (bias uniform in
    [-0.025, 0.025], noise_std = 0.125 as in `integrator.make_trials`) plus 0 to `max_pulses`
    pulses (the count uniform), each one bin long at a random bin, of size `pulse_size` times
    noise_std with a random sign. The network runs from h_0 = 0 for 25 bins of 40 ms; neuron i
    fires at rates = (h_i + 1) / 2 * max_rate_hz * 0.04 spikes per bin. latents are the hidden
    states h (trials, 25, 100); inputs the whole input u, pulses its pulse part; conditions
    1 where the bias is positive, else 0. `params` defaults to `integrator.load_trained()`.
    The defaults (a quarter of the training noise, pulses of 8 noise stds = 1.0) make the
    latent a staircase of pulses on a slow drift: at the training noise level the rates barely
    move against Poisson noise (no method, LFADS included, got past R^2 0.65 on held-out trials),
    while with these the pulses are there to be inferred.
    """
    _check_count("n_trials", n_trials)
    _check_count("max_pulses", max_pulses, least=0)
    _check_positive("max_rate_hz", max_rate_hz)
    if not (np.isscalar(noise_scale) and np.isfinite(noise_scale) and noise_scale >= 0):
        raise ValueError(f"noise_scale multiplies the input noise and must be >= 0, got {noise_scale!r}")
    if not (np.isscalar(pulse_size) and np.isfinite(pulse_size) and pulse_size >= 0):
        raise ValueError(f"pulse_size is a multiple of the noise std and must be >= 0, got {pulse_size!r}")
    bias_rng, noise_rng, pulse_rng, spike_rng = _streams(key, 4)
    n_trials, n_steps, noise_std = int(n_trials), integrator.N_STEPS, integrator.NOISE_STD
    bias = bias_rng.uniform(-integrator.BIAS_MAX, integrator.BIAS_MAX, n_trials)
    noise = noise_scale * noise_std * noise_rng.standard_normal((n_trials, n_steps))
    n_pulses = pulse_rng.integers(0, int(max_pulses) + 1, n_trials)
    times = pulse_rng.integers(0, n_steps, (n_trials, int(max_pulses)))
    signs = pulse_rng.choice([-1.0, 1.0], (n_trials, int(max_pulses)))
    used = np.arange(int(max_pulses)) < n_pulses[:, None]               # (n_trials, max_pulses)
    pulses = np.zeros((n_trials, n_steps))
    np.add.at(pulses, (np.arange(n_trials)[:, None], times), pulse_size * noise_std * signs * used)
    inputs = (bias[:, None] + noise + pulses)[..., None].astype(np.float32)
    hidden = np.asarray(_run_rnn(params if params is not None else _trained_integrator(), inputs)[0])
    rates = (hidden + np.float32(1.0)) * np.float32(max_rate_hz * integrator.DT / 2)
    return SpikingData(_poisson(spike_rng, rates), rates, hidden, inputs, (bias > 0).astype(np.int32),
                       integrator.DT, pulses[..., None])


def chaotic_rnn_spikes(key, n_conditions=400, trials_per_condition=10, n_neurons=50, n_bins=100,
                       bin_size=0.01, gain=1.5, tau=0.025, max_rate=30.0, pulses=False,
                       pulse_amplitude=PULSE_AMPLITUDE, pulse_bins=3, dt=0.001, select_network=True):
    """Poisson spikes from the LFADS paper's chaotic RNN; returns a `SpikingData`.

    A random network of n_neurons units, J ~ N(0, 1/N), input weights B ~ N(0, 1),
    tau dx/dt = -x + gain * J tanh(x) + B u(t), integrated by Euler steps of `dt` seconds
    (`bin_size` must be a whole number of them). Each condition starts from its own
    x_0 ~ N(0, 1), shared by its `trials_per_condition` trials, which differ only by Poisson
    noise, and by their pulses when `pulses=True`: then each trial receives one input pulse
    u = pulse_amplitude for `pulse_bins` bins, starting at a random bin such that the whole
    pulse lies in 0.25-0.75 s. Each unit is one neuron (the network size is n_neurons), firing
    at rates = max_rate * (tanh(x) + 1) / 2 * bin_size spikes per bin (max_rate in Hz), x
    read at the start of each bin. latents are x (trials, n_bins, n_neurons); inputs and pulses
    are u (trials, n_bins, 1), zeros without pulses; conditions the condition index, trials
    ordered condition by condition.

    Chaos in a network of only 50 units is fragile: finite-size effects make most random
    networks at gain 1.5 settle, within a second or two, onto a fixed point (silent rates) or a
    periodic cycle shared by all conditions (the paper's authors fixed their network's seed by
    hand). With `select_network`, networks are drawn from the key in turn until one is
    chaotic-looking: from 16 random initial states, run 4 s, its activity in the last 2 s
    neither fades (rate std over time >= MIN_ACTIVITY of the max rate in every run) nor repeats
    itself (in the median run, a 300 ms stretch stays >= MIN_IRREGULARITY of the variance away
    from every later stretch, 30 ms to 1.7 s later), and every condition of this dataset stays
    active in the trial's second half (the same std test). About one network in 30 passes. `select_network=False` takes the first network drawn.
    """
    for name, n in (("n_conditions", n_conditions), ("trials_per_condition", trials_per_condition),
                    ("n_neurons", n_neurons), ("pulse_bins", pulse_bins)):
        _check_count(name, n)
    _check_count("n_bins", n_bins, least=2)
    for name, value in (("bin_size", bin_size), ("tau", tau), ("max_rate", max_rate), ("dt", dt)):
        _check_positive(name, value)
    for name, value, least in (("gain", gain, 0.0), ("pulse_amplitude", pulse_amplitude, -np.inf)):
        if isinstance(value, bool) or not (np.isscalar(value) and np.isfinite(value) and value >= least):
            raise ValueError(f"{name} must be a finite number{f' >= {least}' if least > -np.inf else ''}, "
                             f"got {value!r}")
    substeps = int(round(bin_size / dt))
    if substeps < 1 or abs(substeps * dt - bin_size) > 1e-6 * bin_size:
        raise ValueError(f"bin_size ({bin_size} s) must be a whole number of Euler steps dt ({dt} s)")
    if dt > 0.5 * tau:
        raise ValueError(f"dt ({dt} s) must be at most tau / 2 ({tau / 2} s) for Euler to be stable")
    n_conditions, trials_per_condition, n_neurons, n_bins, pulse_bins = (
        int(n_conditions), int(trials_per_condition), int(n_neurons), int(n_bins), int(pulse_bins))
    if pulses:
        window = _pulse_window(n_bins, bin_size, pulse_bins)
    n_trials = n_conditions * trials_per_condition
    network_rng, x0_rng, pulse_rng, spike_rng, probe_rng = _streams(key, 5)
    x0 = jnp.asarray(x0_rng.standard_normal((n_conditions, n_neurons)), jnp.float32)
    conditions = np.repeat(np.arange(n_conditions, dtype=np.int32), trials_per_condition)
    run = partial(_chaotic_run, gain=gain, dt_over_tau=dt / tau, substeps=substeps)
    probe = _Probe(probe_rng, n_neurons, bin_size)

    for draw in range(MAX_NETWORK_DRAWS if select_network else 1):
        if draw % _Probe.BATCH == 0:      # draw and probe networks a batch at a time
            J = network_rng.standard_normal((_Probe.BATCH, n_neurons, n_neurons)) / np.sqrt(n_neurons)
            B = network_rng.standard_normal((_Probe.BATCH, n_neurons, 1))
            J, B = jnp.asarray(J, jnp.float32), jnp.asarray(B, jnp.float32)
            chaotic = probe.looks_chaotic(_chaotic_run_many(J, B, probe.x0, probe.silence, gain, dt / tau,
                                                            substeps)) if select_network else None
        if select_network and not chaotic[draw % _Probe.BATCH]:
            continue
        network = J[draw % _Probe.BATCH], B[draw % _Probe.BATCH]
        x = run(*network, x0, jnp.zeros((n_conditions, n_bins, 1), jnp.float32))   # (conditions, bins, N)
        if not select_network or _activity(x[:, n_bins // 2:]).min() >= MIN_ACTIVITY:
            break
    else:
        raise RuntimeError(f"none of {MAX_NETWORK_DRAWS} random networks of {n_neurons} units at gain {gain} "
                           f"looked chaotic with every one of the {n_conditions} conditions active; use a "
                           "larger gain or network, or select_network=False")

    if pulses:   # every trial its own pulse, so every trial its own trajectory
        starts = pulse_rng.integers(window[0], window[1] + 1, n_trials)
        t = np.arange(n_bins)
        on = (t >= starts[:, None]) & (t < starts[:, None] + pulse_bins)
        u = np.asarray(pulse_amplitude * on, dtype=np.float32)[..., None]
        x = np.asarray(run(*network, x0[conditions], jnp.asarray(u)))
        rates = _chaotic_rates(x, max_rate * bin_size)
    else:        # the trials of a condition share x and rates: simulated once above
        u = np.zeros((n_trials, n_bins, 1), np.float32)
        x = np.asarray(x)
        rates = _chaotic_rates(x, max_rate * bin_size)[conditions]
        x = x[conditions]
    return SpikingData(_poisson(spike_rng, rates), rates, x, u, conditions, bin_size, u)


# --- helpers ---------------------------------------------------------------------------------

def _chaotic_rates(x, max_per_bin):
    """max rate * (tanh(x) + 1) / 2, in spikes per bin (float32)."""
    return np.float32(max_per_bin / 2) * (np.tanh(x, dtype=np.float32) + np.float32(1.0))


def _pulse_window(n_bins, bin_size, pulse_bins):
    """First and last start bin of a pulse lying wholly inside PULSE_WINDOW_S."""
    first = int(np.ceil(PULSE_WINDOW_S[0] / bin_size - 1e-6))
    end = int(np.floor(PULSE_WINDOW_S[1] / bin_size + 1e-6))     # the pulse ends before this bin
    if end > n_bins or end - pulse_bins < first:
        raise ValueError(f"pulses need trials of at least {PULSE_WINDOW_S[1]} s with room for a "
                         f"{pulse_bins}-bin pulse inside {PULSE_WINDOW_S} s; got {n_bins} bins of {bin_size} s")
    return first, end - pulse_bins


_run_rnn = jax.jit(vanilla_rnn.run_batch)   # (params, inputs) -> (hidden, outputs)


@lru_cache(maxsize=1)
def _trained_integrator():
    return integrator.load_trained()[0]


def _simulate(J, B, x0, u, gain, dt_over_tau, substeps):
    """Euler steps of tau dx/dt = -x + gain J tanh(x) + B u; x at the start of every bin.

    x0 (trials, N), u (trials, n_bins, n_in) held constant within a bin -> (trials, n_bins, N).
    """
    def bin_step(x, u_bin):
        drive = u_bin @ B.T

        def euler(x, _):
            return x + dt_over_tau * (-x + gain * jnp.tanh(x) @ J.T + drive), None

        x_next, _ = jax.lax.scan(euler, x, None, length=substeps)
        return x_next, x

    _, xs = jax.lax.scan(bin_step, x0, jnp.swapaxes(u, 0, 1))
    return jnp.swapaxes(xs, 0, 1)


_chaotic_run = jax.jit(_simulate, static_argnames="substeps")


@partial(jax.jit, static_argnames="substeps")
def _chaotic_run_many(J, B, x0, u, gain, dt_over_tau, substeps):
    """`_simulate` for a batch of networks J (K, N, N), B (K, N, n_in): (K, trials, n_bins, N)."""
    return jax.vmap(lambda j, b: _simulate(j, b, x0, u, gain, dt_over_tau, substeps))(J, B)


def _activity(x):
    """Per run: the std over time of rates / max rate, (tanh(x) + 1) / 2, averaged over units."""
    return np.asarray(((jnp.tanh(x) + 1) / 2).std(axis=1).mean(axis=-1))


class _Probe:
    """Test runs that tell a chaotic-looking network from one that settles or cycles."""
    BATCH, N_RUNS, SECONDS, LAST_S, WINDOW_S, SHIFTS_S = 8, 8, 3.0, 1.5, 0.3, (0.03, 1.2)

    def __init__(self, rng, n_neurons, bin_size):
        self.x0 = jnp.asarray(rng.standard_normal((self.N_RUNS, n_neurons)), jnp.float32)
        n_bins = int(round(self.SECONDS / bin_size))
        self.silence = jnp.zeros((self.N_RUNS, n_bins, 1), jnp.float32)
        self.last = int(round(self.LAST_S / bin_size))                 # the end of the run, in bins
        self.window = max(int(round(self.WINDOW_S / bin_size)), 2)
        lo, hi = (max(int(round(s / bin_size)), 1) for s in self.SHIFTS_S)
        self.shifts = np.arange(lo, min(hi, self.last - self.window) + 1)

    def looks_chaotic(self, x):
        """x (networks, runs, bins, N) -> (networks,) bool."""
        activity, repeat = _probe_scores(x[:, :, -self.last:], self.window, jnp.asarray(self.shifts))
        return np.asarray((activity >= MIN_ACTIVITY) & (repeat >= MIN_IRREGULARITY))


@partial(jax.jit, static_argnames="window")
def _probe_scores(x, window, shifts):
    """For each network: the least activity over its runs (no run may fade out), and the median
    over runs of how close the first `window` bins ever come to a later stretch (0: it repeats)."""
    level = (jnp.tanh(x) + 1) / 2                                       # (networks, runs, bins, N)
    activity = level.std(axis=2).mean(axis=-1).min(axis=1)
    start = level[:, :, :window]

    def distance(shift):                                                # -> (networks, runs)
        later = jax.lax.dynamic_slice_in_dim(level, shift, window, axis=2)
        return ((later - start) ** 2).mean(axis=2).sum(axis=-1)

    repeat = jax.vmap(distance)(shifts).min(axis=0) / jnp.maximum(level.var(axis=2).sum(axis=-1), 1e-12)
    return activity, jnp.median(repeat, axis=1)


def _poisson(rng, rates):
    """Poisson counts (int32) from NumPy's sampler: exact, and fast where JAX's sampler needs
    seconds to compile and run on a CPU."""
    return rng.poisson(np.asarray(rates, dtype=np.float64)).astype(np.int32)


def _streams(key, n):
    """n independent NumPy generators seeded from a jax.random key (or an integer seed).

    The randomness here is drawn with NumPy, seeded from the key: deterministic given the key,
    and free of the compilation that JAX's samplers need for every new shape on a CPU.
    """
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if key < 0:
            raise ValueError(f"an integer seed must be >= 0, got {key}")
        key = jax.random.key(int(key))
    if isinstance(key, jax.Array) and key.shape == () and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = np.asarray(jax.random.key_data(key)).ravel()
    elif isinstance(key, jax.Array) and key.dtype == jnp.uint32 and key.shape == (2,):   # legacy PRNGKey
        data = np.asarray(key)
    else:
        raise ValueError(f"key must be a jax.random key (e.g. jax.random.key(0)) or an integer seed >= 0, "
                         f"got {key!r}")
    return [np.random.default_rng([*data.tolist(), stream]) for stream in range(n)]


def _check_count(name, n, least=1):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        raise ValueError(f"{name} must be a whole number >= {least}, got {n!r}")


def _check_positive(name, value):
    if isinstance(value, bool) or not (np.isscalar(value) and np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a number > 0, got {value!r}")
