"""Time-warped population activity: every trial replays one latent trajectory at its own pace.

Notebook 01's neural-data example of attention. Trial-to-trial timing variability (Williams
et al. 2020, "Discovering precise temporal patterns in large-scale neural recordings through
robust and interpretable time warping") is modelled as one latent trajectory, the template,
which trial i replays through its own monotonic warp:

    warps[i, tau] = the (fractional) trial-i bin at which template bin tau occurs,
    latents[i, t] = template(w_i^{-1}(t)),   rates = exp(C latents + b),   spikes ~ Poisson(rates).

Warps keep both ends fixed, w(0) = 0 and w(n_bins - 1) = n_bins - 1 (trials are aligned at
start and end, e.g. to a cue and a response), and only the pace in between varies. An
attention decoder that reads trial bins to reproduce the template should look at t = w(tau) at
step tau; `warp_from_attention` reads that off its weights, and `align_by_likelihood` is the
reference it can be compared with: the best monotonic alignment under the true Poisson model.

The defaults make every template bin recognisable from one trial's spikes: 150 neurons at
5-80 Hz, a template that changes quickly (5 latents, 8 Fourier modes over 1 s in 20 ms bins),
and warps that move template bins by up to 14 bins (280 ms). Shapes follow the package layout:
spikes (trials, time, neurons), rates in spikes per bin, `bin_size` in seconds beside them.
The random draws use NumPy generators seeded from the JAX key: exact, reproducible, and
instant, where compiling JAX's samplers takes seconds on a CPU.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

N_BINS = 50          # time bins per trial
BIN_SIZE = 0.02      # seconds per bin: a trial lasts 1 s
MAX_SHIFT = 14.0     # largest shift of a template bin, in bins (280 ms)
MIN_SLOPE = 0.4      # a trial's clock never runs slower than 0.4 times the template's
WARP_MODES = 2       # half-sine bumps in a warp: smooth, one or two speed changes per trial
TEMPLATE_MODES = 8   # Fourier modes per latent: the template changes within ~100 ms


@dataclasses.dataclass(eq=False)
class WarpedTrials:
    """Spikes from time-warped trials with all the ground truth that made them."""
    spikes: jax.Array     # (n_trials, n_bins, n_neurons) int Poisson counts
    rates: jax.Array      # (n_trials, n_bins, n_neurons) true rates, spikes per bin
    latents: jax.Array    # (n_trials, n_bins, n_latents) the template at each trial's pace
    template: jax.Array   # (n_bins, n_latents)
    warps: jax.Array      # (n_trials, n_bins): warps[i, tau] = trial-i bin of template bin tau
    loadings: jax.Array   # (n_neurons, n_latents) C in rates = exp(C z + b)
    baselines: jax.Array  # (n_neurons,) b, in log spikes per bin
    bin_size: float       # seconds per bin

    @property
    def template_rates(self):
        """(n_bins, n_neurons) the rates of an unwarped trial, exp(C template + b), spikes per bin."""
        return jnp.exp(self.template @ self.loadings.T + self.baselines)


def random_warps(key, n_trials, n_bins=N_BINS, max_shift=MAX_SHIFT, n_modes=WARP_MODES,
                 min_slope=MIN_SLOPE):
    """Smooth increasing warps (n_trials, n_bins): warps[i, tau] = trial-i bin of template bin tau.

    w_i(tau) = tau + shift_i(tau), shift_i a random sum of `n_modes` half-sine bumps
    sin(pi k tau / (n_bins - 1)) (higher k smaller, so the warp is smooth), all zero at both
    ends: w(0) = 0 and w(n_bins - 1) = n_bins - 1 exactly. Each trial's largest shift is drawn
    uniformly from [max_shift / 2, max_shift] bins, then shrunk where needed so that every step
    w(tau + 1) - w(tau) >= min_slope: warps are strictly increasing and stay in [0, n_bins - 1].
    max_shift = 0 gives the identity.
    """
    _check_sizes(n_trials=n_trials, n_bins=n_bins, n_modes=n_modes)
    if not max_shift >= 0:
        raise ValueError(f"max_shift is a number of bins >= 0, got {max_shift}")
    if not 0 < min_slope < 1:
        raise ValueError(f"min_slope must be in (0, 1) (1 allows no warping), got {min_slope}")
    return jnp.asarray(_random_warps(_generator(key), int(n_trials), int(n_bins), max_shift,
                                     int(n_modes), min_slope), dtype=jnp.float32)


def invert_warps(warps):
    """The inverse maps, same shape: inverse[i, t] = template bin (fractional) at trial-i bin t.

    `warps` must be strictly increasing along time; trial bins before w(0) or after w(end)
    map to the template's ends (with `random_warps`, w(0) = 0 and w(end) = end, so none do).
    """
    warps = np.asarray(warps, dtype=float)
    if warps.ndim != 2 or warps.shape[1] < 2:
        raise ValueError(f"warps must have shape (n_trials, n_bins >= 2), got {warps.shape}")
    if not np.all(np.diff(warps, axis=1) > 0):
        raise ValueError("warps must be strictly increasing along time (axis 1)")
    tau = np.arange(warps.shape[1], dtype=float)
    return jnp.asarray(np.stack([np.interp(tau, w, tau) for w in warps]), dtype=jnp.float32)


def make_template(key, n_bins=N_BINS, n_latents=5, n_modes=TEMPLATE_MODES):
    """A smooth latent trajectory, (n_bins, n_latents), each latent zero-mean with unit variance.

    Each latent is a random Fourier series over the trial, u from 0 to 1:
    z(u) = sum_k (a_k cos(pi k u) + b_k sin(pi k u)) / k for k = 1..n_modes, a_k, b_k ~ N(0, 1).
    More modes make it change faster; with several latents it rarely revisits a state, so
    every template time is recognisable.
    """
    _check_sizes(n_bins=n_bins, n_latents=n_latents, n_modes=n_modes)
    return jnp.asarray(_template(_generator(key), int(n_bins), int(n_latents), int(n_modes)),
                       dtype=jnp.float32)


def make_warped_trials(key, n_trials, n_bins=N_BINS, n_neurons=150, n_latents=5, bin_size=BIN_SIZE,
                       max_rate_hz=80.0, min_rate_hz=5.0, max_shift=MAX_SHIFT,
                       template_modes=TEMPLATE_MODES, warp_modes=WARP_MODES):
    """Poisson spikes from one template replayed through random warps; returns `WarpedTrials`.

    rates = exp(C z + b) in spikes per bin. C and b are set per neuron so that, over the
    template, its rate runs from exactly `min_rate_hz` to a peak drawn uniformly from
    [(min_rate_hz + max_rate_hz) / 2, max_rate_hz]; warped trials visit the same states, so every
    rate lies in [min_rate_hz, max_rate_hz] * bin_size. max_shift = 0 gives unwarped trials.
    The template and the neurons depend on the key only, not on n_trials.
    """
    _check_sizes(n_trials=n_trials, n_bins=n_bins, n_neurons=n_neurons, n_latents=n_latents,
                 template_modes=template_modes, warp_modes=warp_modes)
    if not bin_size > 0:
        raise ValueError(f"bin_size is in seconds and must be > 0, got {bin_size}")
    if not 0 < min_rate_hz < max_rate_hz:
        raise ValueError(f"need 0 < min_rate_hz < max_rate_hz, got {min_rate_hz} and {max_rate_hz}")
    if not max_shift >= 0:
        raise ValueError(f"max_shift is a number of bins >= 0, got {max_shift}")
    template_rng, warp_rng, readout_rng, spike_rng = _generator(key, 4)
    template = _template(template_rng, int(n_bins), int(n_latents), int(template_modes))
    warps = _random_warps(warp_rng, int(n_trials), int(n_bins), max_shift, int(warp_modes), MIN_SLOPE)
    latents = np.asarray(template_at(template, invert_warps(warps)), dtype=float)  # template(w^-1(t))
    loadings, baselines = _tuned_readout(readout_rng, template, int(n_neurons), bin_size,
                                         min_rate_hz, max_rate_hz)
    rates = np.exp(latents @ loadings.T + baselines)
    spikes = spike_rng.poisson(rates)
    f32 = lambda x: jnp.asarray(x, dtype=jnp.float32)
    return WarpedTrials(jnp.asarray(spikes, dtype=jnp.int32), f32(rates), f32(latents), f32(template),
                        f32(warps), f32(loadings), f32(baselines), float(bin_size))


@jax.jit
def template_at(template, times):
    """The template at fractional bins, by linear interpolation: times (...) -> (..., n_latents).

    Times are clamped to [0, n_bins - 1]; at whole bins this is exactly template[times].
    """
    template, times = jnp.asarray(template), jnp.asarray(times, dtype=jnp.float32)
    if template.ndim != 2 or template.shape[0] < 2:
        raise ValueError(f"template must have shape (n_bins >= 2, n_latents), got {template.shape}")
    times = jnp.clip(times, 0, template.shape[0] - 1)
    lo = jnp.clip(jnp.floor(times).astype(jnp.int32), 0, template.shape[0] - 2)
    frac = (times - lo)[..., None]
    return (1 - frac) * template[lo] + frac * template[lo + 1]


@jax.jit
def unwarp(x, warps):
    """Align trials to template time: out[i, tau] = x[i] at trial bin warps[i, tau] (interpolated).

    x (n_trials, n_bins, n_features), e.g. rates or smoothed spikes; warps (n_trials, n_out),
    true or estimated. Averaging the result over trials undoes the timing jitter.
    """
    x, warps = jnp.asarray(x), jnp.asarray(warps)
    if x.ndim != 3 or warps.ndim != 2 or warps.shape[0] != x.shape[0]:
        raise ValueError(f"need x (n_trials, n_bins, n_features) and warps (n_trials, n_out), "
                         f"got {x.shape} and {warps.shape}")
    return jax.vmap(template_at)(x, warps)


def align_by_likelihood(spikes, template_rates):
    """The most likely monotonic warps under the Poisson model, by dynamic programming.

    spikes (n_trials, n_bins, n_neurons) counts; template_rates (n_template, n_neurons), the
    rates of an unwarped trial in spikes per bin (`WarpedTrials.template_rates`). Every trial
    bin t is assigned one template bin s(t), never decreasing, from s(0) = 0 to s(end) =
    n_template - 1, to maximise sum_t log Poisson(spikes[t] | template_rates[s(t)]) (dynamic
    time warping with the exact likelihood). The warp estimate for template bin tau is the
    mean trial bin assigned to it, interpolated across template bins the path skips.
    Returns warps (n_trials, n_template) as NumPy floats, comparable with `WarpedTrials.warps`.

    It knows the generative model exactly (Poisson, the true template's rates), so it is the
    reference a learned aligner can hope to approach, not a method for real data.
    """
    spikes, rates = np.asarray(spikes, dtype=float), np.asarray(template_rates, dtype=float)
    if spikes.ndim != 3 or 0 in spikes.shape:
        raise ValueError(f"spikes must have shape (n_trials, n_bins, n_neurons), none empty, "
                         f"got {spikes.shape}")
    if rates.ndim != 2 or rates.shape[0] < 2 or rates.shape[1] != spikes.shape[2]:
        raise ValueError(f"template_rates must have shape (n_template >= 2, n_neurons={spikes.shape[2]}) "
                         f"to match spikes {spikes.shape}, got {rates.shape}")
    if not (np.all(np.isfinite(rates)) and np.all(rates > 0)):
        raise ValueError("template_rates must be finite and > 0 (spikes per bin)")
    if np.any(spikes < 0) or not np.all(np.isfinite(spikes)):
        raise ValueError("spikes must be finite, non-negative counts")
    n_trials, n_bins, _ = spikes.shape
    n_template = rates.shape[0]
    if n_bins < 2:
        raise ValueError(f"need n_bins >= 2 trial bins to align both ends, got {n_bins}")
    loglik = spikes @ np.log(rates).T - rates.sum(axis=1)         # (trials, t, s), up to log k!
    best = np.full((n_trials, n_template), -np.inf)
    best[:, 0] = loglik[:, 0, 0]                                  # s(0) = 0
    came_from = np.zeros((n_bins, n_trials, n_template), dtype=np.int32)
    s_index = np.arange(n_template)
    for t in range(1, n_bins):
        # The best path into (t, s) comes from some s' <= s at t - 1: a running maximum.
        running = np.maximum.accumulate(best, axis=1)
        came_from[t] = np.maximum.accumulate(np.where(best >= running, s_index, 0), axis=1)
        best = running + loglik[:, t]
    path = np.zeros((n_trials, n_bins), dtype=int)
    path[:, -1] = n_template - 1                                  # s(end) = n_template - 1
    rows = np.arange(n_trials)
    for t in range(n_bins - 1, 0, -1):
        path[:, t - 1] = came_from[t, rows, path[:, t]]
    warps = np.empty((n_trials, n_template))
    bins = np.arange(n_bins, dtype=float)
    for i in range(n_trials):
        visited = np.unique(path[i])
        mean_bin = np.array([bins[path[i] == s].mean() for s in visited])
        warps[i] = np.interp(s_index, visited, mean_bin)
    return warps


def warp_from_attention(weights, method="argmax"):
    """Estimate warps from attention weights (..., n_out, n_in): the bin each output step reads.

    weights[..., tau, t] is how much output step tau (template time) reads input bin t (trial
    time), so the estimate of warps[..., tau] is where row tau looks:
    "argmax", the most attended input bin (a whole number), or
    "mean", the attention-weighted mean input bin sum_t t a[tau, t] / sum_t a[tau, t]
    (fractional, and often more precise when the attention spreads over neighbouring bins).
    Returns (..., n_out) float (NumPy).
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim < 2 or 0 in weights.shape[-2:]:
        raise ValueError(f"weights must have shape (..., n_out, n_in) with n_out, n_in >= 1, "
                         f"got {weights.shape}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError("weights must be finite and non-negative (attention weights)")
    if method == "argmax":
        return np.argmax(weights, axis=-1).astype(float)
    if method == "mean":
        total = weights.sum(axis=-1)
        if np.any(total == 0):
            raise ValueError("some output step has all-zero weights (a fully masked query?), "
                             "so its weighted mean bin is undefined; use method='argmax'")
        return weights @ np.arange(weights.shape[-1]) / total
    raise ValueError(f"method must be 'argmax' or 'mean', got {method!r}")


def mean_abs_warp_error(estimated, true):
    """Mean over all trials and steps of |estimated - true|, in bins."""
    estimated, true = np.asarray(estimated, dtype=float), np.asarray(true, dtype=float)
    if estimated.shape != true.shape:
        raise ValueError(f"estimated has shape {estimated.shape} but true has {true.shape}; they must match")
    if estimated.size == 0:
        raise ValueError("estimated and true are empty")
    if not (np.all(np.isfinite(estimated)) and np.all(np.isfinite(true))):
        raise ValueError("estimated or true contains NaN or inf")
    return float(np.mean(np.abs(estimated - true)))


def _check_sizes(**sizes):
    """Every size must be a whole number >= 1; n_bins must be >= 2 (a warp needs two ends)."""
    for name, n in sizes.items():
        least = 2 if name == "n_bins" else 1
        if isinstance(n, bool) or int(n) != n or n < least:
            raise ValueError(f"need {name} >= {least} (a whole number), got {n!r}")


def _generator(key, n=None):
    """NumPy generator(s) seeded from a JAX PRNG key: one, or a list of n independent ones."""
    try:
        key = jnp.asarray(key)
        data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
        data = np.asarray(data)
    except TypeError:
        data = None
    if data is None or data.dtype != np.uint32 or data.size == 0:
        raise ValueError(f"key must be a JAX PRNG key (jax.random.key(seed)), got {key!r}")
    streams = np.random.SeedSequence([int(x) for x in data.ravel()]).spawn(n or 1)
    generators = [np.random.default_rng(s) for s in streams]
    return generators if n else generators[0]


def _random_warps(rng, n_trials, n_bins, max_shift, n_modes, min_slope):
    tau = np.arange(n_bins, dtype=float)
    k = np.arange(1, n_modes + 1)
    bumps = np.sin(np.pi * k[:, None] * tau / (n_bins - 1))    # (n_modes, n_bins)
    bumps[:, [0, -1]] = 0.0                                      # exactly 0 at both ends
    shift = (rng.standard_normal((n_trials, n_modes)) / k) @ bumps
    size = rng.uniform(0.5, 1.0, (n_trials, 1)) * max_shift
    shift = shift * size / np.maximum(np.abs(shift).max(axis=1, keepdims=True), 1e-12)
    # Shrink (never grow) a trial's shift until its steepest fall leaves a slope of min_slope.
    if n_bins > 2:
        fall = np.max(-np.diff(shift, axis=1), axis=1, keepdims=True)
        shift = shift * np.minimum(1.0, (1.0 - min_slope) / np.maximum(fall, 1e-12))
    return tau + shift


def _template(rng, n_bins, n_latents, n_modes):
    u = np.linspace(0.0, 1.0, n_bins)[:, None]
    k = np.arange(1, n_modes + 1)
    a, b = rng.standard_normal((2, n_modes, n_latents)) / k[:, None]
    z = np.cos(np.pi * k * u) @ a + np.sin(np.pi * k * u) @ b
    return (z - z.mean(axis=0)) / z.std(axis=0)


def _tuned_readout(rng, template, n_neurons, bin_size, min_rate_hz, max_rate_hz):
    """C and b such that each neuron's rate exp(C z + b) over the template runs from min_rate_hz
    to a random peak in [(min + max) / 2, max] Hz: every neuron tuned, none silent or saturated."""
    C = rng.standard_normal((n_neurons, template.shape[1]))
    drive = template @ C.T                                  # (n_bins, n_neurons)
    low, high = drive.min(axis=0), drive.max(axis=0)
    peak_hz = rng.uniform((min_rate_hz + max_rate_hz) / 2, max_rate_hz, n_neurons)
    gain = np.log(peak_hz / min_rate_hz) / np.maximum(high - low, 1e-6)
    return C * gain[:, None], np.log(min_rate_hz * bin_size) - gain * low
