"""Stitched LFADS: one dynamical model across sessions that recorded different neurons.

The multi-session LFADS of Pandarinath et al. 2018 (Fig. 4). Every session s records its own
N_s neurons, so it gets its own linear maps in and out of one shared model:

    read-in   x_t = W_in[s]^T spikes_t + b_in[s]            (N_s -> D dims, per session)
    core      LFADS on x: bidirectional GRU encoder -> g0 -> generator -> factors f_t
              (`lfads.LFADS` with `n_neurons = D`; shared by every session)
    readout   log r_t = W_out[s]^T f_t + b_out[s]           (F factors -> N_s log-rates)
    spikes_t ~ Poisson(r_t)

Because the generator and its factors are shared, the factors of every session live in one
space: a single decoder can read behaviour from all of them. The read-ins and readouts start
from a principal-components regression (`stitching.pcr_init`) across sessions, which already
puts every session's neurons into a common low-dimensional space; `init="random"` is the
ablation.

Batches mix the trials of all sessions. Every session is padded with zero neurons to the
largest neuron count N_max; each trial gathers its own session's read-in and readout by its
session index, and a neuron mask keeps padded neurons out of the read-in and out of the
likelihood. Coordinated dropout hides a random fraction of the (real) spike entries from the
read-in and scores the reconstruction on exactly those. The rest (KL terms, L2 on the
generator's recurrent weights, warm-up, Adam with clipping and cosine decay, early stopping on
a validation split that keeps trials of every session) is `lfads.fit`'s, from the same pieces.

Two calls: `trained = fit_stitched(sessions, seed=0)` with `sessions` a list of objects that
have `spikes` (trials, time, neurons), `conditions` (trials,) and `bin_size` (seconds), e.g.
`reaching.ReachSession`; then `posterior_factors(trained, s, spikes)` and
`posterior_rates(trained, s, spikes)` for session s. `save` / `load` keep a trained model.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from . import checkpoint, lfads, runtime, stitching

INITS = ("pcr", "random")
# The paper's stitching run: no controller, 16 factors, generator and encoders of 100. Two
# additions let the fit keep a fast rhythm whose phase varies from trial to trial (the LFP's
# beta in notebook 05, which the paper's model kept but ours, without them, did not:
# scripts/beta_training_experiments.py): g0 also reads the whole read-in sequence, and the
# generator starts with a bank of oscillators (`lfads.oscillator_bank`).
CORE_DEFAULTS = {"encoder_size": 100, "generator_size": 100, "n_factors": 16, "n_inputs": 0,
                 "controller_size": 0, "g0_reads_sequence": True, "generator_oscillators": 10}
STITCHED_OPTIONS = ("read_in_dim", "train_read_in", "pcr_smooth_s", "pcr_alpha")


def core_options(**options):
    """`CORE_DEFAULTS` overridden by `options`. A generator smaller than the default's 100
    units gets a bank of one pair per 10 units (none below 10), unless the bank is given."""
    merged = {**CORE_DEFAULTS, **options}
    size = merged["generator_size"]
    if "generator_oscillators" not in options and isinstance(size, (int, np.integer)):
        merged["generator_oscillators"] = min(CORE_DEFAULTS["generator_oscillators"], max(size, 0) // 10)
    return merged


# ----------------------------------------------------------------------------- configuration
@dataclasses.dataclass(frozen=True)
class StitchedConfig:
    """The shared core's `lfads.Config` (its `n_neurons` is the read-in dimension D) and
    what the sessions add: their neuron counts, how the maps were initialised, and whether
    the read-ins are trained (PCR read-ins may be kept frozen, as lfads-torch does)."""
    core: lfads.Config
    n_neurons: tuple            # neurons per session
    init: str = "pcr"
    train_read_in: bool = True

    def __post_init__(self):
        if not isinstance(self.core, lfads.Config):
            raise TypeError(f"core must be an lfads.Config, got {type(self.core).__name__}")
        if (not isinstance(self.n_neurons, tuple) or not self.n_neurons
                or not all(isinstance(n, (int, np.integer)) and n >= 1 for n in self.n_neurons)):
            raise ValueError(f"n_neurons must be a non-empty tuple of positive neuron counts, got "
                             f"{self.n_neurons!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if not isinstance(self.train_read_in, bool):
            raise ValueError(f"train_read_in must be True or False, got {self.train_read_in!r}")

    @property
    def n_sessions(self):
        return len(self.n_neurons)

    @property
    def max_neurons(self):
        return max(self.n_neurons)

    @property
    def read_in_dim(self):
        return self.core.n_neurons

    def neuron_mask(self):
        """(sessions, max_neurons) 1.0 for each session's real neurons, 0.0 for padding."""
        return (np.arange(self.max_neurons)[None, :]
                < np.asarray(self.n_neurons)[:, None]).astype(np.float32)

    def to_dict(self):
        return {"core": dataclasses.asdict(self.core), "n_neurons": list(self.n_neurons),
                "init": self.init, "train_read_in": self.train_read_in}

    @classmethod
    def from_dict(cls, d):
        return cls(lfads.Config(**d["core"]), tuple(int(n) for n in d["n_neurons"]), d["init"],
                   bool(d["train_read_in"]))


# ------------------------------------------------------------------------------------- model
class StitchedLFADS(nnx.Module):
    """The shared LFADS core and every session's read-in and readout, zero-padded to the
    largest session: `read_in` (S, N_max, D), `read_in_bias` (S, D), `readout` (S, F, N_max),
    `readout_bias` (S, N_max). Rows and columns of padded neurons are zero and never used."""

    def __init__(self, config: StitchedConfig, rngs: nnx.Rngs, maps=None):
        self.config = config
        self.core = lfads.LFADS(config.core, rngs)
        S, N, D, F = config.n_sessions, config.max_neurons, config.read_in_dim, config.core.n_factors
        if maps is None:
            maps = random_maps(config, rngs.params())
        shapes = {"read_in": (S, N, D), "read_in_bias": (S, D), "readout": (S, F, N),
                  "readout_bias": (S, N)}
        for name, shape in shapes.items():
            value = jnp.asarray(maps[name], jnp.float32)
            if value.shape != shape:
                raise ValueError(f"maps[{name!r}] has shape {value.shape}, expected {shape}")
            setattr(self, name, nnx.Param(value))

    def __call__(self, spikes, sessions, key, training=False):
        return forward(self, spikes, sessions, key, training)


def forward(model, spikes, sessions, key=None, training=False, noise=None):
    """One stochastic pass of padded spikes (B, T, N_max) of the trials' `sessions` (B,).

    Padded neurons are masked out before the read-in. `noise` is the core's (see
    `lfads.draw_noise`, drawn at the read-in dimension). Returns the core's outputs (see
    `lfads.forward`) with `log_rates` (B, T, N_max) from each trial's own readout (padded
    neurons get the readout's zero columns: log-rate 0, never scored).
    """
    c = model.config
    mask = jnp.asarray(c.neuron_mask())[sessions]                              # (B, N_max)
    W_in = model.read_in[...] if c.train_read_in else jax.lax.stop_gradient(model.read_in[...])
    b_in = (model.read_in_bias[...] if c.train_read_in
            else jax.lax.stop_gradient(model.read_in_bias[...]))
    x = jnp.einsum("btn,bnd->btd", spikes * mask[:, None, :], W_in[sessions]) + b_in[sessions][:, None]
    if noise is None:
        noise = lfads.draw_noise(key, c.core, spikes.shape[0], spikes.shape[1], training)
    out = lfads.forward(model.core, x, training=training, noise=noise)
    out["log_rates"] = (jnp.einsum("btf,bfn->btn", out["factors"], model.readout[...][sessions])
                        + model.readout_bias[...][sessions][:, None])
    return out


def loss_terms(model, spikes, sessions, key, training=True):
    """The negative ELBO's pieces for a batch of padded spikes (B, T, N_max) and their
    `sessions` (B,): "recon" and "kl" are per data entry of each trial (divided by T * N_s,
    its own real neurons) and averaged over trials, "l2" is weighted; the reconstruction
    leaves out the constant sum of log(k!). Padded neurons never enter any term.

    With coordinated dropout (training only), a random fraction of the real spike entries
    is hidden from the read-in (the others scaled by 1 / (1 - rate)) and the reconstruction
    is scored on exactly the hidden ones, scaled up to estimate the sum over all entries.
    """
    c = model.config
    cd = c.core.coordinated_dropout
    spikes = spikes.astype(jnp.float32)
    B, T, _ = spikes.shape
    mask = jnp.asarray(c.neuron_mask())[sessions][:, None, :]                  # (B, 1, N_max)
    k_core, k_hidden = jax.random.split(key)
    # the core draws its dropout at the read-in dimension; coordinated dropout is ours
    noise = lfads.draw_noise(k_core, dataclasses.replace(c.core, coordinated_dropout=0.0), B, T,
                             training)
    if training and cd > 0:
        hidden = jax.random.bernoulli(k_hidden, cd, spikes.shape)
        inputs = jnp.where(hidden, 0.0, spikes / (1.0 - cd))
        weight = hidden * mask / cd
    else:
        inputs, weight = spikes, mask
    out = forward(model, inputs, sessions, training=training, noise=noise)
    log_lik = spikes * out["log_rates"] - jnp.exp(out["log_rates"])
    n_entries = T * jnp.asarray(c.n_neurons, jnp.float32)[sessions]
    recon = -jnp.sum(weight * log_lik, axis=(1, 2))
    kl = lfads.kl_gaussians(out["g0_mean"], out["g0_logvar"], model.core.g0_prior_mean[...],
                            model.core.g0_prior_logvar[...])
    if c.core.n_inputs > 0:
        kl = kl + lfads.kl_inputs(out, model.core)
    return {"recon": jnp.mean(recon / n_entries), "kl": jnp.mean(kl / n_entries),
            "l2": lfads.l2_penalty(model.core) * c.core.l2_weight}


# ------------------------------------------------------------------------- initialising maps
def pcr_maps(config, pcr_in, pcr_out=None):
    """Read-ins and readouts (padded, see `StitchedLFADS`) from PCR initialisations.

    Read-in: the PCR read-in W_s applied to the counts, centred by the session's mean rates
    m_s: x = (spikes - m_s) W_s, so the bias is -m_s W_s. Readout: PCR reconstructs rates as
    m_s + f pinv(W_s); LFADS's readout gives log-rates, so it takes that map's first-order
    expansion about the mean, log r ~ log m_s + (f pinv(W_s)) / m_s: weights pinv(W_s) / m_s,
    bias log m_s. `pcr_out` (default `pcr_in`) is the PCR with the core's factor count.
    """
    pcr_out = pcr_in if pcr_out is None else pcr_out
    S, N, D, F = config.n_sessions, config.max_neurons, config.read_in_dim, config.core.n_factors
    maps = {"read_in": np.zeros((S, N, D)), "read_in_bias": np.zeros((S, D)),
            "readout": np.zeros((S, F, N)), "readout_bias": np.zeros((S, N))}
    for s, n in enumerate(config.n_neurons):
        w_in, mean = np.asarray(pcr_in.read_in[s]), np.asarray(pcr_in.bias[s])
        if w_in.shape != (n, D) or np.asarray(pcr_out.readout[s]).shape != (F, n):
            raise ValueError(f"the PCR maps of session {s} have shapes {w_in.shape} and "
                             f"{np.asarray(pcr_out.readout[s]).shape}, expected ({n}, {D}) and ({F}, {n})")
        floor = np.maximum(np.asarray(pcr_out.bias[s]), 1e-3)      # a silent neuron's mean is 0
        maps["read_in"][s, :n] = w_in
        maps["read_in_bias"][s] = -mean @ w_in
        maps["readout"][s, :, :n] = np.asarray(pcr_out.readout[s]) / floor
        maps["readout_bias"][s, :n] = np.log(floor)
    return maps


def random_maps(config, key, mean_rates=None):
    """Random read-ins (N(0, 1 / N_s) entries, zero bias) and readouts (N(0, 0.01 / F), as
    `lfads.LFADS` starts its own), readout biases at log of `mean_rates` (a list of (N_s,)
    arrays; default 1 spike per bin). Padded to N_max with zeros."""
    S, N, D, F = config.n_sessions, config.max_neurons, config.read_in_dim, config.core.n_factors
    k_in, k_out = jax.random.split(key)
    w_in = np.array(jax.random.normal(k_in, (S, N, D)))
    w_out = np.array(jax.random.normal(k_out, (S, F, N))) * 0.1 / np.sqrt(F)
    mask = config.neuron_mask()
    bias = np.zeros((S, N))
    for s, n in enumerate(config.n_neurons):
        w_in[s] /= np.sqrt(n)
        if mean_rates is not None:
            bias[s, :n] = np.log(np.maximum(np.asarray(mean_rates[s], float), 1e-3))
    return {"read_in": w_in * mask[:, :, None], "read_in_bias": np.zeros((S, D)),
            "readout": w_out * mask[:, None, :], "readout_bias": bias}


# ------------------------------------------------------------------------------- the calls
@dataclasses.dataclass(eq=False)
class TrainedStitched:
    """What `fit_stitched` returns: the model, its training history, each session's training
    and validation trials, and the PCR initialisation it started from (None for random)."""
    model: StitchedLFADS
    history: dict            # "train_loss" (every step), "eval_step", "valid_loss", "valid_recon", "best_step"
    train_idx: list          # per session, the trials used for training ...
    valid_idx: list          # ... and for validation / early stopping
    pcr: object = None

    @property
    def config(self):
        return self.model.config


def fit_stitched(sessions, seed=0, init="pcr", *, progress=True, **options):
    """Fit stitched LFADS to sessions; returns a `TrainedStitched`.

    sessions: a list of objects with `spikes` (trials, time, neurons) counts, `conditions`
    (trials,) and `bin_size` (seconds); every session must share the bin width, the trial
    length and the conditions (`stitching.check_sessions`). init: "pcr" or "random".
    options: any field of `lfads.Config` for the shared core (defaults: the paper's stitching
    run, no controller, 16 factors, encoders and generator of 100, plus the two additions of
    `CORE_DEFAULTS`, merged by `core_options`; the training options as `lfads.fit`'s), and
    `read_in_dim` (default: the factor count), `train_read_in` (default True), `pcr_smooth_s`,
    `pcr_alpha` (see `stitching.pcr_init`). A fraction `valid_fraction` of each session's trials
    is held out for early stopping.
    """
    layout = stitching.check_sessions(sessions)
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    for forbidden in ("n_neurons", "n_bins"):
        if forbidden in options:
            raise ValueError(f"{forbidden} comes from the sessions; do not pass it (got {forbidden}="
                             f"{options[forbidden]!r}); use read_in_dim for the shared input size")
    stitched = {k: options.pop(k) for k in STITCHED_OPTIONS if k in options}
    core = core_options(**options)
    read_in_dim = stitched.get("read_in_dim", core["n_factors"])
    config = StitchedConfig(lfads.Config(n_neurons=read_in_dim, n_bins=layout.n_bins, **core),
                            tuple(layout.n_neurons), init, stitched.get("train_read_in", True))
    c = config.core
    spikes = [lfads.check_spikes(s.spikes, f"sessions[{i}].spikes", min_trials=1)
              for i, s in enumerate(sessions)]
    if sum(layout.n_trials) < 2:
        raise ValueError(f"stitching needs at least 2 trials in all (training and validation), got "
                         f"{sum(layout.n_trials)}")

    key = jax.random.key(seed)
    key, split_key, init_key, valid_key = jax.random.split(key, 4)
    train_idx, valid_idx = _split(layout.n_trials, c.valid_fraction, split_key)
    pcr = None
    if init == "pcr":
        pcr_args = {"smooth_s": stitched.get("pcr_smooth_s", stitching.DEFAULT_SMOOTH_S),
                    "alpha": stitched.get("pcr_alpha", stitching.DEFAULT_ALPHA)}
        # PCR on the training trials only: validation trials stay unseen until early stopping
        train_sessions = [_Subset(s.spikes[idx], np.asarray(s.conditions)[idx], layout.bin_size)
                          for s, idx in zip(sessions, train_idx)]
        try:
            stitching.check_sessions(train_sessions)
        except ValueError:  # a condition with all its trials in validation: use every trial
            train_sessions = sessions
        pcr = stitching.pcr_init(train_sessions, read_in_dim, **pcr_args)
        pcr_out = pcr if read_in_dim == c.n_factors else stitching.pcr_init(train_sessions, c.n_factors,
                                                                            **pcr_args)
        maps = pcr_maps(config, pcr, pcr_out)
    else:
        means = [x[idx].mean(axis=(0, 1)) for x, idx in zip(spikes, train_idx)]
        maps = random_maps(config, jax.random.fold_in(init_key, 1), means)
    model = StitchedLFADS(config, nnx.Rngs(init_key), maps)

    data, session_of = pad_sessions(spikes, config.max_neurons)
    offsets = np.concatenate([[0], np.cumsum(layout.n_trials)[:-1]])
    rows_train = np.concatenate([o + idx for o, idx in zip(offsets, train_idx)])
    rows_valid = np.concatenate([o + idx for o, idx in zip(offsets, valid_idx)])
    train_data = (jnp.asarray(data[rows_train]), jnp.asarray(session_of[rows_train]))
    valid_data = (jnp.asarray(data[rows_valid]), jnp.asarray(session_of[rows_valid]))

    graphdef, params = nnx.split(model, nnx.Param)
    state = (params, lfads.make_optimizer(c).init(params))
    def step(state, batch):
        i, k = batch
        return _train_step(graphdef, config, state, i, k, *train_data)

    best_state, history = lfads.train_with_early_stopping(
        step, state, lambda st: _valid_terms(graphdef, st[0], valid_key, *valid_data), c, key,
        f"stitched LFADS ({init})", progress)
    model = nnx.merge(graphdef, best_state[0])
    return TrainedStitched(model, history, train_idx, valid_idx, pcr)


def posterior_rates(model, session, spikes, n_samples=32, seed=0, batch_size=256, return_all=False):
    """Rates (trials, time, N_s) in spikes per bin of session `session`'s `spikes`, the average
    over `n_samples` posterior samples. With `return_all=True`, a dict of the posterior means
    of `rates`, `factors` (trials, time, F) and `gen_states` (trials, time, G).

    Trials are inferred in chunks of `batch_size`, each padded with empty trials to a power of
    two and the padding dropped again: sessions with different trial counts then share a few
    compiled programs instead of one each. Each trial is inferred on its own, so padding
    changes at most which posterior samples it draws."""
    net = _unwrap(model)
    s = _check_session_index(session, net.config.n_sessions)
    n = net.config.n_neurons[s]
    spikes = lfads.check_spikes(spikes, "spikes", min_trials=1)
    if spikes.shape[2] != n:
        raise ValueError(f"spikes has {spikes.shape[2]} neurons but session {s}'s read-in takes {n}; "
                         f"pass that session's spikes shaped (trials, time, {n})")
    if spikes.shape[1] != net.config.core.n_bins:
        raise ValueError(f"spikes has {spikes.shape[1]} bins per trial but the model was trained on "
                         f"{net.config.core.n_bins}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    padded, _ = pad_sessions([spikes], net.config.max_neurons)
    graphdef, params = nnx.split(net, nnx.Param)
    key = jax.random.key(seed)
    parts = []
    for start in range(0, padded.shape[0], batch_size):
        chunk = padded[start:start + batch_size]
        n_real = chunk.shape[0]
        size = min(batch_size, 1 << (n_real - 1).bit_length())    # the next power of two
        chunk = np.concatenate([chunk, np.zeros((size - n_real,) + chunk.shape[1:], chunk.dtype)])
        index = jnp.full(size, s, jnp.int32)
        part = _sample_average(graphdef, params, jnp.asarray(chunk), index, jax.random.fold_in(key, start),
                               n_samples)
        parts.append({k: np.asarray(v)[:n_real] for k, v in part.items()})
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out["rates"] = out["rates"][..., :n]
    return out if return_all else out["rates"]


def posterior_factors(model, session, spikes, n_samples=32, seed=0):
    """Factors (trials, time, F) of session `session`'s `spikes`: the posterior mean. Every
    session's factors live in the same space (the shared generator's)."""
    return posterior_rates(model, session, spikes, n_samples, seed, return_all=True)["factors"]


def save(trained, path, **metadata):
    """Write a `TrainedStitched` (parameters, history, splits, config) to `path` (.npz + .json)."""
    if not isinstance(trained, TrainedStitched):
        raise TypeError(f"trained must be what fit_stitched returned (TrainedStitched), got "
                        f"{type(trained).__name__}")
    params = nnx.split(trained.model, nnx.Param)[1]
    history = {k: np.asarray(v) for k, v in trained.history.items()}
    tree = {"params": nnx.to_pure_dict(params), "history": history,
            "train_idx": {str(s): np.asarray(i) for s, i in enumerate(trained.train_idx)},
            "valid_idx": {str(s): np.asarray(i) for s, i in enumerate(trained.valid_idx)}}
    return checkpoint.save(path, tree, {"config": trained.config.to_dict(), **metadata})


def load(path, hint=""):
    """Read a checkpoint that `save` wrote; returns `(TrainedStitched, metadata)` (the PCR
    initialisation is not stored: `pcr` is None)."""
    tree, metadata = checkpoint.load(path, hint=hint)
    if "config" not in metadata or "params" not in tree:
        raise checkpoint.CheckpointError(f"{path} is not a stitched-LFADS checkpoint (no config or params)")
    config = StitchedConfig.from_dict(metadata.pop("config"))
    model = StitchedLFADS(config, nnx.Rngs(0))
    graphdef, params = nnx.split(model, nnx.Param)
    like = nnx.to_pure_dict(params)
    loaded, _ = checkpoint.load(path, like={**tree, "params": like}, hint=hint)
    nnx.replace_by_pure_dict(params, loaded["params"])
    history = {k: (int(v) if k == "best_step" else np.asarray(v)) for k, v in tree["history"].items()}
    order = lambda d: [np.asarray(d[str(s)]) for s in range(config.n_sessions)]
    return (TrainedStitched(nnx.merge(graphdef, params), history, order(tree["train_idx"]),
                            order(tree["valid_idx"])), metadata)


def pad_sessions(spikes, max_neurons):
    """Stack sessions' spikes (a list of (trials_s, T, N_s)) into one zero-padded
    (all trials, T, max_neurons) float32 array; returns it and each row's session index."""
    rows = sum(x.shape[0] for x in spikes)
    out = np.zeros((rows, spikes[0].shape[1], max_neurons), np.float32)
    session_of = np.zeros(rows, np.int32)
    start = 0
    for s, x in enumerate(spikes):
        if x.shape[2] > max_neurons:
            raise ValueError(f"session {s} has {x.shape[2]} neurons, more than max_neurons={max_neurons}")
        out[start:start + x.shape[0], :, :x.shape[2]] = x
        session_of[start:start + x.shape[0]] = s
        start += x.shape[0]
    return out, session_of


# ------------------------------------------------------------------------------------ helpers
@runtime.cpu_jit(cpu_options=lfads.XLA_CPU_OPTIONS, static_argnames=("graphdef", "config"))
def _train_step(graphdef, config, state, i, key, data, sessions):
    params, opt_state = state
    c = config.core
    k_batch, k_loss = jax.random.split(jax.random.fold_in(key, i))
    idx = jax.random.choice(k_batch, data.shape[0], (min(c.batch_size, data.shape[0]),), replace=False)
    ramp = jnp.clip(i / c.kl_warmup, 0.0, 1.0) if c.kl_warmup else 1.0

    def loss_fn(params):
        terms = loss_terms(nnx.merge(graphdef, params), data[idx], sessions[idx], k_loss, training=True)
        return terms["recon"] + ramp * (c.kl_scale * terms["kl"] + terms["l2"])

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = lfads.make_optimizer(c).update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss


@runtime.cpu_jit(cpu_options=lfads.XLA_CPU_OPTIONS, static_argnames=("graphdef",))
def _valid_terms(graphdef, params, key, data, sessions):
    terms = loss_terms(nnx.merge(graphdef, params), data, sessions, key, training=False)
    return {"recon": terms["recon"], "kl": terms["kl"]}


@runtime.cpu_jit(cpu_options=lfads.XLA_CPU_OPTIONS, static_argnames=("graphdef", "n_samples"))
def _sample_average(graphdef, params, spikes, sessions, key, n_samples):
    model = nnx.merge(graphdef, params)

    def accumulate(total, k):
        out = forward(model, spikes, sessions, k, training=False)
        sample = {"rates": jnp.exp(out["log_rates"]), "factors": out["factors"],
                  "gen_states": out["gen_states"]}
        return jax.tree.map(jnp.add, total, sample), None

    B, T, N = spikes.shape
    c = model.config.core
    zeros = {"rates": jnp.zeros((B, T, N)), "factors": jnp.zeros((B, T, c.n_factors)),
             "gen_states": jnp.zeros((B, T, c.generator_size))}
    total, _ = jax.lax.scan(accumulate, zeros, jax.random.split(key, n_samples))
    return jax.tree.map(lambda x: x / n_samples, total)


@dataclasses.dataclass
class _Subset:
    spikes: np.ndarray
    conditions: np.ndarray
    bin_size: float


def _split(n_trials, valid_fraction, key):
    """Per session, a random `valid_fraction` of its trials (at least one when it has two or
    more, never all) for validation; returns (train_idx, valid_idx), lists of sorted arrays."""
    train, valid = [], []
    for s, n in enumerate(n_trials):
        n_valid = min(n - 1, max(1, int(round(valid_fraction * n))))
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, s), n))
        valid.append(np.sort(order[:n_valid]))
        train.append(np.sort(order[n_valid:]))
    return train, valid


def _unwrap(model):
    net = model.model if isinstance(model, TrainedStitched) else model
    if not isinstance(net, StitchedLFADS):
        raise TypeError(f"model must be what fit_stitched returned (TrainedStitched) or a StitchedLFADS, "
                        f"got {type(model).__name__}")
    return net


def _check_session_index(session, n):
    if isinstance(session, bool) or not isinstance(session, (int, np.integer)) or not 0 <= session < n:
        raise ValueError(f"session must be a session index in [0, {n}), got {session!r}")
    return int(session)
