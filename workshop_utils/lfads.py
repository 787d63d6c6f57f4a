"""LFADS: latent factor analysis via dynamical systems (Pandarinath et al. 2018), in Flax NNX.

A sequential variational auto-encoder for spike counts shaped (trials, time, neurons):

    encoder   e_t = [GRU_fwd(x)_t, GRU_bwd(x)_t]          a bidirectional GRU reads the spikes
    g0        q(g0 | x) = N(mu, sigma^2) from [e_T(fwd), e_1(bwd)],  prior N(mu_p, sigma_p^2)
    controller c_t = GRU(c_{t-1}, [e_t, f_{t-1}])         reads the encoder and its own output
    inputs    q(u_t | x) = N(mu_u(c_t), sigma_u(c_t)^2),  prior AR(1): u_t = a u_{t-1} + noise
    generator g_t = GRU(g_{t-1}, u_t)                     the dynamical system itself
    factors   f_t = W_f g_t, each row of W_f of unit length
    rates     log r_t = W_r f_t + b_r,   x_t ~ Poisson(r_t)   (spikes per bin)

Two calls do everything: `model = fit(spikes, seed=0)` and `posterior_rates(model, spikes)`.
Training maximises the ELBO with the habits that make LFADS work: KL and L2 warm-up, dropout,
coordinated dropout (the reconstruction is scored only on input entries hidden from the
encoder, so the model cannot just copy its input), gradient clipping, and early stopping on a
validation split. Inference averages the rates of many posterior samples.
`generator_map(model)` is the trained generator's one-step map F(g, u), for the fixed-point
analysis of notebook 06.

For speed on a CPU (see benchmarks/lfads_throughput.py):
- everything that does not depend on the previous time step (the GRUs' input projections, the
  readout) is one big matrix product outside the time loops, and the GRUs use the
  "reset-after" form, which needs a single recurrent matrix product per step;
- the two loops (`gru_sequence` for each encoder direction, `_generate` for the controller and
  generator) have hand-written gradients (`jax.custom_vjp`) and do as little per step as they
  can: a step's cost is mostly the launching of its small kernels (see the comments there);
- the dropout masks are a cheap counter hash, fused into the kernels that use them
  (`random_mask`); the programs are compiled with XLA:CPU's older elementwise emitter
  (`XLA_CPU_OPTIONS`); and `workshop_utils` asks glibc to keep the memory XLA frees
  (`runtime.keep_freed_memory`);
- a training step's state is a few flat vectors (the parameters, Adam's moments) rather
  than a pytree of some eighty arrays, and it folds the step number into its key itself;
- on a CPU with two cores, each training step splits its batch in two, one half per core
  (`runtime.use_cpu_cores`, `runtime.data_parallel_mesh`): a program runs its loops' small
  kernels one at a time, so one program alone leaves the second core mostly idle. The noise
  is drawn for the whole batch and each half takes its slice, so a step computes the same
  numbers on one device or two.
"""

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from . import checkpoint, runtime, training

# For the programs that train and run LFADS: XLA:CPU's older emitter for fused elementwise
# kernels runs the many small kernels of the time loops about 1.25x quicker, and compiles
# them in half the time (see benchmarks/lfads_throughput.py). Other backends ignore it.
XLA_CPU_OPTIONS = {"xla_cpu_use_fusion_emitters": False}
VAR_FLOOR = 1e-4  # posterior variances never go below this, so log q stays finite
INIT_LOGVAR = math.log(0.01)  # the posteriors' initial log variance


# ----------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class Config:
    """Sizes and training options. The defaults suit a few hundred trials, tens of neurons
    and tens to a hundred bins; `n_inputs=0` removes the controller (no inferred inputs)."""
    n_neurons: int
    n_bins: int
    encoder_size: int = 64
    controller_size: int = 32
    n_inputs: int = 1
    generator_size: int = 64
    n_factors: int = 16
    g0_reads_sequence: bool = False     # g0's posterior mean also reads every input bin directly
    generator_oscillators: int = 0      # generator unit pairs that start as damped rotations
    g0_prior_var: float = 0.1           # sigma_p^2 of the initial-state prior
    input_prior_tau: float = 10.0       # initial AR(1) time constant of the input prior, in bins
    input_prior_var: float = 0.1        # initial stationary variance of the input prior
    dropout: float = 0.05
    coordinated_dropout: float = 0.3    # fraction of input entries hidden from the encoder
    l2_weight: float = 1e-6             # on the recurrent weights, per entry of the data
    kl_warmup: int = 500                # steps over which the KL and L2 weights ramp 0 -> 1
    kl_scale: float = 1.0               # final weight of the KL terms (1 = the true ELBO)
    learning_rate: float = 4e-3
    lr_decay: float = 0.05              # final learning rate = learning_rate * lr_decay
    grad_clip: float = 1.0
    batch_size: int = 128
    n_steps: int = 3000
    valid_fraction: float = 0.2
    eval_every: int = 100
    patience: int = 10                  # evaluations without improvement before stopping

    def __post_init__(self):
        for name in ("n_neurons", "n_bins", "encoder_size", "generator_size", "n_factors",
                     "batch_size", "eval_every"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("n_inputs", "controller_size", "n_steps", "kl_warmup", "patience"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(self.g0_reads_sequence, bool):
            raise ValueError(f"g0_reads_sequence must be True or False, got {self.g0_reads_sequence!r}")
        if not (isinstance(self.generator_oscillators, (int, np.integer))
                and 0 <= 2 * self.generator_oscillators <= self.generator_size):
            raise ValueError(f"generator_oscillators is a number of unit pairs and must be in [0, "
                             f"generator_size / 2] = [0, {self.generator_size // 2}], got "
                             f"{self.generator_oscillators!r}")
        if self.n_inputs > 0 and self.controller_size < 1:
            raise ValueError(f"n_inputs={self.n_inputs} needs a controller: controller_size must be "
                             f">= 1, got {self.controller_size}")
        for name in ("dropout", "coordinated_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be in (0, 1), got {self.valid_fraction!r}")
        for name in ("g0_prior_var", "input_prior_tau", "input_prior_var", "learning_rate",
                     "lr_decay", "grad_clip", "kl_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")


# ------------------------------------------------------------------------------------ pieces
class GRU(nnx.Module):
    """A GRU cell split in two: `project` (inputs, any number of steps at once) and `step`.

    Reset-after form (as in cuDNN): r, z = sigmoid(x_rz + h U_rz + b), n = tanh(x_n + r * (h U_n
    + b_n)), h' = z h + (1 - z) n. The update gate's bias starts at +1 so the cell begins by
    remembering, as LFADS does.
    """

    def __init__(self, n_in, n_hidden, rngs):
        h = n_hidden
        self.n_hidden = h
        self.W_x = nnx.Param(jax.random.normal(rngs.params(), (n_in, 3 * h)) / math.sqrt(n_in))
        self.W_h = nnx.Param(jax.random.normal(rngs.params(), (h, 3 * h)) / math.sqrt(h))
        self.b_x = nnx.Param(jnp.zeros(3 * h).at[h:2 * h].set(1.0))  # gates r, z, candidate n
        self.b_h = nnx.Param(jnp.zeros(3 * h))

    def project(self, x):
        return rows_matmul(x, self.W_x[...]) + self.b_x[...]

    def step(self, h, x_proj):
        return gru_update(h, x_proj, h @ self.W_h[...] + self.b_h[...])


def rows_matmul(x, W):
    """x @ W for x of any shape (..., K), as one 2-D product over all the rows: for a 3-D x,
    XLA:CPU computes the weight gradient (a contraction over two axes) much more slowly."""
    return (x.reshape(-1, x.shape[-1]) @ W).reshape(*x.shape[:-1], W.shape[-1])


def gru_update(h, x_proj, h_proj):
    """The GRU's gating given both projections, each (..., 3 * hidden) ordered (r, z, n)."""
    return _gates(h, *jnp.split(x_proj, 3, axis=-1), h_proj)[0]


class Linear(nnx.Module):
    def __init__(self, n_in, n_out, rngs, scale=1.0, bias=True):
        self.W = nnx.Param(scale * jax.random.normal(rngs.params(), (n_in, n_out)) / math.sqrt(n_in))
        self.b = nnx.Param(jnp.zeros(n_out)) if bias else None

    def __call__(self, x):
        y = rows_matmul(x, self.W[...])
        return y if self.b is None else y + self.b[...]


# ------------------------------------------------------------------------------------- model
class LFADS(nnx.Module):
    """The LFADS network. Call `model(spikes, key)` for one pass (see `forward`)."""

    def __init__(self, config: Config, rngs: nnx.Rngs, mean_rates=None):
        c = self.config = config
        E, C, G, F, U = (c.encoder_size, c.controller_size, c.generator_size, c.n_factors,
                         c.n_inputs)
        self.encoder_fwd = GRU(c.n_neurons, E, rngs)
        self.encoder_bwd = GRU(c.n_neurons, E, rngs)
        # Posteriors output (mean, log variance). They start narrow (variance 0.01): wide ones
        # would drown the generator in sampling noise, and it would learn to ignore them.
        self.g0_posterior = Linear(2 * E, 2 * G, rngs, scale=0.1)
        self.g0_posterior.b[...] = jnp.zeros(2 * G).at[G:].set(INIT_LOGVAR)
        self.g0_prior_mean = nnx.Param(jnp.zeros(G))
        self.g0_prior_logvar = nnx.Param(jnp.full(G, math.log(c.g0_prior_var), dtype=jnp.float32))
        if U > 0:
            self.controller = GRU(2 * E + F, C, rngs)
            self.u_posterior = Linear(C, 2 * U, rngs, scale=0.1)
            self.u_posterior.b[...] = jnp.zeros(2 * U).at[U:].set(INIT_LOGVAR)
            alpha = math.exp(-1.0 / c.input_prior_tau)
            self.u_prior_logtau = nnx.Param(jnp.full(U, math.log(c.input_prior_tau), dtype=jnp.float32))
            self.u_prior_lognvar = nnx.Param(jnp.full(U, math.log(c.input_prior_var * (1 - alpha**2)), dtype=jnp.float32))
        self.generator = GRU(max(U, 1), G, rngs)  # with no inputs the generator is autonomous
        if c.generator_oscillators:
            oscillator_bank(self.generator, c.generator_oscillators)
        if c.g0_reads_sequence:  # starts at zero: the model begins as plain LFADS
            self.g0_sequence = nnx.Param(jnp.zeros((c.n_bins, c.n_neurons, G)))
        self.factors_W = nnx.Param(jax.random.normal(rngs.params(), (G, F)) / math.sqrt(G))
        log_mean = jnp.log(jnp.clip(jnp.asarray(mean_rates if mean_rates is not None
                                                else jnp.ones(c.n_neurons)), 1e-3))
        self.readout = Linear(F, c.n_neurons, rngs, scale=0.1)
        self.readout.b[...] = log_mean  # start at each neuron's mean rate

    def factor_weights(self):
        """W_f with each factor's weight vector over generator units of unit length."""
        W = self.factors_W[...]
        return W / jnp.linalg.norm(W, axis=0, keepdims=True)

    def __call__(self, spikes, key, training=False):
        return forward(self, spikes, key, training)


def forward(model, spikes, key=None, training=False, noise=None):
    """One stochastic pass: encode, sample g0 and the inputs, run the generator.

    spikes: (batch, time, neurons) counts, already masked by the caller if it wants
    coordinated dropout. The randomness comes from `key`, or ready drawn as `noise` (see
    `draw_noise`). Returns a dict of arrays, batch first: `log_rates` (B, T, N),
    `factors` (B, T, F), `g0_mean`, `g0_logvar` (B, G), and with inputs `u` (the samples),
    `u_mean`, `u_logvar` (B, T, U), `gen_states` (B, T, G).
    """
    c = model.config
    B, T, _ = spikes.shape
    G, U = c.generator_size, c.n_inputs
    if noise is None:
        noise = draw_noise(key, c, B, T, training)

    x = jnp.swapaxes(spikes, 0, 1).astype(jnp.float32) * noise["keep_input"]    # (T, B, N)
    enc = _encode(model, x) * noise["keep_encoding"]                            # (T, B, 2E)
    # g0: from the forward encoder's last state and the backward encoder's first
    E = c.encoder_size
    g0_in = jnp.concatenate([enc[-1, :, :E], enc[0, :, E:]], axis=-1)
    g0_mean, g0_logvar = jnp.split(model.g0_posterior(g0_in), 2, axis=-1)
    if c.g0_reads_sequence:
        g0_mean = g0_mean + sequence_readout(model, x)
    g0_logvar = _floor_logvar(g0_logvar)
    g0 = g0_mean + jnp.exp(0.5 * g0_logvar) * noise["eps_g0"]   # reparameterisation

    W_f = model.factor_weights()
    gen = model.generator
    gen_keep = jnp.broadcast_to(noise["keep_generator"], (T, B, G))
    if U > 0:
        con = model.controller
        enc_proj = rows_matmul(enc, con.W_x[: 2 * E]) + con.b_x[...]    # (T, B, 3C), hoisted
        w = {"W_cf": con.W_x[2 * E:], "Wh_c": con.W_h[...], "bh_c": con.b_h[...],
             "W_u": model.u_posterior.W[...], "b_u": model.u_posterior.b[...],
             "Wx_g": gen.W_x[...], "bx_g": gen.b_x[...], "Wh_g": gen.W_h[...],
             "bh_g": gen.b_h[...], "W_f": W_f}
        g, f, u, u_mean, u_logvar = _generate(w, enc_proj, noise["eps_u"], gen_keep, g0, g0 @ W_f)
    else:  # an autonomous generator: its input is zero, so its input projection is b_x
        g = gru_sequence(jnp.broadcast_to(gen.b_x[...], (T, B, 3 * G)), gen.W_h[...],
                         gen.b_h[...], g0)
        f = (g * gen_keep) @ W_f
    out = {"log_rates": jnp.swapaxes(model.readout(f), 0, 1),
           "factors": jnp.swapaxes(f, 0, 1), "gen_states": jnp.swapaxes(g, 0, 1),
           "g0_mean": g0_mean, "g0_logvar": g0_logvar}
    if U > 0:
        out.update(u=jnp.swapaxes(u, 0, 1), u_mean=jnp.swapaxes(u_mean, 0, 1),
                   u_logvar=jnp.swapaxes(u_logvar, 0, 1))
    return out


def sequence_readout(model, x):
    """The extra term in g0's posterior mean with `g0_reads_sequence`: a learned linear map of
    every bin of the (T, B, N) input, sum_t x_t W_t / sqrt(T N). A GRU encoder forgets within a
    few bins; this matched filter over the whole trial can read the phase of a rhythm that the
    spikes of any few bins barely show."""
    T, _, N = x.shape
    W = model.g0_sequence[...]
    if W.shape[:2] != (T, N):
        raise ValueError(f"this model's g0 reads every bin of a trial of {W.shape[0]} bins and "
                         f"{W.shape[1]} inputs (g0_reads_sequence=True); got {T} bins of {N}")
    return jnp.einsum("tbn,tng->bg", x, W) / math.sqrt(T * N)


def oscillator_bank(gru, n_pairs, radius=0.98, cycles_per_bin=(0.03, 0.25)):
    """Start the first 2 n_pairs units of `gru` as uncoupled damped rotations (in place).

    Pair k turns at a frequency spread evenly over `cycles_per_bin` (3-25 Hz at 10 ms bins)
    with |eigenvalue| about `radius`: its update gate starts nearly open (bias -4), its reset
    gate nearly closed (+4), its candidate weights are a scaled rotation, and its weights to
    and from every other unit are zero. A generator started with random weights rarely finds
    a fast rhythm whose share of the loss is small; started with these, training can keep
    the frequencies it needs and damp the others.
    """
    G = gru.n_hidden
    W, b = np.array(gru.W_h[...]), np.array(gru.b_x[...])
    units = np.arange(2 * n_pairs)
    for gate in range(3):                          # (r, z, n) blocks of W_h's columns
        W[units, gate * G:(gate + 1) * G] = 0      # bank -> every unit
        W[:, gate * G + units] = 0                 # every unit -> bank
    b[units], b[G + units] = 4.0, -4.0
    r, z = 1 / (1 + np.exp(-4.0)), 1 / (1 + np.exp(4.0))
    gain = (radius - z) / ((1 - z) * r)            # linearised at 0: h' = z h + (1 - z) r h W_n
    for k, f in enumerate(np.linspace(*cycles_per_bin, n_pairs)):
        a, i, j = 2 * np.pi * f, 2 * k, 2 * k + 1
        W[i, 2 * G + i], W[i, 2 * G + j] = gain * np.cos(a), gain * np.sin(a)
        W[j, 2 * G + i], W[j, 2 * G + j] = -gain * np.sin(a), gain * np.cos(a)
    gru.W_h[...] = jnp.asarray(W, jnp.float32)
    gru.b_x[...] = jnp.asarray(b, jnp.float32)


def generator_map(model):
    """The generator's one-step map g_t = F(g_{t-1}, u_t), for `fixed_points.find_fixed_points`.

    model: a `TrainedLFADS` or an `LFADS`. F maps one state (generator_size,) and one input
    (n_inputs,) to the next state, the GRU step `forward` takes (an autonomous generator's
    input is one zero). A `jax.tree_util.Partial` over copies of the generator's weights, so
    the finder's compiled code is reused for another model of the same sizes.
    """
    lfads = model.model if isinstance(model, TrainedLFADS) else model
    if not isinstance(lfads, LFADS):
        raise TypeError(f"model must be what lfads.fit returned (TrainedLFADS) or an LFADS, "
                        f"got {type(model).__name__}")
    gen = lfads.generator
    weights = {name: jnp.asarray(getattr(gen, name)[...]) for name in ("W_x", "b_x", "W_h", "b_h")}
    return jax.tree_util.Partial(_generator_step, weights)


def _generator_step(w, g, u):
    return gru_update(g, u @ w["W_x"] + w["b_x"], g @ w["W_h"] + w["b_h"])


def _encode(model, x):
    """Both encoder directions; x is (T, B, N), the result (T, B, 2E)."""
    fwd, bwd = model.encoder_fwd, model.encoder_bwd
    h0 = jnp.zeros((x.shape[1], model.config.encoder_size))
    h_fwd = gru_sequence(fwd.project(x), fwd.W_h[...], fwd.b_h[...], h0)
    h_bwd = gru_sequence(bwd.project(x), bwd.W_h[...], bwd.b_h[...], h0, reverse=True)
    return jnp.concatenate([h_fwd, h_bwd], axis=-1)


# ------------------------------------------------------------------- recurrences, made fast
# `jax.grad` through `lax.scan` is correct but slow here: in every backward step it multiplies
# out and accumulates each weight's gradient (a small matrix product per weight per step). The
# two loops below carry custom gradients (`jax.custom_vjp`). On a CPU a loop's step costs
# mostly the launch of its many small kernels, so each step does as little as it can:
# - the forward loops save the states and, per GRU, its gate values stacked in one array
#   (4, B, H): one write per step, and a contiguous block per gate to read back;
# - the backward loops carry only the states' gradients (one product by W^T per weight matrix
#   and step) and save only the gates' gradients; every weight gradient is one large product
#   over all T * B rows after the loop, e.g. dW_h = sum_t h_{t-1}^T dP_t;
# - what follows from the saved values without the recurrence (the inputs' posterior means
#   and samples, the factors, the recurrent gates' gradients) is computed after the loop;
# - a loop reads its per-step inputs as separate (T, B, H) arrays, one per gate: XLA:CPU
#   runs a fused kernel several times slower when it reads a gate's columns out of a
#   (T, B, 3H) array sliced at the loop's step.

def _gates(h, x_r, x_z, x_n, h_proj):
    """The GRU's step given the input projection per gate and the recurrent one (B, 3H):
    returns (h', gates), the gates stacked (4, B, H) as (r, z, n, h_n) for the backward pass."""
    h_r, h_z, h_n = jnp.split(h_proj, 3, axis=-1)
    r = jax.nn.sigmoid(x_r + h_r)
    z = jax.nn.sigmoid(x_z + h_z)
    n = jnp.tanh(x_n + r * h_n)
    return z * h + (1.0 - z) * n, jnp.stack([r, z, n, h_n])


def _gates_backward(d, h, gates):
    """Chain rule through h' = z h + (1 - z) n, given d = dL/dh', the state h the step started
    from and its saved gates. Returns dL/dh along the direct path (z h), and the gradients of
    the gates' pre-activations dL/dx_proj and dL/dh_proj (each (B, 3H); the n part of the
    latter times r, as the recurrent projection enters n as r * h_n)."""
    r, z, n, h_n = gates
    dz = d * (h - n) * z * (1.0 - z)
    dn = d * (1.0 - z) * (1.0 - n * n)
    dr = dn * h_n * r * (1.0 - r)
    return d * z, jnp.concatenate([dr, dz, dn], axis=-1), jnp.concatenate([dr, dz, dn * r], axis=-1)


def _recurrent_gradient(d_xproj, gates):
    """dL/dh_proj (T, B, 3H) from the saved dL/dx_proj and gates (T, 4, B, H): the n part times r."""
    # r padded with ones over the (r, z) columns: one fused kernel, where slicing d_xproj and
    # concatenating the parts made XLA:CPU copy each part first
    H = gates.shape[-1]
    return d_xproj * jnp.pad(gates[:, 0], ((0, 0), (0, 0), (2 * H, 0)), constant_values=1.0)


def _sum_rows(x):
    """Sum a (T, B, K) array over time and trials: a bias gradient."""
    return jnp.sum(x, axis=(0, 1))


def _outer_sum(a, b):
    """sum over t and b of a[t, b]^T b[t, b]: a weight gradient, as one product over T * B rows
    (flattened first: XLA:CPU runs this twice as fast as a contraction over two axes)."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


def _previous(states, first, reverse=False):
    """The state each step started from: `first`, then the states shifted by one step."""
    if reverse:
        return jnp.concatenate([states[1:], first[None]])
    return jnp.concatenate([first[None], states[:-1]])


@functools.partial(jax.custom_vjp, nondiff_argnums=(4,))
def gru_sequence(x_proj, W_h, b_h, h0, reverse=False):
    """The states (T, B, H) of a GRU run over time from h0 (B, H), given its input projections
    x_proj = x W_x + b_x (T, B, 3H); with `reverse`, run from the last step to the first."""
    return _gru_sequence_fwd(x_proj, W_h, b_h, h0, reverse)[0]


def _gru_sequence_fwd(x_proj, W_h, b_h, h0, reverse):
    def step(h, x):
        h, gates = _gates(h, *x, h @ W_h + b_h)
        return h, (h, gates)

    _, (hs, gates) = jax.lax.scan(step, h0, jnp.split(x_proj, 3, axis=-1), reverse=reverse)
    return hs, (W_h, h0, hs, gates)


def _gru_sequence_bwd(reverse, saved, d_hs):
    W_h, h0, hs, gates = saved
    h_prev = _previous(hs, h0, reverse)

    def step(dh, inputs):
        dh, d_xproj, d_hproj = _gates_backward(dh + inputs[0], *inputs[1:])
        return dh + d_hproj @ W_h.T, d_xproj

    dh0, d_xproj = jax.lax.scan(step, jnp.zeros_like(h0), (d_hs, h_prev, gates), reverse=not reverse)
    d_hproj = _recurrent_gradient(d_xproj, gates)
    return d_xproj, _outer_sum(h_prev, d_hproj), _sum_rows(d_hproj), dh0


gru_sequence.defvjp(_gru_sequence_fwd, _gru_sequence_bwd)


@jax.custom_vjp
def _generate(w, enc_proj, eps, keep, g0, f0):
    """The controller and the generator, stepped together (the controller reads the previous
    factors). w: the weights (see `forward`); enc_proj (T, B, 3C): the controller's input
    projection of the encoding; eps (T, B, U): standard normals for the inputs' samples; keep
    (T, B, G): dropout on the generator states before the factors. Returns (T, B, .) arrays
    g, f, u, u_mean, u_logvar."""
    return _generate_fwd(w, enc_proj, eps, keep, g0, f0)[0]


def _input_posterior(w, c, eps):
    """The inputs' posterior mean, log variance and sample, from the controller's states."""
    U = eps.shape[-1]
    out = rows_matmul(c, w["W_u"]) + w["b_u"]
    u_mean, u_logvar = out[..., :U], _floor_logvar(out[..., U:])
    return u_mean, u_logvar, u_mean + jnp.exp(0.5 * u_logvar) * eps


def _generate_fwd(w, enc_proj, eps, keep, g0, f0):
    # The generator's input projection u W_x + b_x as one product of [u, 1] with [W_x; b_x]:
    # with a single input, XLA would turn u W_x into a broadcast fused into the GRU's gates,
    # a kernel three times slower than the GRU's own (it re-reads u for every element).
    Wb_g = jnp.concatenate([w["Wx_g"], w["bx_g"][None]])

    def step(carry, xs):
        g, c, f = carry
        x_r, x_z, x_n, eps_t, keep_t = xs
        f_r, f_z, f_n = jnp.split(f @ w["W_cf"], 3, axis=-1)
        c, c_gates = _gates(c, x_r + f_r, x_z + f_z, x_n + f_n, c @ w["Wh_c"] + w["bh_c"])
        u = _input_posterior(w, c, eps_t)[-1]
        x_g = jnp.concatenate([u, jnp.ones_like(u[:, :1])], axis=-1) @ Wb_g
        g, g_gates = _gates(g, *jnp.split(x_g, 3, axis=-1), g @ w["Wh_g"] + w["bh_g"])
        return (g, c, (g * keep_t) @ w["W_f"]), (g, c, c_gates, g_gates)

    c0 = jnp.zeros((g0.shape[0], w["Wh_c"].shape[0]), g0.dtype)
    xs = (*jnp.split(enc_proj, 3, axis=-1), eps, keep)
    _, (g, c, c_gates, g_gates) = jax.lax.scan(step, (g0, c0, f0), xs)
    u_mean, u_logvar, u = _input_posterior(w, c, eps)   # as in the loop, for all steps at once
    f = rows_matmul(g * keep, w["W_f"])
    saved = (w, eps, keep, g0, c0, f0, g, c, f, u, u_logvar, c_gates, g_gates)
    return (g, f, u, u_mean, u_logvar), saved


def _generate_bwd(saved, cotangents):
    w, eps, keep, g0, c0, f0, g, c, f, u, u_logvar, c_gates, g_gates = saved
    Dg, Df, Du, Du_mean, Du_logvar = cotangents
    g_prev, c_prev = _previous(g, g0), _previous(c, c0)
    # u = mean + exp(logvar / 2) eps, logvar = log(exp(raw) + VAR_FLOOR): what takes dL/du to
    # dL/d(raw log variance), and the log variance's own cotangent taken there
    floor = 1.0 - VAR_FLOOR * jnp.exp(-u_logvar)
    raw_per_du, Du_raw = 0.5 * eps * jnp.exp(0.5 * u_logvar) * floor, Du_logvar * floor

    def step(carry, xs):  # the forward step's chain rule, backwards
        dg, dc, df = carry  # dL/d(g_t, c_t, f_t) through later steps
        Dg_t, Df_t, Du_t, Du_mean_t, Du_raw_t, raw_per_du_t, keep_t, g_prev_t, c_prev_t, cg_t, gg_t = xs
        df_all = df + Df_t
        dg = dg + Dg_t + (df_all @ w["W_f"].T) * keep_t
        dg, dxg, dhg = _gates_backward(dg, g_prev_t, gg_t)
        dg = dg + dhg @ w["Wh_g"].T
        du = dxg @ w["Wx_g"].T + Du_t
        d_out = jnp.concatenate([du + Du_mean_t, du * raw_per_du_t + Du_raw_t], axis=-1)
        dc, dxc, dhc = _gates_backward(dc + d_out @ w["W_u"].T, c_prev_t, cg_t)
        dc = dc + dhc @ w["Wh_c"].T
        return (dg, dc, dxc @ w["W_cf"].T), (df_all, du, dxc, dxg)

    xs = (Dg, Df, Du, Du_mean, Du_raw, raw_per_du, keep, g_prev, c_prev, c_gates, g_gates)
    (dg0, _, df0), (df_all, du, dxc, dxg) = jax.lax.scan(
        step, (jnp.zeros_like(g0), jnp.zeros_like(c0), jnp.zeros_like(f0)), xs, reverse=True)
    # what the loop did not save, then the weight gradients: one product each over all steps
    d_out = jnp.concatenate([du + Du_mean, du * raw_per_du + Du_raw], axis=-1)
    dhc, dhg = _recurrent_gradient(dxc, c_gates), _recurrent_gradient(dxg, g_gates)
    f_prev = _previous(f, f0)
    dw = {"W_cf": _outer_sum(f_prev, dxc), "Wh_c": _outer_sum(c_prev, dhc),
          "bh_c": _sum_rows(dhc), "W_u": _outer_sum(c, d_out),
          "b_u": _sum_rows(d_out), "Wx_g": _outer_sum(u, dxg),
          "bx_g": _sum_rows(dxg), "Wh_g": _outer_sum(g_prev, dhg),
          "bh_g": _sum_rows(dhg), "W_f": _outer_sum(g * keep, df_all)}
    d_eps = du * jnp.exp(0.5 * u_logvar)
    d_keep = (df_all @ w["W_f"].T) * g
    return dw, dxc, d_eps, d_keep, dg0, df0


_generate.defvjp(_generate_fwd, _generate_bwd)


def _floor_logvar(logvar):
    return jnp.log(jnp.exp(logvar) + VAR_FLOOR)


def draw_noise(key, config, batch, n_bins, training, shard=(0, 1)):
    """All the randomness of one pass: dropout masks (scaled by 1/keep), standard normals, and
    in training with coordinated dropout, `hidden` (B, T, N): the entries kept from the encoder.

    The masks come from `random_mask`, a counter hash that XLA fuses into the kernels that use
    them: on a CPU the masks' millions of numbers from `jax.random` (or from XLA's own bit
    generator, cut into arrays) had taken a tenth of a training step.

    shard: (k, n) draws only the k-th of n equal slices along the batch of the noise of the
    whole batch, for data-parallel training: the same numbers, however many devices share it.
    """
    c, B, T = config, batch, n_bins
    k_shard, n_shards = shard
    if B % n_shards:
        raise ValueError(f"a batch of {B} cannot be split into {n_shards} equal shards")
    b = B // n_shards
    start = k_shard * b
    keep_shapes = {"keep_input": (T, B, c.n_neurons), "keep_encoding": (T, B, 2 * c.encoder_size),
                   "keep_generator": (T, B, c.generator_size)}
    k_masks, k_eps_g0, k_eps_u = jax.random.split(key, 3)
    eps_g0 = jax.random.normal(k_eps_g0, (B, c.generator_size))
    eps_u = jax.random.normal(k_eps_u, (T, B, max(c.n_inputs, 1)))
    noise = {"eps_g0": jax.lax.dynamic_slice_in_dim(eps_g0, start, b, axis=0),
             "eps_u": jax.lax.dynamic_slice_in_dim(eps_u, start, b, axis=1)}
    mask_keys = jax.random.split(k_masks, len(keep_shapes) + 1)
    for k, (name, shape) in zip(mask_keys, keep_shapes.items()):
        noise[name] = (1.0 - random_mask(k, shape, c.dropout, (1, start, b))) / (1.0 - c.dropout) \
            if training and c.dropout > 0 else jnp.ones(())
    if training and c.coordinated_dropout > 0:
        noise["hidden"] = random_mask(mask_keys[-1], (B, T, c.n_neurons), c.coordinated_dropout,
                                      (0, start, b))
    return noise


def random_mask(key, shape, p, part=None):
    """A boolean array of `shape`, each entry True with probability p (rounded to a multiple
    of 2^-32), independently.

    Each entry is a hash of its index and two seeds drawn from `key`: two rounds of an
    integer mixing function (Wellons' "lowbias32", a bijection of 32-bit words with strong
    avalanche) whose top bits are compared with p * 2^32. Good enough for dropout and quick:
    a few integer operations per entry, fused into whatever reads the mask.

    part: (axis, start, size) returns only that slice of the mask along one axis (start may
    be traced), computing only its own entries.
    """
    n = math.prod(shape)
    if n >= 2**32:
        raise ValueError(f"random_mask draws at most 2^32 - 1 entries, got shape {shape}")
    seeds = jax.random.bits(key, (2,), jnp.uint32)
    if part is None:
        counter = jax.lax.iota(jnp.uint32, n).reshape(shape)
    else:  # each entry's index in the whole array, from its index in the slice
        axis, start, size = part
        local = shape[:axis] + (size,) + shape[axis + 1:]
        counter = jnp.zeros(local, jnp.uint32)
        for k in range(len(shape)):
            index = jax.lax.broadcasted_iota(jnp.uint32, local, k)
            if k == axis:
                index = index + jnp.asarray(start, jnp.uint32)
            counter = counter + index * jnp.uint32(math.prod(shape[k + 1:]))
    bits = _mix32(_mix32(counter ^ seeds[0]) + seeds[1])
    return bits < jnp.uint32(min(max(round(p * 2**32), 0), 2**32 - 1))


def _mix32(x):
    """Wellons' lowbias32 hash of uint32 words."""
    x = (x ^ (x >> 16)) * jnp.uint32(0x7FEB352D)
    x = (x ^ (x >> 15)) * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


# ------------------------------------------------------------------------------ ELBO pieces
def poisson_log_likelihood(log_rates, spikes):
    """log Poisson(spikes | exp(log_rates)), elementwise, including the -log(k!) term (nats)."""
    return spikes * log_rates - jnp.exp(log_rates) - jax.scipy.special.gammaln(spikes + 1.0)


def kl_gaussians(mean_q, logvar_q, mean_p, logvar_p):
    """KL(N(mean_q, var_q) || N(mean_p, var_p)) for diagonal Gaussians, summed over the last axis."""
    return 0.5 * jnp.sum(logvar_p - logvar_q + (jnp.exp(logvar_q) + (mean_q - mean_p) ** 2)
                         / jnp.exp(logvar_p) - 1.0, axis=-1)


def ar1_log_prior(u, logtau, lognvar):
    """log p(u) under an AR(1) prior per input dimension, summed over time and dimensions.

    u: (..., T, U). u_t = alpha u_{t-1} + e_t, e_t ~ N(0, nvar), alpha = exp(-1/tau); the first
    step is drawn from the stationary distribution N(0, nvar / (1 - alpha^2)).
    """
    alpha = jnp.exp(-1.0 / jnp.exp(logtau))
    nvar = jnp.exp(lognvar)
    first = _gauss_logpdf(u[..., 0, :], 0.0, nvar / (1.0 - alpha**2))
    rest = _gauss_logpdf(u[..., 1:, :], alpha * u[..., :-1, :], nvar)
    return jnp.sum(first, axis=-1) + jnp.sum(rest, axis=(-2, -1))


def _gauss_logpdf(x, mean, var):
    return -0.5 * (jnp.log(2 * jnp.pi * var) + (x - mean) ** 2 / var)


def kl_inputs(out, model):
    """One-sample Monte Carlo KL(q(u) || AR(1) prior) per trial: log q(u) - log p(u) at u."""
    log_q = jnp.sum(_gauss_logpdf(out["u"], out["u_mean"], jnp.exp(out["u_logvar"])), axis=(-2, -1))
    return log_q - ar1_log_prior(out["u"], model.u_prior_logtau[...], model.u_prior_lognvar[...])


def l2_penalty(model):
    """Sum of squares of the recurrent weights of the generator and the controller."""
    total = jnp.sum(model.generator.W_h[...] ** 2)
    if model.config.n_inputs > 0:
        total = total + jnp.sum(model.controller.W_h[...] ** 2)
    return total


def loss_terms(model, spikes, key, training=True, shard=(0, 1)):
    """The negative ELBO's pieces for a batch, each per data entry (divided by T * N); the
    reconstruction term leaves out the constant sum of log(k!).

    With coordinated dropout (training only) a random fraction of the spike entries is hidden
    from the encoder and the reconstruction is scored on exactly those entries, scaled up so
    it estimates the sum over all entries. With `shard` (k, n), `spikes` is the k-th of n equal
    slices of the batch, and its noise that slice of the whole batch's (see `draw_noise`).
    """
    c = model.config
    spikes = spikes.astype(jnp.float32)
    noise = draw_noise(key, c, spikes.shape[0] * shard[1], spikes.shape[1], training, shard)
    if "hidden" in noise:
        cd = c.coordinated_dropout
        inputs = jnp.where(noise["hidden"], 0.0, spikes / (1.0 - cd))
        weight = noise["hidden"] / cd
    else:
        inputs, weight = spikes, 1.0
    out = forward(model, inputs, training=training, noise=noise)
    n_entries = spikes.shape[1] * spikes.shape[2]
    # log(k!) does not depend on the model, so training leaves it out (it is slow to compile)
    log_lik = spikes * out["log_rates"] - jnp.exp(out["log_rates"])
    recon = -jnp.sum(weight * log_lik, axis=(1, 2))
    kl = kl_gaussians(out["g0_mean"], out["g0_logvar"], model.g0_prior_mean[...],
                      model.g0_prior_logvar[...])
    if c.n_inputs > 0:
        kl = kl + kl_inputs(out, model)
    return {"recon": jnp.mean(recon) / n_entries, "kl": jnp.mean(kl) / n_entries,
            "l2": l2_penalty(model) * c.l2_weight}


# ------------------------------------------------------------------------------- the two calls
@dataclasses.dataclass(eq=False)
class TrainedLFADS:
    """What `fit` returns: the model and its training history."""
    model: LFADS
    history: dict           # "step", "train_loss" (every step), "eval_step", "valid_loss", ...
    train_idx: np.ndarray   # trials used for training ...
    valid_idx: np.ndarray   # ... and for validation / early stopping

    @property
    def config(self):
        return self.model.config


def fit(spikes, seed=0, *, progress=True, **options):
    """Fit LFADS to spike counts (trials, time, neurons); returns a `TrainedLFADS`.

    options: any field of `Config` (sizes, dropout, learning rate, n_steps, ...). A fraction
    `valid_fraction` of the trials is held out for early stopping: the parameters with the best
    validation loss are kept.
    """
    spikes = check_spikes(spikes, "spikes")
    n_trials, n_bins, n_neurons = spikes.shape
    config = Config(n_neurons=n_neurons, n_bins=n_bins, **options)
    # check_spikes asked for >= 10 trials, so both splits are non-empty for any valid_fraction
    n_valid = min(n_trials - 1, max(1, int(round(config.valid_fraction * n_trials))))
    key = jax.random.key(seed, impl="rbg")  # XLA's generator: much quicker to compile than threefry
    key, split_key, init_key, valid_key = jax.random.split(key, 4)
    order = np.asarray(jax.random.permutation(split_key, n_trials))
    valid_idx, train_idx = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    train_spikes = jnp.asarray(spikes[train_idx], jnp.float32)
    valid_spikes = jnp.asarray(spikes[valid_idx], jnp.float32)

    model = LFADS(config, nnx.Rngs(init_key), mean_rates=train_spikes.mean(axis=(0, 1)))
    state, step, evaluate, unpack = training_functions(model, config, train_spikes, valid_spikes)
    best_state, history = train_with_early_stopping(step, state, lambda st: evaluate(st, valid_key),
                                                    config, key, "LFADS", progress)
    return TrainedLFADS(unpack(best_state), history, train_idx, valid_idx)


def train_with_early_stopping(step, state, evaluate, config, key, desc, progress=True):
    """Train with `training.train`, scoring `evaluate(state)` (a dict with "recon" and "kl")
    every `config.eval_every` steps and after the last; keep the state with the best validation
    loss (recon + KL), and stop after `config.patience` evaluations without improvement.
    `step(state, (i, key))` is training step i, which draws its randomness from
    `fold_in(key, i)` itself. Returns `(best_state, history)`, the history
    with "eval_step", "valid_loss", "valid_recon", "train_loss" (every step) and "best_step".
    """
    history = {"eval_step": [], "valid_loss": [], "valid_recon": []}
    best = {"loss": np.inf, "state": state, "step": 0, "since": 0}

    def check_validation(i, state):
        valid = {k: float(v) for k, v in evaluate(state).items()}
        loss = valid["recon"] + valid["kl"]
        history["eval_step"].append(i + 1)
        history["valid_loss"].append(loss)
        history["valid_recon"].append(valid["recon"])
        if loss < best["loss"]:
            best.update(loss=loss, state=state, step=i + 1, since=0)
        else:
            best["since"] += 1
        return config.patience > 0 and best["since"] >= config.patience

    state, losses = training.train(
        step, state, config.n_steps, lambda i: (i, key),
        desc=desc, callback=check_validation, callback_every=config.eval_every, progress=progress)
    if losses.size and (not history["eval_step"] or history["eval_step"][-1] != losses.size):
        check_validation(losses.size - 1, state)
    history = {k: np.asarray(v) for k, v in history.items()}
    history.update(train_loss=losses, best_step=best["step"])
    return best["state"], history


def training_functions(model, config, train_spikes, valid_spikes):
    """What `fit` trains with: `(state, step, evaluate, unpack)`.

    `state, loss = step(state, (i, key))` is one jitted Adam step (step i, its randomness
    `fold_in(key, i)`) on a batch it samples from `train_spikes`; `evaluate(state, key)` gives
    the validation terms; `unpack(state)` returns the model. The state holds the parameters
    as one vector (`flatten_params`) and Adam's moments likewise: a step then passes and
    returns 5 arrays instead of 83 (for a model with a controller), and Adam updates one
    vector; on a CPU with two devices that made a step about 1.1x quicker.
    Public so benchmarks can time the very step `fit` runs. On a CPU that JAX sees as several
    devices (`runtime.use_cpu_cores`), each step splits its batch across them.
    """
    graphdef, params = nnx.split(model, nnx.Param)
    flat, layout = flatten_params(params)
    state = (flat, make_optimizer(config).init(flat))
    mesh = runtime.data_parallel_mesh(min(config.batch_size, train_spikes.shape[0]))
    if mesh is not None:  # every device holds the parameters and the data
        state, train_spikes, valid_spikes = jax.device_put(
            (state, train_spikes, valid_spikes), jax.sharding.NamedSharding(mesh, jax.P()))

    def step(state, batch):
        i, key = batch
        return _train_step(graphdef, layout, config, mesh, state, i, key, train_spikes)

    def evaluate(state, key):
        return _valid_terms(graphdef, layout, state[0], key, valid_spikes)

    def unpack(state):  # back on the default device, where the rest of a notebook computes
        flat = state[0] if mesh is None else jax.device_put(state[0], jax.devices()[0])
        return nnx.merge(graphdef, unflatten_params(layout, flat))

    return state, step, evaluate, unpack


def flatten_params(params):
    """A parameter pytree as one vector, and its `layout` (hashable, so a jitted function can
    take it as a static argument) for `unflatten_params`."""
    leaves, treedef = jax.tree.flatten(params)
    return jnp.concatenate([jnp.ravel(x) for x in leaves]), (treedef, tuple(x.shape for x in leaves))


def unflatten_params(layout, flat):
    """The parameter pytree back from `flatten_params`' vector."""
    treedef, shapes = layout
    parts = jnp.split(flat, np.cumsum([math.prod(s) for s in shapes])[:-1])
    return jax.tree.unflatten(treedef, [p.reshape(s) for p, s in zip(parts, shapes)])


def make_optimizer(config):
    """Adam with gradient-norm clipping and a cosine decay of the learning rate."""
    schedule = optax.cosine_decay_schedule(config.learning_rate, max(config.n_steps, 1),
                                           alpha=config.lr_decay)
    return optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(schedule))


# Module-level and keyed on the (hashable) model structure and config, so a second fit of the
# same shapes reuses the compiled step. The data are arguments, not closed-over constants: a
# captured array would be baked into the program (slow to compile, recompiled for new data).
@runtime.cpu_jit(cpu_options=XLA_CPU_OPTIONS, static_argnames=("graphdef", "layout", "config", "mesh"))
def _train_step(graphdef, layout, config, mesh, state, i, key, data):
    params, opt_state = state   # params: the vector of `flatten_params`
    # folded here, not by the caller: an eager fold_in between two steps leaves the cores idle
    k_batch, k_loss = jax.random.split(jax.random.fold_in(key, i))
    idx = jax.random.choice(k_batch, data.shape[0], (min(config.batch_size, data.shape[0]),),
                            replace=False)
    ramp = jnp.clip(i / config.kl_warmup, 0.0, 1.0) if config.kl_warmup else 1.0

    def loss_and_grads(params, data, idx, key, shard=(0, 1)):
        size = idx.shape[0] // shard[1]
        rows = jax.lax.dynamic_slice_in_dim(idx, shard[0] * size, size)

        def loss_fn(params):
            terms = loss_terms(nnx.merge(graphdef, unflatten_params(layout, params)), data[rows],
                               key, True, shard)
            return terms["recon"] + ramp * (config.kl_scale * terms["kl"] + terms["l2"])

        return jax.value_and_grad(loss_fn)(params)

    if mesh is None:
        loss, grads = loss_and_grads(params, data, idx, k_loss)
    else:  # each device takes its slice of the batch; the mean of their gradients is the batch's
        def on_one_device(params, data, idx, key):
            shard = (jax.lax.axis_index("batch"), mesh.size)
            return jax.lax.pmean(loss_and_grads(params, data, idx, key, shard), "batch")

        loss, grads = jax.shard_map(on_one_device, mesh=mesh, in_specs=jax.P(), out_specs=jax.P(),
                                    check_vma=False)(params, data, idx, k_loss)
    updates, opt_state = make_optimizer(config).update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss


@runtime.cpu_jit(cpu_options=XLA_CPU_OPTIONS, static_argnames=("graphdef", "layout"))
def _valid_terms(graphdef, layout, params, key, data):
    terms = loss_terms(nnx.merge(graphdef, unflatten_params(layout, params)), data, key, training=False)
    return {"recon": terms["recon"], "kl": terms["kl"]}


def posterior_rates(model, spikes, n_samples=32, seed=0, batch_size=256, return_all=False):
    """Rates in spikes per bin, the average over `n_samples` posterior samples: shape of `spikes`.

    model: a `TrainedLFADS` (from `fit`) or an `LFADS`. With `return_all=True`, returns a dict
    with the posterior means of `rates`, `factors`, `gen_states`, and (with a controller)
    `inputs` (the inferred inputs' samples averaged) and `input_means`.
    """
    lfads = model.model if isinstance(model, TrainedLFADS) else model
    if not isinstance(lfads, LFADS):
        raise TypeError(f"model must be what lfads.fit returned (TrainedLFADS) or an LFADS, "
                        f"got {type(model).__name__}")
    spikes = check_spikes(spikes, "spikes", min_trials=1)
    c = lfads.config
    if spikes.shape[2] != c.n_neurons:
        raise ValueError(f"spikes has {spikes.shape[2]} neurons but the model was trained on "
                         f"{c.n_neurons}; pass spikes shaped (trials, time, {c.n_neurons})")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    graphdef, params = nnx.split(lfads, nnx.Param)
    sums = None
    key = jax.random.key(seed)
    for start in range(0, spikes.shape[0], batch_size):
        chunk = jnp.asarray(spikes[start:start + batch_size], jnp.float32)
        part = _sample_average(graphdef, params, chunk, jax.random.fold_in(key, start), n_samples)
        part = {k: np.asarray(v) for k, v in part.items()}
        sums = part if sums is None else {k: np.concatenate([sums[k], part[k]]) for k in part}
    return sums if return_all else sums["rates"]


@runtime.cpu_jit(cpu_options=XLA_CPU_OPTIONS, static_argnames=("graphdef", "n_samples"))
def _sample_average(graphdef, params, spikes, key, n_samples):
    model = nnx.merge(graphdef, params)

    def sample(k):
        out = forward(model, spikes, k, training=False)
        result = {"rates": jnp.exp(out["log_rates"]), "factors": out["factors"],
                  "gen_states": out["gen_states"]}
        if model.config.n_inputs > 0:
            result.update(inputs=out["u"], input_means=out["u_mean"])
        return result

    def accumulate(total, k):
        return jax.tree.map(jnp.add, total, sample(k)), None

    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(sample, key))
    total, _ = jax.lax.scan(accumulate, zeros, jax.random.split(key, n_samples))
    return jax.tree.map(lambda x: x / n_samples, total)


def check_spikes(spikes, name="spikes", min_trials=10):
    """Spike counts as a float32 NumPy array (trials, time, neurons), or a clear error."""
    try:
        array = np.asarray(spikes)
    except Exception as err:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of spike counts (trials, time, neurons): {err}") from None
    if array.ndim != 3:
        raise ValueError(f"{name} must have 3 dimensions (trials, time, neurons), got shape "
                         f"{array.shape}; add a trial axis with spikes[None] for a single trial")
    if 0 in array.shape:
        raise ValueError(f"{name} is empty: shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
            or array.dtype == bool):
        raise ValueError(f"{name} must hold numbers (spike counts), got dtype {array.dtype}")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains {int(np.sum(~np.isfinite(array)))} NaN or infinite "
                         "entries; spike counts must be finite")
    if np.any(array < 0):
        raise ValueError(f"{name} contains {int(np.sum(array < 0))} negative entries (min "
                         f"{array.min():g}); spike counts must be >= 0")
    if np.any(array != np.round(array)):
        raise ValueError(f"{name} must hold whole-number counts; found non-integer values such as "
                         f"{array[array != np.round(array)][0]:g} (bin the spikes, do not pass rates)")
    if array.shape[0] < min_trials:
        raise ValueError(f"{name} has {array.shape[0]} trials; at least {min_trials} are needed")
    return array


# ------------------------------------------------------------------------------- checkpoints
def save(trained, path, **metadata):
    """Save a trained model (a `TrainedLFADS` or an `LFADS`) to `path`.npz/.json: its
    parameters, its `Config`, and `metadata` (JSON-serialisable values)."""
    lfads = trained.model if isinstance(trained, TrainedLFADS) else trained
    if not isinstance(lfads, LFADS):
        raise TypeError(f"trained must be what lfads.fit returned (TrainedLFADS) or an LFADS, "
                        f"got {type(trained).__name__}")
    extra = {}
    if isinstance(trained, TrainedLFADS):
        extra = {"best_step": int(trained.history["best_step"]),
                 "train_idx": trained.train_idx.tolist(), "valid_idx": trained.valid_idx.tolist(),
                 "history": {k: np.asarray(v).tolist() for k, v in trained.history.items()
                             if k != "best_step"}}
    params = nnx.to_pure_dict(nnx.state(lfads, nnx.Param))
    return checkpoint.save(path, params, {"config": dataclasses.asdict(lfads.config),
                                          "training": extra, **metadata})


def load(path, hint=""):
    """Load what `save` wrote: `(TrainedLFADS, metadata)` (history and splits included when
    saved from a `TrainedLFADS`)."""
    _, metadata = checkpoint.load(path, hint=hint)       # verifies the file; gives the config
    # Shapes only: a random initialisation would run (and compile) every initialiser eagerly,
    # several seconds, for values that the checkpoint replaces at once.
    model = nnx.eval_shape(lambda: LFADS(Config(**metadata.pop("config")), nnx.Rngs(0)))
    state = nnx.state(model, nnx.Param)
    like = jax.tree.map(lambda s: np.zeros(s.shape, s.dtype), nnx.to_pure_dict(state))
    params, _ = checkpoint.load(path, like=like, hint=hint)
    nnx.replace_by_pure_dict(state, jax.tree.map(jnp.asarray, params))
    nnx.update(model, state)
    extra = metadata.pop("training", {})
    history = {k: np.asarray(v) for k, v in extra.get("history", {}).items()}
    history["best_step"] = extra.get("best_step", 0)
    trained = TrainedLFADS(model, history, np.asarray(extra.get("train_idx", []), int),
                           np.asarray(extra.get("valid_idx", []), int))
    return trained, metadata
