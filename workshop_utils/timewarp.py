"""Time-warped population activity: every trial replays one latent trajectory at its own pace.

Notebook 01's neural-data example of attention. Trial-to-trial timing variability (Williams
et al. 2020, "Discovering precise temporal patterns in large-scale neural recordings through
robust and interpretable time warping") is modelled as one smooth latent trajectory, the
template, which trial i replays through its own monotonic warp:

    warps[i, tau] = the (fractional) trial-i bin at which template bin tau occurs,
    latents[i, t] = template(w_i^{-1}(t)),   rates = exp(C latents + b),   spikes ~ Poisson(rates).

Warps keep both ends fixed, w(0) = 0 and w(n_bins - 1) = n_bins - 1 (trials are aligned at
start and end, e.g. to a cue and a response), and only the pace in between varies. An
attention decoder that reads trial bins to reproduce the template should look at t = w(tau) at
step tau; `warp_from_attention` reads that off its weights. Shapes follow the package layout:
spikes (trials, time, neurons), rates in spikes per bin, `bin_size` in seconds beside them.
"""

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

N_BINS = 100        # time bins per trial
BIN_SIZE = 0.01     # seconds per bin: a trial lasts 1 s
MAX_SHIFT = 10.0    # largest shift of a template bin, in bins (100 ms)
MIN_SLOPE = 0.5     # a trial's clock never runs slower than half the template's


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


def random_warps(key, n_trials, n_bins, max_shift=MAX_SHIFT, n_modes=3, min_slope=MIN_SLOPE):
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
    return _random_warps(key, n_trials, n_bins, max_shift, n_modes=n_modes, min_slope=min_slope)


def invert_warps(warps):
    """The inverse maps, same shape: inverse[i, t] = template bin (fractional) at trial-i bin t.

    `warps` must be strictly increasing along time; trial bins before w(0) or after w(end)
    map to the template's ends (with `random_warps`, w(0) = 0 and w(end) = end, so none do).
    """
    warps = jnp.asarray(warps, dtype=jnp.float32)
    if warps.ndim != 2 or warps.shape[1] < 2:
        raise ValueError(f"warps must have shape (n_trials, n_bins >= 2), got {warps.shape}")
    if not np.all(np.diff(np.asarray(warps), axis=1) > 0):
        raise ValueError("warps must be strictly increasing along time (axis 1)")
    return _invert(warps)


@partial(jax.jit, static_argnames=("n_bins", "n_latents", "n_modes"))
def make_template(key, n_bins=N_BINS, n_latents=3, n_modes=4):
    """A smooth latent trajectory, (n_bins, n_latents), each latent zero-mean with unit variance.

    Each latent is a random Fourier series over the trial, u from 0 to 1:
    z(u) = sum_k (a_k cos(pi k u) + b_k sin(pi k u)) / k for k = 1..n_modes, a_k, b_k ~ N(0, 1).
    Smooth, and (with a few latents) rarely revisiting a state, so every template time is
    recognisable.
    """
    _check_sizes(n_bins=n_bins, n_latents=n_latents, n_modes=n_modes)
    u = jnp.linspace(0.0, 1.0, n_bins)[:, None]
    k = jnp.arange(1, n_modes + 1)
    a, b = jax.random.normal(key, (2, n_modes, n_latents)) / k[:, None]
    z = jnp.cos(jnp.pi * k * u) @ a + jnp.sin(jnp.pi * k * u) @ b
    return (z - z.mean(axis=0)) / z.std(axis=0)


def make_warped_trials(key, n_trials, n_bins=N_BINS, n_neurons=50, n_latents=3, bin_size=BIN_SIZE,
                       max_rate_hz=40.0, min_rate_hz=5.0, max_shift=MAX_SHIFT):
    """Poisson spikes from one template replayed through random warps; returns `WarpedTrials`.

    rates = exp(C z + b) in spikes per bin. C and b are set per neuron so that, over the
    template, its rate runs from exactly `min_rate_hz` to a peak drawn uniformly from
    [(min_rate_hz + max_rate_hz) / 2, max_rate_hz]; warped trials visit the same states, so every
    rate lies in [min_rate_hz, max_rate_hz] * bin_size. max_shift = 0 gives unwarped trials.
    """
    _check_sizes(n_trials=n_trials, n_bins=n_bins, n_neurons=n_neurons, n_latents=n_latents)
    if not bin_size > 0:
        raise ValueError(f"bin_size is in seconds and must be > 0, got {bin_size}")
    if not 0 < min_rate_hz < max_rate_hz:
        raise ValueError(f"need 0 < min_rate_hz < max_rate_hz, got {min_rate_hz} and {max_rate_hz}")
    if not max_shift >= 0:
        raise ValueError(f"max_shift is a number of bins >= 0, got {max_shift}")
    template_key, warp_key, readout_key, spike_key = jax.random.split(key, 4)
    template = make_template(template_key, n_bins, n_latents)
    warps = random_warps(warp_key, n_trials, n_bins, max_shift)
    latents = template_at(template, invert_warps(warps))   # latents[i, t] = template(w_i^-1(t))
    rates, loadings, baselines = _tuned_rates(readout_key, template, latents, n_neurons, bin_size,
                                              min_rate_hz, max_rate_hz)
    # NumPy's Poisson sampler, seeded from the key: exact, reproducible, and instant, where
    # jax.random.poisson takes seconds to compile on a CPU.
    rng = np.random.default_rng(np.asarray(jax.random.key_data(spike_key)))
    spikes = jnp.asarray(rng.poisson(np.asarray(rates, dtype=np.float64)), dtype=jnp.int32)
    return WarpedTrials(spikes, rates, latents, template, warps, loadings, baselines, float(bin_size))


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
        if int(n) != n or n < least:
            raise ValueError(f"need {name} >= {least} (a whole number), got {n!r}")


@jax.jit
def _invert(warps):
    tau = jnp.arange(warps.shape[1], dtype=jnp.float32)
    return jax.vmap(lambda w: jnp.interp(tau, w, tau))(warps)


@partial(jax.jit, static_argnames=("n_trials", "n_bins", "n_modes"))
def _random_warps(key, n_trials, n_bins, max_shift, n_modes, min_slope):
    """random_warps, compiled once per size; max_shift and min_slope may change freely."""
    coef_key, size_key = jax.random.split(key)
    tau = jnp.arange(n_bins, dtype=jnp.float32)
    k = jnp.arange(1, n_modes + 1)
    bumps = jnp.sin(jnp.pi * k[:, None] * tau / (n_bins - 1))   # (n_modes, n_bins)
    bumps = bumps.at[:, -1].set(0.0)                            # sin(pi k) is not exactly 0 in float32
    shift = (jax.random.normal(coef_key, (n_trials, n_modes)) / k) @ bumps

    size = jax.random.uniform(size_key, (n_trials, 1), minval=0.5, maxval=1.0) * max_shift
    shift = shift * size / jnp.maximum(jnp.max(jnp.abs(shift), axis=1, keepdims=True), 1e-12)
    # Shrink (never grow) a trial's shift until its steepest fall leaves a slope of min_slope.
    fall = jnp.max(-jnp.diff(shift, axis=1), axis=1, keepdims=True)
    shift = shift * jnp.minimum(1.0, (1.0 - min_slope) / jnp.maximum(fall, 1e-12))
    return tau + shift


@partial(jax.jit, static_argnames="n_neurons")
def _tuned_rates(key, template, latents, n_neurons, bin_size, min_rate_hz, max_rate_hz):
    """rates = exp(C z + b), with C and b such that each neuron's rate over the template runs
    from min_rate_hz to a random peak; returns `(rates, C, b)`."""
    loading_key, peak_key = jax.random.split(key)
    C = jax.random.normal(loading_key, (n_neurons, template.shape[1]))
    drive = template @ C.T                                  # (n_bins, n_neurons)
    low, high = drive.min(axis=0), drive.max(axis=0)
    peak_hz = jax.random.uniform(peak_key, (n_neurons,), minval=(min_rate_hz + max_rate_hz) / 2,
                                 maxval=max_rate_hz)
    # Rescale each neuron's loading so its log-rate spans [log min_rate, log peak] exactly:
    # every neuron is tuned, none silent or saturated.
    gain = jnp.log(peak_hz / min_rate_hz) / jnp.maximum(high - low, 1e-6)
    loadings = C * gain[:, None]
    baselines = jnp.log(min_rate_hz * bin_size) - gain * low
    return jnp.exp(latents @ loadings.T + baselines), loadings, baselines
