# ---
# jupyter:
#   accelerator: GPU
#   colab:
#     gpuType: T4
#     provenance: []
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Sequence to sequence, and attention
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/01_seq2seq_attention.ipynb)
#
# An encoder-decoder RNN (Sutskever et al. 2014) reads a whole sequence into one fixed-size
# state, then writes its output from that state alone. Long sequences do not fit. Attention
# (Bahdanau et al. 2015; Luong et al. 2015) lets the decoder look back at every input step
# and learn *where* to look. We measure the bottleneck, remove it, check that the learned
# attention finds the true alignment, and then use attention to read each trial's timing off
# time-warped population activity.
#
# **You will learn to**
# 1. build and train an encoder-decoder GRU in Flax NNX, with teacher forcing;
# 2. measure the fixed-size bottleneck as accuracy against sequence length;
# 3. write additive and dot-product attention scores, the masked softmax and the context vector;
# 4. read alignments off attention weights, and check them against the truth;
# 5. use attention to recover trial-to-trial time warps from spikes.
#
# **Prerequisites**: what a GRU is; JAX basics (notebook 03 is the crash course, and can be
# done first).
#
# **Time**: about 90 minutes. Setup 5 · 1. the copy task and the encoder-decoder 15 ·
# 2. attention, with two exercises 25 · 3. the bottleneck, measured 10 · 4. where the model
# looks 10 · 5. time-warped spikes 20 · 6. explorer 5.
#
# **Modes**: full mode (the default) takes about 4 minutes on a laptop CPU, most of it
# training; `WORKSHOP_FAST=1` trains briefly for the tests. Every check runs in both.

# %%
# @title Setup: run this cell first
# On Colab this fetches the course's own package and nothing else: Colab's JAX is built for
# its GPU, and reinstalling or upgrading it breaks that build.
import importlib.util, os, subprocess, sys

REPO_URL = "https://github.com/rnn-neural-data/advanced-rnns-workshop"
if "google.colab" in sys.modules and importlib.util.find_spec("workshop_utils") is None:
    repo = "/content/" + REPO_URL.rstrip("/").split("/")[-1]
    if not os.path.isdir(repo):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", REPO_URL, repo], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", repo], check=True)
    sys.path.insert(0, repo)  # this kernel started before the install

from workshop_utils import runtime
runtime.install_missing_on_colab()  # only packages Colab lacks, with its JAX pinned
runtime.report()

# %%
import ipywidgets as widgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
from flax import nnx

from workshop_utils import attention, metrics, mode, plotting, timewarp, training
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)  # every figure and number below follows from this seed

# %% [markdown]
# ## 1. A task whose alignment we know: copying (15 min)
#
# The input is a sequence of symbols from an alphabet of 8, from 2 to `MAX_LEN` long; the
# output is the same sequence. Copying is trivial for a program and hard for a network that
# must squeeze the whole input into one state vector. Its big advantage for us: the correct
# **alignment** is known, output step $t$ needs input step $t$, so we can check what
# attention learns.
#
# Sequences in a batch have different lengths, so we **pad** them to a common length with a
# `PAD` token and carry a boolean mask (True = real symbol). The decoder starts from a
# beginning-of-sequence token `BOS`. The data are made with NumPy's generator `rng`, seeded at
# the top (JAX's keys are for what happens inside compiled code).

# %%
N_SYMBOLS, PAD, BOS = 8, 0, 1
N_TOKENS = N_SYMBOLS + 2          # symbols are the tokens 2..9
MAX_LEN = mode.pick(full=20, fast=12)


def make_copy_batch(rng, n, min_len=2, max_len=MAX_LEN, pad_to=MAX_LEN):
    """Random sequences of min_len..max_len symbols padded to pad_to: tokens and mask, (n, pad_to)."""
    lengths = rng.integers(min_len, max_len + 1, n)
    mask = np.arange(pad_to)[None, :] < lengths[:, None]
    symbols = rng.integers(2, N_TOKENS, (n, pad_to))
    return jnp.asarray(np.where(mask, symbols, PAD)), jnp.asarray(mask)


example_tokens, example_mask = make_copy_batch(rng, 3)
print(example_tokens)
print(example_mask.astype(int))
assert bool(jnp.all((example_tokens == PAD) == ~example_mask))

# %% [markdown]
# ### The encoder-decoder
#
# The **encoder** GRU reads the embedded input $x_1..x_L$; on padded steps its state is left
# unchanged, so its final state $h_L$ summarises exactly the real symbols. The **decoder** GRU
# starts from $s_0 = h_L$ and, at each step, reads the previous output symbol and predicts the
# next one:
#
# $$ s_t = \mathrm{GRU}(s_{t-1}, \mathrm{embed}(y_{t-1})), \qquad p(y_t) = \mathrm{softmax}(W_o s_t + b_o). $$
#
# In training we feed the *true* previous symbol (**teacher forcing**): every step gets a
# clean input, and one mistake early on does not derail the rest of the sequence. At test
# time the model feeds back its own guesses (greedy decoding), which is what we score.

# %%
class Encoder(nnx.Module):
    """A GRU over a padded batch; returns all states (B, L, H) and the last real one (B, H)."""

    def __init__(self, n_in, hidden, *, rngs):
        self.cell = nnx.GRUCell(n_in, hidden, rngs=rngs)

    def __call__(self, x, mask):
        def step(h, inputs):
            x_t, real = inputs
            h_new, _ = self.cell(h, x_t)
            h = jnp.where(real[:, None], h_new, h)  # padding leaves the state alone
            return h, h

        h0 = jnp.zeros((x.shape[0], self.cell.hidden_features))
        h, states = jax.lax.scan(step, h0, (x.swapaxes(0, 1), mask.T))
        return states.swapaxes(0, 1), h


# %% [markdown]
# `jax.lax.scan` is the compiled loop over time (notebook 03, section 4): one copy of the step
# in the compiled program, whatever the sequence length.
#
# ## 2. Attention (25 min)
#
# With attention the decoder also gets a **context vector** at every step: a weighted average
# of *all* encoder states, with weights that say where to look. For decoder state $s_t$ and
# encoder states $h_1..h_L$:
#
# $$ e_{tj} = \mathrm{score}(s_t, h_j), \qquad \alpha_{tj} = \frac{\exp e_{tj}}{\sum_{k\,\mathrm{real}} \exp e_{tk}}, \qquad c_t = \sum_j \alpha_{tj} h_j, $$
#
# and the output reads both, $p(y_t) = \mathrm{softmax}(W_o [s_t; c_t] + b_o)$. Two classic
# scores:
#
# * **additive** (Bahdanau): $e_{tj} = v^\top \tanh(W_q s_t + W_k h_j)$, a small network that
#   rates how well key $h_j$ fits query $s_t$;
# * **dot-product** (Luong's "general" form): $e_{tj} = s_t \cdot W_a h_j / \sqrt{H}$, one
#   matrix $W_a$ that maps the encoder's state space onto the decoder's (the $\sqrt{H}$ keeps
#   the scores' scale independent of the state size; notebook 02 shows why). With $W_a = I$ it
#   is the bare dot product, which learns far more slowly here: the two GRUs' states start in
#   unrelated coordinates.
#
# ### Exercise 1: the additive score
# Write `additive_score(query, keys, W_q, W_k, v)`: `query` (B, H), `keys` (B, L, H),
# `W_q`, `W_k` (A, H), `v` (A,); return the scores (B, L).

# %%
def additive_score(query, keys, W_q, W_k, v):
    """Bahdanau's score v . tanh(W_q q + W_k k_j) for every key j: (B, H), (B, L, H) -> (B, L)."""
    # BEGIN SOLUTION
    return jnp.tanh((query @ W_q.T)[:, None, :] + keys @ W_k.T) @ v
    # END SOLUTION


# %%
# Self-check against workshop_utils.attention.additive_scores, on random inputs.
score_case = tuple(jnp.asarray(rng.standard_normal(shape), dtype=jnp.float32)
                   for shape in [(2, 6), (2, 5, 6), (4, 6), (4, 6), (4,)])  # query, keys, W_q, W_k, v
additive_score = check_exercise(additive_score, attention.additive_scores, [score_case])

# %% [markdown]
# ### Exercise 2: the masked softmax
# Padded encoder steps must get exactly zero weight. Write `masked_softmax(scores, mask)` for
# scores (B, L) and a boolean mask (B, L): a softmax over the entries where the mask is True,
# and exactly 0 elsewhere. A row with *no* True entry must give all zeros, not NaN (the
# usual trick of setting masked scores to $-\infty$ gives $0/0$ there).
# Hint: subtract each row's largest allowed score before `jnp.exp`, for numerical safety.

# %%
def masked_softmax(scores, mask):
    """Softmax over the entries where mask is True; zeros elsewhere and on fully masked rows."""
    # BEGIN SOLUTION
    top = jnp.max(jnp.where(mask, scores, -jnp.inf), axis=-1, keepdims=True)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    e = jnp.where(mask, jnp.exp(jnp.where(mask, scores - top, 0.0)), 0.0)
    total = jnp.sum(e, axis=-1, keepdims=True)
    return e / jnp.where(total > 0, total, 1.0)
    # END SOLUTION


# %%
# Self-check against workshop_utils.attention.masked_softmax, including a fully masked row.
test_scores = jnp.array([[1.0, 2.0, 3.0, 50.0], [0.5, -1.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]])
test_mask = jnp.array([[True, True, True, False], [True, False, True, True], [False, False, False, False]])
masked_softmax = check_exercise(masked_softmax, attention.masked_softmax, [(test_scores, test_mask)])


# %% [markdown]
# ### One decoder, three variants
# The decoder below computes the context vector with either score, or not at all: the plain
# decoder of Sutskever et al. gets a zero context. The variant is an *array*
# (`PLAIN`, `DOT` or `ADDITIVE`) rather than a Python `if`, and that is a deliberate JAX
# habit: `jit` compiles one program per Python-level structure, so with an `if` each variant
# would compile its own training step, which on a CPU takes longer than training it. As
# arrays, the three models have the same structure and share one compiled step. (The plain
# model carries attention weights it never uses; they get zero gradient.)

# %%
PLAIN, DOT, ADDITIVE = 0, 1, 2


class Decoder(nnx.Module):
    def __init__(self, n_in, hidden, n_out, variant, d_attn=32, *, rngs):
        self.cell = nnx.GRUCell(n_in, hidden, rngs=rngs)
        self.variant = nnx.Variable(jnp.asarray(variant))  # an array: not trained, but not static
        self.W_a = nnx.Linear(hidden, hidden, use_bias=False, rngs=rngs)  # dot: s . (W_a h)
        init = nnx.initializers.lecun_normal()                            # additive: v . tanh(W_q s + W_k h)
        self.W_q = nnx.Param(init(rngs.params(), (d_attn, hidden)))
        self.W_k = nnx.Param(init(rngs.params(), (d_attn, hidden)))
        self.v = nnx.Param(init(rngs.params(), (d_attn, 1))[:, 0])
        self.readout = nnx.Linear(2 * hidden, n_out, rngs=rngs)

    def attend(self, s, states, mask):
        """Context vector (B, H) and attention weights (B, L) for decoder state s (B, H)."""
        dot = attention.dot_scores(s, self.W_a(states)) / jnp.sqrt(s.shape[-1])
        additive = additive_score(s, states, self.W_q[...], self.W_k[...], self.v[...])
        scores = jnp.where(self.variant[...] == DOT, dot, additive)
        weights = masked_softmax(scores, mask & (self.variant[...] != PLAIN))  # plain: attends to nothing
        return jnp.einsum("bl,blh->bh", weights, states), weights

    def step(self, s, x, states, mask):
        s, _ = self.cell(s, x)
        context, weights = self.attend(s, states, mask)
        return s, self.readout(jnp.concatenate([s, context], axis=-1)), weights


class Seq2Seq(nnx.Module):
    def __init__(self, variant, hidden=64, d_embed=16, *, rngs):
        self.embed = nnx.Embed(N_TOKENS, d_embed, rngs=rngs)
        self.encoder = Encoder(d_embed, hidden, rngs=rngs)
        self.decoder = Decoder(d_embed, hidden, N_TOKENS, variant, rngs=rngs)

    def __call__(self, tokens, mask, teacher=None):
        """Logits (B, L, N_TOKENS) and attention weights (B, L_out, L_in) for copying `tokens`.
        With `teacher` (the true outputs) the decoder reads them; otherwise its own guesses."""
        states, h = self.encoder(self.embed(tokens), mask)
        bos = jnp.full(tokens.shape[0], BOS)
        previous = (jnp.concatenate([bos[:, None], teacher[:, :-1]], axis=1) if teacher is not None
                    else jnp.zeros_like(tokens))

        def step(carry, true_previous):
            s, guess = carry
            y_prev = true_previous if teacher is not None else guess
            s, logits, weights = self.decoder.step(s, self.embed(y_prev), states, mask)
            return (s, jnp.argmax(logits, axis=-1)), (logits, weights)

        _, (logits, weights) = jax.lax.scan(step, (h, bos), previous.T)
        return logits.swapaxes(0, 1), weights.swapaxes(0, 1)


# %% [markdown]
# Training minimises the cross-entropy of the true symbols over the real (unpadded) steps.
# `training.nnx_train_step` turns an NNX model and its optimiser into a pure, jitted step, and
# `training.train` runs it with a progress bar. The three models train on the same batches,
# made once up front, so the comparison is fair.

# %%
def copy_loss(model, batch):
    tokens, mask = batch
    logits, _ = model(tokens, mask, teacher=tokens)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, tokens)
    return jnp.sum(losses * mask) / jnp.sum(mask)


def new_copy_model(variant, key):
    model = Seq2Seq(variant, rngs=nnx.Rngs(int(jax.random.randint(key, (), 0, 2**31 - 1))))
    return model, nnx.Optimizer(model, optax.adam(5e-3), wrt=nnx.Param)


N_COPY_STEPS = mode.pick(full=600, fast=200)
copy_batches = [make_copy_batch(rng, 64) for _ in range(N_COPY_STEPS)]
key, *init_keys = jax.random.split(key, 4)
variants = {"plain": PLAIN, "dot-product attention": DOT, "additive attention": ADDITIVE}
untrained = {name: new_copy_model(v, k) for (name, v), k in zip(variants.items(), init_keys)}
copy_step, _, unpack = training.nnx_train_step(*untrained["plain"], copy_loss)  # one step for all three

copy_models, copy_losses = {}, {}
for name, (model, optimizer) in untrained.items():
    state = nnx.split((model, optimizer))[1]
    state, copy_losses[name] = training.train(copy_step, state, N_COPY_STEPS,
                                              lambda i: copy_batches[i], desc=name)
    assert len(copy_losses[name]) == N_COPY_STEPS, f"{name}: training stopped early"
    copy_models[name] = unpack(state)[0]

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for (name, losses), color in zip(copy_losses.items(), [COLORS["baseline"], COLORS["model"], COLORS["input"]]):
    ax.semilogy(np.convolve(losses, np.ones(20) / 20, mode="valid"), label=name, color=color)
plotting.label(ax, "training step", "cross-entropy (nats per symbol)", "Attention models learn to copy much faster")
ax.legend()
plotting.show(fig)
final_loss = {name: float(np.mean(losses[-50:])) for name, losses in copy_losses.items()}
print("mean loss over the last 50 steps: " + ", ".join(f"{n} {l:.3f}" for n, l in final_loss.items()))
assert final_loss["plain"] > 2 * max(final_loss["dot-product attention"], final_loss["additive attention"])

# %% [markdown]
# ## 3. The bottleneck, measured (10 min)
# We score each model on 500 held-out sequences of each length, decoding greedily (the model
# reads its own previous guesses), by the fraction of symbols copied correctly.

# %%
@nnx.jit
def greedy_copy(model, tokens, mask):
    logits, weights = model(tokens, mask)
    return jnp.argmax(logits, axis=-1), weights


def accuracy_at_length(model, length, n=500):
    """Fraction of symbols copied right, for n new sequences of exactly `length` symbols."""
    tokens, mask = make_copy_batch(rng, n, min_len=length, max_len=length)  # padded: one compile
    guesses, _ = greedy_copy(model, tokens, mask)
    return float(jnp.sum((guesses == tokens) * mask) / jnp.sum(mask))


eval_lengths = list(range(4, MAX_LEN + 1, 4))
accuracy = {name: [accuracy_at_length(m, L) for L in eval_lengths]
            for name, m in copy_models.items()}
for name, accs in accuracy.items():
    print(f"{name:>22}: " + "  ".join(f"L={L}: {a:.3f}" for L, a in zip(eval_lengths, accs)))

# %%
fig, ax = plt.subplots(figsize=(6, 3.4))
for (name, accs), color in zip(accuracy.items(), [COLORS["baseline"], COLORS["model"], COLORS["input"]]):
    ax.plot(eval_lengths, accs, "o-", label=name, color=color)
ax.axhline(1 / N_SYMBOLS, color="0.6", ls=":", lw=1, label="chance")
ax.set_ylim(0, 1.05)
plotting.label(ax, "sequence length (symbols)", "fraction of symbols copied correctly",
               "Without attention, accuracy falls with length")
ax.legend(loc="lower left")
plotting.show(fig)

plain_drop = accuracy["plain"][0] - accuracy["plain"][-1]
worst_attention = min(min(accuracy["dot-product attention"]), min(accuracy["additive attention"]))
print(f"plain model: {accuracy['plain'][0]:.3f} at length {eval_lengths[0]} -> {accuracy['plain'][-1]:.3f} "
      f"at {eval_lengths[-1]} (a drop of {plain_drop:.3f}); attention models: >= {worst_attention:.3f} at every length")
assert plain_drop >= 0.1, "the plain encoder-decoder should degrade with length"
assert worst_attention >= 0.9, "the attention models should hold at every length"
assert worst_attention - accuracy["plain"][-1] >= 0.1

# %% [markdown]
# **Think**: the plain model's state has 64 numbers and each symbol carries 3 bits, so the
# state could in principle hold far more than 20 symbols. Why does it still fail? (Hint: a
# GRU must also *write* each symbol without overwriting the earlier ones, and read them back
# in order, all with smooth gates learned from a few hundred batches.)
#
# ## 4. Where does the model look? (10 min)
# The attention weights $\alpha_{tj}$ form a matrix per sequence: row $t$ says which input
# steps output step $t$ read. For copying, the truth is the diagonal.

# %%
held_out_tokens, held_out_mask = make_copy_batch(rng, 500)  # for the figures, checks and explorer
held_out = {name: greedy_copy(copy_models[f"{name} attention"], held_out_tokens, held_out_mask)
            for name in ["dot-product", "additive"]}
show = int(jnp.argmax(held_out_mask.sum(1)))  # a longest example
length = int(held_out_mask[show].sum())
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, (_, w)) in zip(axes, held_out.items()):
    image = ax.imshow(w[show, :length, :length], cmap="viridis", vmin=0, vmax=1)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    plotting.label(ax, "input step j", "output step t", f"{name} attention")
fig.colorbar(image, ax=axes, label="attention weight α")
fig.suptitle("Both models learn to read input step t at output step t")
plotting.show(fig)

# %%
def alignment_accuracy(weights, mask):
    """Fraction of real output steps whose most-attended input step is the true one (t -> t)."""
    hits = jnp.argmax(weights, axis=-1) == jnp.arange(mask.shape[1])[None, :]
    return float(jnp.sum(hits * mask) / jnp.sum(mask))


alignment = {name: alignment_accuracy(w, held_out_mask) for name, (_, w) in held_out.items()}
print("argmax of the attention weights = true alignment, on held-out sequences: "
      + ", ".join(f"{name} {100 * a:.1f}%" for name, a in alignment.items()))
assert min(alignment.values()) >= 0.9

# %% [markdown]
# Nobody told the models the alignment: it emerged because looking at the right input is the
# easiest way to lower the loss.
#
# **Think**: would the alignment still be the diagonal if the task were to *reverse* the
# sequence? What would the heatmap look like?
#
# ## 5. Attention as a clock: time-warped spikes (20 min)
#
# Trial-to-trial timing variability is everywhere in intracranial recordings: the same
# sequence of population states plays out faster on one trial and slower on the next. We
# simulate it with `workshop_utils.timewarp`: one latent trajectory (the **template**, 1 s in
# 20 ms bins) is replayed on each trial through its own random monotonic **warp** $w_i$: trial
# bin $w_i(\tau)$ holds what template bin $\tau$ holds. A population of neurons fires Poisson
# spikes at rates $\exp(C z + b)$ (5-80 Hz).

# %%
N_TRIALS = mode.pick(full=2000, fast=500)
key, data_key = jax.random.split(key)
data = timewarp.make_warped_trials(data_key, N_TRIALS)
n_train = int(0.8 * N_TRIALS)
n_bins, n_neurons = data.spikes.shape[1:]
tau = np.arange(n_bins)
rates_hz = np.asarray(data.rates) / data.bin_size
print(f"spikes {data.spikes.shape} (trials, bins, neurons): {n_bins * data.bin_size:.1f} s trials in "
      f"{data.bin_size * 1e3:.0f} ms bins; rates {rates_hz.min():.1f}-{rates_hz.max():.1f} Hz (mean "
      f"{rates_hz.mean():.1f}); warps move template bins by up to {float(jnp.abs(data.warps - tau).max()):.1f} bins")
assert n_bins * data.bin_size == 1.0 and data.bin_size == 0.02 and 5 - 1e-3 <= rates_hz.min() < rates_hz.max() <= 80 + 1e-3

fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
bin_ms = data.bin_size * 1e3
time_ms = tau * bin_ms
for i in range(3):
    axes[0].plot(time_ms, data.latents[i, :, 0], lw=1.2)
axes[0].plot(time_ms, data.template[:, 0], color=COLORS["true"], lw=2.5, ls="--", label="template")
axes[0].legend()
plotting.label(axes[0], "time in trial (ms)", "latent 1 (a.u.)", "Same trajectory, different pace")
by_peak = np.argsort(np.argmax(np.asarray(data.template_rates), axis=0))  # neurons in order of their peak
axes[1].imshow(data.spikes[0][:, by_peak].T, aspect="auto", cmap="Greys", interpolation="nearest",
               extent=[0, time_ms[-1] + bin_ms, n_neurons, 0])
plotting.label(axes[1], "time in trial (ms)", "neuron (by time of peak rate)", "Spikes of trial 1")
for i in range(3):
    axes[2].plot(tau, data.warps[i], lw=1.5)
axes[2].plot(tau, tau, color="0.6", ls=":", lw=1)
plotting.label(axes[2], f"template bin τ ({bin_ms:.0f} ms)", f"trial bin w(τ) ({bin_ms:.0f} ms)", "The true warps")
plotting.show(fig)

# %% [markdown]
# ### Two yardsticks
# Before training anything: how far off is the simplest guess, that there is no warp at all,
# $w(\tau) = \tau$? And how close can one get? `timewarp.align_by_likelihood` knows the
# generative model exactly (Poisson, the template's true rates) and finds each trial's most
# likely monotonic alignment by dynamic programming (dynamic time warping with the exact
# likelihood). No method that learns from examples can expect to beat it by much.

# %%
test = slice(n_train, N_TRIALS)
true_warps = np.asarray(data.warps[test])
no_warp_error = timewarp.mean_abs_warp_error(np.broadcast_to(tau, true_warps.shape), true_warps)
reference_warps = timewarp.align_by_likelihood(data.spikes[test], data.template_rates)
reference_error = timewarp.mean_abs_warp_error(reference_warps, true_warps)
print(f"mean |estimated - true warp| on {true_warps.shape[0]} held-out trials: assuming no warp "
      f"{no_warp_error:.2f} bins; the exact-likelihood aligner {reference_error:.2f} bins")
assert no_warp_error > 3.0, "the trials should be jittered by several bins"
assert reference_error < 1.0, "every template bin should be recognisable from one trial's spikes"

# %% [markdown]
# ### An attention model that reads the clock
# We turn section 2's decoder around. For each **template** bin $\tau$ a learned **query**
# $q_\tau$ scores every bin $t$ of the warped trial; the keys come from a bidirectional GRU over
# the trial's spikes (section 1's encoder run forwards and backwards), so each bin's key knows
# its context. The values are the trial's own spike counts $x_t$, so the output is the trial
# replayed in template time:
#
# $$ \alpha_{\tau t} = \mathrm{softmax}_t\!\left(\frac{q_\tau \cdot W_k h_t}{\sqrt d}\right),\qquad \hat x_\tau = \sum_t \alpha_{\tau t}\, x_t , $$
#
# trained so that $\hat x_\tau$ matches the template's rates $r_\tau$. The values carry only
# their own bin, so the only way to output the template is to look where template bin $\tau$
# happened: $\alpha_{\tau t}$ should peak at $t = w(\tau)$. We never show the model the warps.
# A mask lets template bin $\tau$ attend only to trial bins within 20 bins of $\tau$ (timing
# drifts by less than that), the `mask` argument of `attention.scaled_dot_product_attention`.
#
# Two details matter with spikes, both because the values are noisy counts:
# * **The noise rewards blurring.** For Poisson counts, $E[(\hat x_\tau - r_\tau)^2] =
#   (\sum_t \alpha_{\tau t} r_t - r_\tau)^2 + \sum_t \alpha_{\tau t}^2 r_t$: the misalignment,
#   plus the variance of the average, which shrinks when the attention spreads over many bins.
#   Trained on the plain squared error, the model learns to average broadly. A Poisson count's
#   variance equals its mean, so $\sum_t \alpha_{\tau t}^2 x_t$ estimates the second term without
#   bias; subtracting it leaves the misalignment alone.
# * **The model must not see the noise it is scored on**, or it learns to pick the bins whose
#   noise happens to fit. So on every training trial the encoder reads a random half of the
#   neurons and the loss scores the other half (the *coordinated dropout* of LFADS, notebook
#   04); Poisson noise is independent across neurons, so the correction above stays exact.
#   After training, the encoder reads every neuron.

# %%
class WarpAligner(nnx.Module):
    """Template bin tau (a learned query) attends over the bins of a warped trial and reads its spikes."""

    def __init__(self, n_neurons, n_bins, hidden=32, d_key=32, reach=20, *, rngs):
        self.forward = Encoder(n_neurons, hidden, rngs=rngs)
        self.backward = Encoder(n_neurons, hidden, rngs=rngs)
        self.queries = nnx.Param(jax.random.normal(rngs.params(), (n_bins, d_key)))
        self.keys = nnx.Linear(2 * hidden, d_key, rngs=rngs)
        bins = jnp.arange(n_bins)
        self.near = nnx.Variable(jnp.abs(bins[:, None] - bins[None, :]) <= reach)  # (tau, t): may attend

    def __call__(self, spikes, seen):
        """spikes (B, T, N) counts; seen (B, N) True for the neurons the encoder reads.
        Returns the trial in template time (B, T, N) and the attention weights (B, tau, t)."""
        spikes = spikes.astype(jnp.float32)
        x = jnp.log1p(spikes * seen[:, None, :] / jnp.mean(seen, axis=-1)[:, None, None])
        every_bin = jnp.ones(x.shape[:2], dtype=bool)
        forward, _ = self.forward(x, every_bin)
        backward, _ = self.backward(x[:, ::-1], every_bin)
        states = jnp.concatenate([forward, backward[:, ::-1]], axis=-1)  # (B, T, 2H)
        return attention.scaled_dot_product_attention(self.queries[...], self.keys(states), spikes,
                                                      mask=self.near[...])


template_rates = data.template_rates  # (T, N) spikes per bin: the target


def warp_loss(model, batch):
    spikes, seen = batch
    unwarped, weights = model(spikes, seen)
    noise = weights**2 @ spikes                                # sum_t alpha^2 x_t: the averaging noise
    error = (unwarped - template_rates) ** 2 - noise           # leaves the misalignment alone
    scored = ~seen[:, None, :]                                 # only the neurons the encoder did not read
    return jnp.sum(error * scored) / (jnp.sum(scored) * spikes.shape[1])

# %% [markdown]
# Each training batch is a random set of training trials with a random half of the neurons
# marked as seen (drawn with `rng`, like the copy batches).

# %%
WARP_BATCH = mode.pick(full=64, fast=32)
train_spikes = data.spikes[:n_train]


def warp_batch(i):
    trials = rng.integers(0, n_train, WARP_BATCH)
    return train_spikes[trials], jnp.asarray(rng.random((WARP_BATCH, n_neurons)) < 0.5)


key, init_key = jax.random.split(key)
aligner = WarpAligner(n_neurons, n_bins, rngs=nnx.Rngs(int(jax.random.randint(init_key, (), 0, 2**31 - 1))))
optimizer = nnx.Optimizer(aligner, optax.adam(3e-3), wrt=nnx.Param)
step, state, unpack_aligner = training.nnx_train_step(aligner, optimizer, warp_loss)
state, warp_losses = training.train(step, state, mode.pick(full=600, fast=120), warp_batch, desc="warp aligner")
aligner = unpack_aligner(state)[0]

# %% [markdown]
# On held-out trials we read each trial's warp off the attention weights
# (`timewarp.warp_from_attention`): the most attended bin (argmax), and the attention-weighted
# mean bin, which interpolates between neighbouring bins.

# %%
every_neuron = jnp.ones((true_warps.shape[0], n_neurons), dtype=bool)
unwarped, warp_weights = nnx.jit(lambda model, spikes, seen: model(spikes, seen))(aligner, data.spikes[test], every_neuron)
estimates = {"argmax": timewarp.warp_from_attention(warp_weights, "argmax"),
             "weighted mean": timewarp.warp_from_attention(warp_weights, "mean")}
errors = {name: timewarp.mean_abs_warp_error(w, true_warps) for name, w in estimates.items()}
attention_error = errors["weighted mean"]
print(f"mean |estimated - true warp| on {true_warps.shape[0]} held-out trials: "
      + ", ".join(f"attention ({name}) {e:.2f} bins" for name, e in errors.items())
      + f"; no warp {no_warp_error:.2f}; exact-likelihood aligner {reference_error:.2f}")
assert attention_error <= 2.0, "the warp read off the attention should be within 2 bins"
assert attention_error < 0.5 * no_warp_error, "attention should do far better than assuming no warp"
assert attention_error < reference_error + 1.0, "within a bin of the aligner that knows the true model"

# %%
fig, axes = plt.subplots(1, 4, figsize=(12, 3.3), sharey=True)
for ax, i in zip(axes, range(4)):
    ax.imshow(np.asarray(warp_weights[i]).T, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=0.6,
              extent=[-0.5, n_bins - 0.5, -0.5, n_bins - 0.5])
    ax.plot(tau, true_warps[i], color=COLORS["true"], lw=1.5, label="true warp")
    ax.plot(tau, estimates["weighted mean"][i], "--", color=COLORS["model"], lw=1.5, label="from attention")
    trial_error = timewarp.mean_abs_warp_error(estimates["weighted mean"][i], true_warps[i])
    plotting.label(ax, f"template bin τ ({bin_ms:.0f} ms)", f"trial bin t ({bin_ms:.0f} ms)" if i == 0 else "",
                   f"held-out trial {i + 1}: {trial_error:.2f} bins off")
axes[0].legend(loc="upper left")
fig.suptitle(f"Attention weights (grey) trace each trial's warp: {attention_error:.2f} bins off on average "
             f"(no warp: {no_warp_error:.2f})")
plotting.show(fig)

# %% [markdown]
# ### What the warps are good for
# Averaging trials in raw time smears every fast feature of the template. Aligning each trial
# first (`timewarp.unwarp` reads trial $i$ at bins $\hat w_i(\tau)$) and then averaging gives
# the template back sharply. We score each trial average (the PSTH) against the template's
# true rates.

# %%
raw_psth = np.asarray(data.spikes[test]).mean(axis=0)
aligned_psth = np.asarray(timewarp.unwarp(data.spikes[test].astype(jnp.float32), estimates["weighted mean"])).mean(axis=0)
psth_r2 = {"raw trial time": metrics.r_squared(template_rates, raw_psth),
           "aligned by attention": metrics.r_squared(template_rates, aligned_psth)}
print("PSTH against the template's true rates, R^2: " + ", ".join(f"{n} {r:.3f}" for n, r in psth_r2.items()))
assert psth_r2["aligned by attention"] > psth_r2["raw trial time"] + 0.05

neuron = int(np.argmax(np.ptp(np.asarray(template_rates), axis=0)))  # the neuron with the sharpest tuning
fig, ax = plt.subplots(figsize=(6.4, 3.2))
to_hz = 1 / data.bin_size
ax.plot(time_ms, np.asarray(template_rates[:, neuron]) * to_hz, color=COLORS["true"], lw=2.5, label="true rate")
ax.plot(time_ms, raw_psth[:, neuron] * to_hz, color=COLORS["baseline"], label="average in trial time")
ax.plot(time_ms, aligned_psth[:, neuron] * to_hz, "--", color=COLORS["model"], label="average after alignment")
ax.legend(fontsize=8)
plotting.label(ax, "template time (ms)", "rate (Hz)", f"Aligned trials keep the sharp peaks (neuron {neuron})")
plotting.show(fig)

# %% [markdown]
# **Think**: the attention model never saw the template's latents, only its rates. How would
# you align trials when nobody gives you the template at all? (One answer, in the spirit of
# Williams et al. 2020: alternate between averaging aligned trials into a template and
# re-aligning every trial to it.)
#
# ## 6. Explorer (5 min)
# Pick a held-out copy sequence and a decoder step, and see where each model looks, with the
# input symbols and the model's output beside it. The figure below is the explorer's first
# view; with a live kernel, the sliders redraw it.

# %%
def show_attention(example=0, step=0, score="dot-product"):
    guesses, weights = held_out[score]
    length = int(held_out_mask[example].sum())
    step = min(step, length - 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), gridspec_kw={"width_ratios": [1, 1.4]})
    axes[0].imshow(weights[example, :length, :length], cmap="viridis", vmin=0, vmax=1)
    axes[0].axhline(step, color="white", lw=1)
    axes[0].yaxis.set_major_locator(plt.MaxNLocator(integer=True))
    plotting.label(axes[0], "input step j", "output step t", f"{score}: whole sequence")
    axes[1].bar(np.arange(length), weights[example, step, :length], color=COLORS["model"])
    axes[1].set_xticks(np.arange(length), [str(int(s) - 2) for s in held_out_tokens[example, :length]])
    axes[1].set_ylim(0, 1)
    plotting.label(axes[1], "input symbols, in order", "attention weight",
                   f"output step {step}: wrote {int(guesses[example, step]) - 2}, "
                   f"true {int(held_out_tokens[example, step]) - 2}")
    plotting.show(fig)


show_attention(example=show, step=length // 2)

# %%
widgets.interact(show_attention, example=widgets.IntSlider(0, 0, 49), step=widgets.IntSlider(0, 0, MAX_LEN - 1),
                 score=widgets.ToggleButtons(options=["dot-product", "additive"]));

# %% [markdown]
# ## Summary
#
# * An encoder-decoder RNN must pass everything through one state; its copying accuracy falls
#   as sequences grow (section 3 has the numbers).
# * Attention gives the decoder a context vector, a softmax-weighted average of all encoder
#   states, at every step; additive and dot-product scores both work, and accuracy holds.
# * The attention weights are interpretable: their argmax recovered the true alignment for
#   more than 90% of output steps without ever being told it.
# * On neural data, attention from template time to a warped trial reads out the trial's time
#   warp from spikes alone, far better than assuming no warp and within a bin of an aligner
#   that knows the generative model; the aligned trials average back to the template's sharp
#   rates.
# * With noisy values, attention learns to blur; correcting the loss for the Poisson noise,
#   and scoring neurons the encoder did not read, keeps it sharp.
#
# **Further reading**
# * Sutskever, Vinyals & Le (2014), Sequence to sequence learning with neural networks.
# * Bahdanau, Cho & Bengio (2015), Neural machine translation by jointly learning to align and translate.
# * Luong, Pham & Manning (2015), Effective approaches to attention-based neural machine translation.
# * Williams et al. (2020), Discovering precise temporal patterns in large-scale neural
#   recordings through robust and interpretable time warping, *Neuron* 105.
# * Notebook 02 takes attention all the way: self-attention and transformers. Notebook 04 uses
#   coordinated dropout in LFADS.
