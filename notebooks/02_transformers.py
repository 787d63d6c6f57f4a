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
# # 02 · Transformers: from self-attention to a model of spiking data
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/02_transformers.ipynb)
#
# In notebook 01 a decoder RNN learned where to look in its encoder's states. A transformer
# (Vaswani et al. 2017) keeps the attention and drops the recurrence: every element of a
# sequence looks at every other one, all at once. This notebook builds one piece by piece,
# checking each piece against a reference, then trains it on spikes the way the Neural Data
# Transformer does (Ye & Pandarinath 2021): hide part of the recording and predict it.
#
# **You will learn to**
# 1. compute self-attention from queries, keys and values, and say why the scores are divided by $\sqrt{d}$;
# 2. write multi-head attention (it matches Flax's to 1e-5) and use causal and padding masks;
# 3. give a model positional information, sinusoidal or learned, and show that without it the model is blind to order;
# 4. assemble an encoder block (attention, MLP, residuals, layer norm) and train a small transformer;
# 5. train a transformer by masked modelling of binned spikes and score it against smoothing on held-out trials and neurons.
#
# **Prerequisites**: notebook 01 (attention in a seq2seq model). The JAX of notebook 03 (keys,
# `jit`, `vmap`) helps; Flax NNX modules are introduced as we use them.
#
# **Time**: about 90 minutes. Setup 5 · self-attention 15 · multi-head attention and masks 15 ·
# positions 10 · the encoder block 15 · spiking data 20 · explorer 5 · summary 5.
#
# **Modes**: the notebook runs in *full* mode by default (about 3 minutes on a 2-core CPU). The
# tests set `WORKSHOP_FAST=1` for a *fast* mode that trains less; every check still runs.

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

from workshop_utils import attention, glm, metrics, mode, plotting, smoothing, timewarp, training, transformer
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)  # every number below follows from this seed


def random_array(*shape):
    """Standard-normal test data from NumPy's seeded generator (plain data, made outside JAX)."""
    return jnp.asarray(rng.normal(size=shape), dtype=jnp.float32)

# %% [markdown]
# ## 1. Self-attention from scratch (15 min)
#
# Self-attention rewrites every element of a sequence as a weighted average of all the
# elements, with weights that say how relevant each one is to it. Stack the sequence's $L$
# vectors (tokens) as the rows of $X$ ($L \times d_\text{model}$). Each token $x_i$ is projected
# three ways, by learned matrices:
#
# * a **query** $q_i = x_i W_Q$: what token $i$ is looking for;
# * a **key** $k_j = x_j W_K$: what token $j$ offers, to be matched against queries;
# * a **value** $v_j = x_j W_V$: what token $j$ hands over when it is chosen.
#
# Token $i$ scores every token $j$ by a dot product, turns the scores into weights with a
# softmax, and reads the weighted average of the values:
#
# $$ s_{ij} = \frac{q_i \cdot k_j}{\sqrt{d_k}}, \qquad a_{ij} = \frac{e^{s_{ij}}}{\sum_{j'} e^{s_{ij'}}}, \qquad z_i = \sum_j a_{ij} v_j,
# \qquad\text{or, for all tokens at once,}\qquad Z = \operatorname{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d_k}}\Big) V. $$
#
# This is notebook 01's attention with one change: there, the queries came from the decoder
# and the keys and values from the encoder; here all three come from the *same* sequence.
#
# ### Exercise 1: one attention head
# Write `attention_head(x, W_q, W_k, W_v)` for one sequence `x` of shape (L, d_model): return
# the outputs $Z$ (L, d_v) and the weights $A$ (L, L), `weights[i, j]` $= a_{ij}$.
# (`jax.nn.softmax(s, axis=-1)` normalises along the last axis.)

# %%
def attention_head(x, W_q, W_k, W_v):
    """Self-attention of one head: returns (outputs (L, d_v), weights (L, L))."""
    # BEGIN SOLUTION
    q, k, v = x @ W_q, x @ W_k, x @ W_v
    scores = q @ k.T / jnp.sqrt(k.shape[-1])
    weights = jax.nn.softmax(scores, axis=-1)
    return weights @ v, weights
    # END SOLUTION


# %%
# Self-check against the shared primitive of notebook 01 (workshop_utils/attention.py).
def attention_head_reference(x, W_q, W_k, W_v):
    return attention.scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)

cases = [tuple(random_array(*shape) for shape in [(L, d_model), (d_model, d_k), (d_model, d_k), (d_model, d_v)])
         for L, d_model, d_k, d_v in [(2, 4, 3, 3), (6, 8, 5, 2)]]
attention_head = check_exercise(attention_head, attention_head_reference, cases, rtol=1e-5, atol=1e-5)

# %% [markdown]
# ### Two words, step by step
# The Illustrated Transformer (Alammar) walks through the sentence "Thinking Machines": two
# tokens, each a vector of 4 numbers, and one head with $d_k = 3$. Our embeddings and weights
# are random (a trained model's would mean something); what matters is the arithmetic.

# %%
words = ["Thinking", "Machines"]
x_words = random_array(2, 4)
W_q, W_k, W_v = (random_array(4, 3) / 2 for _ in range(3))   # std 1/sqrt(4), as is usual

q_words, k_words, v_words = x_words @ W_q, x_words @ W_k, x_words @ W_v
scores_words = q_words @ k_words.T / jnp.sqrt(3.0)
z_words, a_words = attention_head(x_words, W_q, W_k, W_v)
show = lambda a: np.array2string(np.asarray(a), precision=2, suppress_small=True)
for i, word in enumerate(words):
    print(f"{word:>9}: q = {show(q_words[i])}, k = {show(k_words[i])}, v = {show(v_words[i])}\n"
          f"{'':>9}  scores = {show(scores_words[i])}, weights = {show(a_words[i])}, z = {show(z_words[i])}")
assert jnp.allclose(a_words.sum(axis=1), 1.0, atol=1e-6)                 # weights sum to 1
assert jnp.allclose(z_words, a_words @ v_words, atol=1e-5)               # z is the weighted average
assert jnp.allclose(a_words, jax.nn.softmax(scores_words, axis=1), atol=1e-6)


# %%
def draw_attention_lines(ax, weights, tokens, title):
    """Queries on the left, keys on the right, one line per pair, as thick as its weight."""
    weights = np.asarray(weights)
    L = len(tokens)
    for i in range(L):
        for j in range(L):
            ax.plot([0, 1], [-i, -j], color=COLORS["model"], lw=0.5 + 8 * weights[i, j],
                    alpha=0.25 + 0.75 * weights[i, j], solid_capstyle="round")
            t = 0.22                                      # label each line near its query end
            ax.text(t, -i - t * (j - i), f"{weights[i, j]:.2f}", ha="center", va="center", fontsize=9,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"))
    for i, token in enumerate(tokens):
        ax.text(-0.05, -i, token, ha="right", va="center", fontsize=11)
        ax.text(1.05, -i, token, ha="left", va="center", fontsize=11)
    ax.text(0, 0.6, "query", ha="center", fontsize=9, color="0.4")
    ax.text(1, 0.6, "key / value", ha="center", fontsize=9, color="0.4")
    ax.set(xlim=(-0.7, 1.7), ylim=(-L + 0.4, 0.9), title=title)
    ax.axis("off")


fig, axes = plt.subplots(1, 2, figsize=(9, 3.0), gridspec_kw={"width_ratios": [1.4, 1]})
draw_attention_lines(axes[0], a_words, words, "Each word reads a weighted mix of both")
image = axes[1].imshow(np.asarray(a_words), vmin=0, vmax=1, cmap="Blues")
axes[1].set_xticks([0, 1], words)
axes[1].set_yticks([0, 1], words)
plotting.label(axes[1], "key (attended to)", "query (attending)", "The same weights as a matrix")
fig.colorbar(image, ax=axes[1], label="weight $a_{ij}$")
plotting.show(fig)

# %% [markdown]
# ### Why divide by $\sqrt{d_k}$?
# If the entries of $q$ and $k$ are independent with unit variance, $q\cdot k = \sum_{m=1}^{d_k} q_m k_m$
# has variance $d_k$: the wider the head, the further apart its scores. A softmax of widely
# spread scores **saturates**: nearly all the weight goes to the largest score. Its gradient
# $\partial a_i / \partial s_j = a_i(\delta_{ij} - a_j)$ is then nearly zero, so a saturated head
# barely learns. Dividing by $\sqrt{d_k}$ keeps the scores' variance at 1 whatever the width.
#
# We measure it: for heads of growing width, 2,000 random queries against 16 random keys,
# the average largest weight and the average size (Frobenius norm) of the softmax Jacobian
# $J = \operatorname{diag}(a) - a a^\top$, with and without the scaling.

# %%
head_widths = [2, 8, 32, 128, 512, 2048]
N_QUERIES, N_KEYS = 2000, 16


def softmax_saturation(scores):
    """Mean largest weight, and mean norm of the softmax Jacobian diag(a) - a a^T, over rows."""
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    jacobians = weights[:, :, None] * np.eye(scores.shape[-1]) - weights[:, :, None] * weights[:, None, :]
    return weights.max(axis=-1).mean(), np.linalg.norm(jacobians, axis=(1, 2)).mean()


# Plain NumPy here: six head widths would mean six shapes for JAX to compile, for one use each.
saturation = {"unscaled": [], "scaled": []}
for d_k in head_widths:
    q, k = rng.normal(size=(N_QUERIES, d_k)), rng.normal(size=(N_KEYS, d_k))
    saturation["unscaled"].append(softmax_saturation(q @ k.T))
    saturation["scaled"].append(softmax_saturation(q @ k.T / np.sqrt(d_k)))
top_weight = {name: np.array([s[0] for s in values]) for name, values in saturation.items()}
jacobian_size = {name: np.array([s[1] for s in values]) for name, values in saturation.items()}
print(f"d_k = {head_widths[-1]}: largest weight {top_weight['unscaled'][-1]:.3f} unscaled vs "
      f"{top_weight['scaled'][-1]:.3f} scaled; gradient size {jacobian_size['unscaled'][-1]:.4f} vs "
      f"{jacobian_size['scaled'][-1]:.3f}")
assert top_weight["unscaled"][-1] > 0.95, "unscaled wide heads should put nearly all weight on one key"
assert np.all(np.abs(top_weight["scaled"] - top_weight["scaled"][0]) < 0.1), "scaling keeps the softmax alike at every width"
assert jacobian_size["unscaled"][-1] < 0.2 * jacobian_size["scaled"][-1], "unscaled wide heads should pass little gradient"

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
for name, color in (("unscaled", COLORS["baseline"]), ("scaled", COLORS["model"])):
    label_text = "q·k" if name == "unscaled" else "q·k / √d_k"
    axes[0].semilogx(head_widths, top_weight[name], "o-", color=color, label=label_text)
    axes[1].loglog(head_widths, jacobian_size[name], "o-", color=color, label=label_text)
axes[0].axhline(1 / N_KEYS, color="0.6", ls=":", lw=1)
axes[0].text(head_widths[0], 1 / N_KEYS + 0.02, "uniform (1/16)", fontsize=8, color="0.4")
plotting.label(axes[0], "head width d_k", "mean largest weight", "Unscaled scores saturate the softmax")
plotting.label(axes[1], "head width d_k", "softmax gradient size ‖J‖", "...and its gradient vanishes")
axes[0].legend()
plotting.show(fig)

# %% [markdown]
# **Think**: a saturated softmax is a hard choice of one key. Why is that a problem early in
# training, when the model does not yet know which key is right?

# %% [markdown]
# ## 2. Multi-head attention and masks (15 min)
#
# One head computes one pattern of weights. **Multi-head attention** runs $h$ heads side by
# side, each with its own projections into a smaller space of size $d_\text{head} = d_\text{model}/h$,
# and mixes their outputs with one more matrix $W_O$:
#
# $$ \text{head}_i = \operatorname{Attention}(X W_Q^{(i)}, X W_K^{(i)}, X W_V^{(i)}), \qquad
# \operatorname{MHA}(X) = [\text{head}_1, \dots, \text{head}_h]\, W_O .$$
#
# It costs about as much as one full-width head, but one head can track, say, the previous
# token while another tracks a matching one. We store the weights in the layout Flax's
# `nnx.MultiHeadAttention` uses, so we can compare the two weight for weight: the query
# kernel (d_model, h, d_head) holds every $W_Q^{(i)}$ side by side, and the output kernel
# (h, d_head, d_model) is $W_O$ cut into one block per head, so "concatenate, then multiply"
# becomes a sum over heads. `attention.scaled_dot_product_attention` accepts any leading
# dimensions, so it runs all heads of all sequences in one call.

# %%
def multi_head_attention(params, x, mask=None):
    """Self-attention with h heads. x (..., L, d_model); returns (output (..., L, d_model), weights (..., h, L, L))."""
    def project(name):  # (..., L, d_model) -> (..., h, L, d_head)
        return jnp.einsum("...ld,dhk->...hlk", x, params[name]["kernel"]) + params[name]["bias"][:, None, :]

    heads, weights = attention.scaled_dot_product_attention(project("query"), project("key"), project("value"), mask)
    output = jnp.einsum("...hlk,hkd->...ld", heads, params["out"]["kernel"]) + params["out"]["bias"]
    return output, weights


# %% [markdown]
# Now Flax's module, given random biases (it starts them at zero, which would test nothing),
# and ours with its very weights:

# %%
D_MODEL, N_HEADS = 16, 4
flax_mha = nnx.MultiHeadAttention(num_heads=N_HEADS, in_features=D_MODEL, decode=False, rngs=nnx.Rngs(SEED))
for name in ("query", "key", "value", "out"):
    bias = getattr(flax_mha, name).bias
    bias[...] = 0.1 * random_array(*bias.shape)
mha_params = nnx.to_pure_dict(nnx.state(flax_mha, nnx.Param))
print(jax.tree_util.tree_map(jnp.shape, mha_params))

x = random_array(3, 8, D_MODEL)                             # 3 sequences of 8 tokens
ours, ours_weights = multi_head_attention(mha_params, x)
flax_gap = float(jnp.max(jnp.abs(ours - flax_mha(x))))
print(f"largest difference from Flax: {flax_gap:.1e}; weights {ours_weights.shape} (batch, head, query, key)")
assert flax_gap < 1e-5
# workshop_utils.transformer.multi_head_attention, which the models below use, is the same function:
assert jnp.allclose(transformer.multi_head_attention(mha_params, x)[0], ours, atol=1e-6)

# %% [markdown]
# ### Masks
# A mask says which keys each query may read (True = may attend, as in notebook 01):
#
# * **causal**: query $i$ may read keys $j \le i$ only. A model that predicts what comes next
#   must not see it, and a decoder of neural data that runs online cannot see the future.
# * **padding**: sequences of different lengths are padded to one length to be batched; no
#   query should read the padding. For a batch it has shape (batch, 1, 1, L): one row of
#   allowed keys per sequence, shared by every head and every query.
#
# Masks combine with `&`. The masked scores never enter the softmax, so masked weights are
# exactly 0.
#
# ### Exercise 2: the causal mask
# Write `causal_mask(L)`: an (L, L) boolean array, True where key $j \le$ query $i$.

# %%
def causal_mask(L):
    """(L, L) boolean, True on and below the diagonal: query i may read keys 0..i."""
    # BEGIN SOLUTION
    return jnp.tril(jnp.ones((L, L), dtype=bool))
    # END SOLUTION


# %%
# Self-check against workshop_utils.attention.causal_mask.
causal_mask = check_exercise(causal_mask, attention.causal_mask, [1, 2, 5, 8])

# %%
lengths = jnp.array([8, 5, 3])                              # real tokens in each of the 3 sequences
causal = jnp.asarray(causal_mask(8), dtype=bool)
padding = attention.padding_mask(lengths, 8)[:, None, None, :]
masks = {"causal": causal, "padding": padding, "causal & padding": causal & padding}
masked = {name: multi_head_attention(mha_params, x, mask) for name, mask in masks.items()}
for name, mask in masks.items():
    output, weights = masked[name]
    assert jnp.max(jnp.abs(output - flax_mha(x, mask=mask))) < 1e-5, f"{name}: differs from Flax"
    assert jnp.all(jnp.where(jnp.broadcast_to(mask, weights.shape), 0.0, weights) == 0.0), f"{name}: reads a masked key"

# The causal model cannot see the future: rewriting tokens 4-7 leaves outputs 0-3 unchanged.
future_changed = x.at[:, 4:].set(100.0)
assert jnp.array_equal(multi_head_attention(mha_params, future_changed, causal)[0][:, :4], masked["causal"][0][:, :4])
# Padding is never read: rewriting sequence 1's padding (tokens 5-7) leaves its real outputs unchanged.
padding_changed = x.at[1, 5:].set(-50.0)
assert jnp.allclose(multi_head_attention(mha_params, padding_changed, padding)[0][1, :5], masked["padding"][0][1, :5], atol=1e-6)
print("masked weights are exactly 0; outputs match Flax; the future and the padding are never read")

# %%
fig, axes = plt.subplots(2, 3, figsize=(9, 5.6))
for col, (name, mask) in enumerate(masks.items()):
    axes[0, col].imshow(np.broadcast_to(np.asarray(mask), (3, N_HEADS, 8, 8))[1, 0], cmap="Greys", vmin=0, vmax=1.6)
    plotting.label(axes[0, col], "key position", "query position", f"{name} mask")
    axes[1, col].imshow(np.asarray(masked[name][1][1, 0]), cmap="Blues", vmin=0, vmax=1)
    plotting.label(axes[1, col], "key position", "query position", "head 0's weights")
for ax in axes.ravel():
    ax.set_xticks(range(0, 8, 2))
    ax.set_yticks(range(0, 8, 2))
fig.suptitle("Sequence 1 (5 real tokens, 3 padding). Top: masks, grey = may attend.\n"
             "Bottom: the weights are exactly 0 wherever the mask is off")
plotting.show(fig)

# %% [markdown]
# **Think**: with the padding mask alone, the padded *queries* (rows 5-7) still compute
# outputs from the real tokens. Why is that harmless, as long as the loss ignores them?

# %% [markdown]
# ## 3. Positional information (10 min)
#
# Nothing in self-attention knows where a token sits: every score is a dot product of two
# tokens' projections. Shuffle the tokens and the outputs are shuffled the same way:
# attention is **permutation-equivariant**. A model made only of attention and per-token
# layers therefore sees a *bag* of tokens: "dog bites man" and "man bites dog" look the same.
# The permutation test, on our multi-head attention:

# %%
tokens_x = random_array(10, D_MODEL)
perm = rng.permutation(10)
shuffled_then_attended = multi_head_attention(mha_params, tokens_x[perm])[0]
attended_then_shuffled = multi_head_attention(mha_params, tokens_x)[0][perm]
equivariance_gap = float(jnp.max(jnp.abs(shuffled_then_attended - attended_then_shuffled)))
print(f"MHA(x[perm]) vs MHA(x)[perm]: largest difference {equivariance_gap:.1e}")
assert equivariance_gap < 1e-5

# %% [markdown]
# The remedy is to add to each token a vector that depends on its position, $x_p + \text{PE}_p$.
# Two common choices:
#
# * **sinusoidal** (Vaswani et al.): fixed, each pair of dimensions a clock at its own speed,
#   $$\text{PE}_{p,2i} = \sin\!\big(p / 10000^{2i/d}\big), \qquad \text{PE}_{p,2i+1} = \cos\!\big(p / 10000^{2i/d}\big).$$
#   Shifting the position by $k$ rotates each (sin, cos) pair by a fixed angle, a linear map,
#   so "attend $k$ steps back" is easy for the projections to express;
# * **learned**: a table of $L_\text{max} \times d$ parameters trained with the rest (BERT,
#   GPT). Flexible, but it knows nothing about positions it never saw in training.
#
# ### Exercise 3: the sinusoidal encoding
# Write `sinusoidal_encoding(length, d_model)`, shape (length, d_model), even columns the
# sines and odd columns the cosines above.

# %%
def sinusoidal_encoding(length, d_model):
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)); shape (length, d_model)."""
    # BEGIN SOLUTION
    position = jnp.arange(length)[:, None]
    frequency = 10000.0 ** (-jnp.arange(0, d_model, 2) / d_model)
    code = jnp.zeros((length, d_model))
    code = code.at[:, 0::2].set(jnp.sin(position * frequency))
    return code.at[:, 1::2].set(jnp.cos(position * frequency))
    # END SOLUTION


# %%
# Self-check against workshop_utils.transformer.sinusoidal_encoding.
sinusoidal_encoding = check_exercise(sinusoidal_encoding, transformer.sinusoidal_encoding,
                                     [(1, 2), (10, 8), (50, 16)], rtol=1e-4, atol=1e-4)

# %%
code = np.asarray(sinusoidal_encoding(50, 32))
similarity = code @ code.T
# The similarity of two positions depends only on how far apart they are:
offset_gap = max(np.max(np.abs(np.diag(similarity, k) - similarity[0, k])) for k in range(50))
print(f"PE_p · PE_(p+k) is the same for every p, to {offset_gap:.1e}")
assert offset_gap < 1e-3

positioned_gap = float(jnp.max(jnp.abs(
    multi_head_attention(mha_params, tokens_x[perm] + sinusoidal_encoding(10, D_MODEL))[0]
    - multi_head_attention(mha_params, tokens_x + sinusoidal_encoding(10, D_MODEL))[0][perm])))
print(f"with positions added, shuffling changes the outputs by up to {positioned_gap:.2f}")
assert positioned_gap > 0.1

fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
image = axes[0].imshow(code.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
plotting.label(axes[0], "position p", "dimension", "Fast clocks on top, slow ones below")
fig.colorbar(image, ax=axes[0], label="PE value")
image = axes[1].imshow(similarity, cmap="viridis")
plotting.label(axes[1], "position", "position", "Similarity depends only on distance")
fig.colorbar(image, ax=axes[1], label="PE_p · PE_q")
plotting.show(fig)

# %% [markdown]
# **Think**: the dot product of two codes falls with their distance, then wobbles. What in
# the formula sets the longest distance the code can tell apart?

# %% [markdown]
# ## 4. The encoder block (15 min)
#
# A transformer encoder is a stack of identical blocks. Each block lets tokens exchange
# information (attention), then processes each token on its own (a two-layer MLP, the same
# for every position), and both steps are **residual**: they add an update to the token
# rather than replace it. Layer normalisation (each token's vector rescaled to zero mean and
# unit variance, then a learned scale and shift) keeps the activations in range.
#
# Where the normalisation goes matters. The original transformer normalised *after* each
# residual sum ("post-LN", $x \leftarrow \operatorname{LN}(x + f(x))$); it needs a learning-rate
# warm-up to train stably. We normalise the *input* of each update instead ("pre-LN", as in
# GPT-2 and most recent models; Xiong et al. 2020 analyse why):
#
# $$ x \leftarrow x + \operatorname{MHA}(\operatorname{LN}(x)), \qquad x \leftarrow x + \operatorname{MLP}(\operatorname{LN}(x)), $$
#
# which leaves an unnormalised identity path from input to output, so gradients reach every
# block at a well-behaved scale, and a final LN before the read-out.
#
# In Flax NNX a model is a plain Python class: its layers are attributes made in `__init__`,
# its forward pass is `__call__`. Our attention layer, `transformer.MultiHeadAttention`, is
# the function above as a module; unlike Flax's, it also returns the weights, for the
# explorer at the end.

# %%
class EncoderBlock(nnx.Module):
    """Pre-LN transformer block: x + MHA(LN(x)), then x + MLP(LN(x)). Returns (x, attention weights)."""

    def __init__(self, d_model, n_heads, d_mlp, dropout, *, rngs):
        self.norm_attention = nnx.LayerNorm(d_model, rngs=rngs)
        self.attention = transformer.MultiHeadAttention(d_model, n_heads, rngs=rngs)
        self.norm_mlp = nnx.LayerNorm(d_model, rngs=rngs)
        self.mlp_in = nnx.Linear(d_model, d_mlp, rngs=rngs)
        self.mlp_out = nnx.Linear(d_mlp, d_model, rngs=rngs)
        self.dropout = nnx.Dropout(dropout, rngs=rngs)

    def __call__(self, x):
        update, weights = self.attention(self.norm_attention(x))
        x = x + self.dropout(update)
        x = x + self.dropout(self.mlp_out(jax.nn.gelu(self.mlp_in(self.norm_mlp(x)))))
        return x, weights


class Transformer(nnx.Module):
    """embed -> + positions -> encoder blocks -> LN -> read-out; returns (outputs, weights (..., layers, heads, L, L))."""

    def __init__(self, embed, d_out, positional="sinusoidal", max_len=64, d_model=32, n_heads=4,
                 n_layers=2, d_mlp=64, dropout=0.0, *, rngs):
        if positional not in ("sinusoidal", "learned", "none"):
            raise ValueError(f"positional must be 'sinusoidal', 'learned' or 'none', got {positional!r}")
        self.embed = embed
        # Which code to add, as numbers (1 = add it) rather than a Python string: models that
        # differ only in it then have the same structure, and share their compiled code.
        self.use_code = nnx.Variable(jnp.array([positional == "sinusoidal", positional == "learned"], jnp.float32))
        self.position_table = nnx.Param(jax.random.normal(rngs.params(), (max_len, d_model)) / np.sqrt(d_model))
        self.blocks = nnx.List([EncoderBlock(d_model, n_heads, d_mlp, dropout, rngs=rngs) for _ in range(n_layers)])
        self.norm = nnx.LayerNorm(d_model, rngs=rngs)
        self.readout = nnx.Linear(d_model, d_out, rngs=rngs)

    def __call__(self, inputs):
        x = self.embed(inputs)                                    # (..., L, d_model)
        length, d_model = x.shape[-2:]
        x = (x + self.use_code[0] * transformer.sinusoidal_encoding(length, d_model)   # fixed code
             + self.use_code[1] * self.position_table[:length])                        # learned code
        weights = []
        for block in self.blocks:
            x, block_weights = block(x)
            weights.append(block_weights)
        return self.readout(self.norm(x)), jnp.stack(weights, axis=-4)


# %% [markdown]
# ### A toy task that needs order: reversing a sequence
# The input is 10 random digits, the target the same digits backwards: output $i$ must copy
# input $L-1-i$. Bag-of-tokens models cannot do this, since they cannot tell which token is
# where. We train three otherwise identical two-layer transformers, with sinusoidal, learned
# and no positional encodings, on fresh random sequences at every step (there are $10^{10}$
# of them, so a held-out sequence is almost never one seen in training), with Adam and a
# cross-entropy loss. The three models differ only in arrays (`use_code` and the table), so
# one compiled training step serves all three.

# %%
SEQ_LEN, VOCAB = 10, 10
N_REVERSAL_STEPS = mode.pick(full=800, fast=100)


def reversal_batch(key, n):
    """n random digit sequences (n, SEQ_LEN) and their reversals."""
    tokens = jax.random.randint(key, (n, SEQ_LEN), 0, VOCAB)
    return tokens, tokens[:, ::-1]


def reversal_loss(model, batch):
    tokens, targets = batch
    logits, _ = model(tokens)
    return optax.softmax_cross_entropy_with_integer_labels(logits, targets).mean()


@nnx.jit
def predict(model, inputs):
    """The model's outputs and attention weights, compiled once per model and input shape."""
    return model(inputs)


key, test_key = jax.random.split(key)
test_tokens, test_targets = reversal_batch(test_key, 2000)
reversal_models, reversal_losses, reversal_weights, reversal_accuracy = {}, {}, {}, {}
# optax.flatten: Adam updates one vector that holds every parameter array, rather than dozens
# of small arrays one by one; the update is the same, element by element, and a CPU runs it faster.
adam = optax.flatten(optax.adam(optax.warmup_cosine_decay_schedule(0.0, 1e-2, 20, N_REVERSAL_STEPS, 1e-4)))
step = None
for positional in ("sinusoidal", "learned", "none"):
    key, embed_key, init_key, data_key = jax.random.split(key, 4)
    model = Transformer(nnx.Embed(VOCAB, 32, rngs=nnx.Rngs(embed_key)), VOCAB, positional, max_len=SEQ_LEN,
                        rngs=nnx.Rngs(init_key))
    optimizer = nnx.Optimizer(model, adam, wrt=nnx.Param)
    if step is None:  # compiled once: the three models differ only in their arrays
        step, _, unpack = training.nnx_train_step(model, optimizer, reversal_loss)
    state = nnx.split((model, optimizer))[1]
    state, reversal_losses[positional] = training.train(
        step, state, N_REVERSAL_STEPS, lambda i: reversal_batch(jax.random.fold_in(data_key, i), 64),
        desc=f"reversal, {positional}")
    model, _ = unpack(state)
    logits, reversal_weights[positional] = predict(model, test_tokens)
    predictions = logits.argmax(axis=-1)
    reversal_models[positional] = model
    reversal_accuracy[positional] = float(jnp.mean(predictions == test_targets))
    print(f"{positional:>10} positions: held-out accuracy {100 * reversal_accuracy[positional]:.1f}% per digit")

# %%
ACCURACY_TARGET = mode.pick(full=0.99, fast=0.9)
for positional in ("sinusoidal", "learned"):
    assert reversal_accuracy[positional] >= ACCURACY_TARGET, f"{positional}: {reversal_accuracy[positional]:.3f}"
assert 1 / VOCAB + 0.05 < reversal_accuracy["none"] < 0.5, "without positions: above chance, far from solved"

# The model without positions is permutation-equivariant as a whole: a shuffled input gives
# the same predictions, shuffled. So output i cannot know that it is the i-th.
blind = reversal_models["none"]
order = jnp.arange(SEQ_LEN)[::-1]
blind_gap = float(jnp.max(jnp.abs(predict(blind, test_tokens[:, order])[0] - predict(blind, test_tokens)[0][:, order])))
assert blind_gap < 1e-4, blind_gap
print(f"no positions: reversing the input just reverses the logits (difference {blind_gap:.1e})")

# %%
fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.3), gridspec_kw={"width_ratios": [1.5, 1]})
colors = {"sinusoidal": COLORS["model"], "learned": COLORS["validation"], "none": COLORS["baseline"]}
for positional, losses in reversal_losses.items():
    axes[0].semilogy(losses, color=colors[positional], lw=0.8, label=positional)
plotting.label(axes[0], "training step", "cross-entropy (nats)", "Only models with positions learn")
axes[0].legend(title="positions")
names = list(reversal_accuracy)
axes[1].bar(names, [100 * reversal_accuracy[n] for n in names], color=[colors[n] for n in names])
axes[1].axhline(100 / VOCAB, color="0.5", ls=":", lw=1)
axes[1].text(2.45, 100 / VOCAB + 2, "chance", ha="right", fontsize=8, color="0.4")
plotting.label(axes[1], "positional encoding", "held-out accuracy (%)", "Without positions: a guess from the bag")
plotting.show(fig)

# %% [markdown]
# With positions, both models reverse new sequences almost perfectly; without them the model
# can only guess from the bag of digits it sees, far from 100% but above chance (a digit that
# occurs often in the sequence is a better guess).
#
# **Think**: the learned table has one row per position up to `max_len = 10`. What would the
# learned model do with a sequence of 12 digits? And the sinusoidal one?

# %% [markdown]
# ## 5. A transformer for spiking data (20 min)
#
# The Neural Data Transformer (NDT; Ye & Pandarinath 2021) treats a trial's binned spike
# counts as a sequence: each time bin's population vector is one token. It is trained by
# **masked modelling**, like BERT: hide part of the input, and predict the hidden counts from
# the rest, under a Poisson likelihood. To fill in a hidden bin the model must use the bins
# around it; to fill in a hidden neuron it must use the other neurons. Both are what a good
# estimate of single-trial firing rates needs.
#
# ### Data with known rates
# We reuse notebook 01's time-warped population (`workshop_utils.timewarp`): one
# 3-dimensional latent trajectory, replayed at a different pace on each trial, drives 50
# neurons with rates $\exp(C z_t + b)$ between 5 and 40 Hz, in 50 bins of 20 ms; spikes are
# Poisson. Because the data are synthetic we know every true rate. We keep 400 trials for
# training and 200 held-out trials for testing, and, following the Neural Latents
# Benchmark's **co-smoothing** test, we hold out 10 of the 50 neurons: their spikes are
# training targets only, never inputs, so on test trials they must be predicted from the 40
# held-in neurons alone.

# %%
N_TRAIN, N_TEST, N_BINS, N_NEURONS, N_HELD_IN = 400, 200, 50, 50, 40
BIN_SIZE = 0.02                                              # seconds
key, data_key = jax.random.split(key)
data = timewarp.make_warped_trials(data_key, N_TRAIN + N_TEST, n_bins=N_BINS, n_neurons=N_NEURONS, n_latents=3,
                                   bin_size=BIN_SIZE, max_rate_hz=40.0, min_rate_hz=5.0, max_shift=5.0)
spikes, true_rates = np.asarray(data.spikes), np.asarray(data.rates)
train, test = slice(0, N_TRAIN), slice(N_TRAIN, None)
held_in, held_out = slice(0, N_HELD_IN), slice(N_HELD_IN, None)
print(f"spikes {spikes.shape} (trials, bins, neurons); mean rate {true_rates.mean() / BIN_SIZE:.1f} Hz, "
      f"{spikes.mean():.2f} spikes per bin")

# %% [markdown]
# ### The baseline: Gaussian smoothing
# The classic single-trial rate estimate convolves each neuron's spikes with a Gaussian. We
# choose its width on the training trials, as the width whose smoothed spikes best match the
# true rates there (`smoothing.choose_smoothing_width`): the strongest version of this
# baseline, since real data would not tell us the truth. For the held-out neurons, which are
# never observed on test trials, we follow the benchmark's smoothing baseline: a Poisson
# regression (`workshop_utils.glm`) from the smoothed held-in neurons to each held-out
# neuron, fitted on the training trials.

# %%
width = smoothing.choose_smoothing_width(spikes[train, :, held_in], true_rates=true_rates[train, :, held_in])
smoothed_train = smoothing.gaussian_smooth(spikes[train, :, held_in], width)
smoothed_test = smoothing.gaussian_smooth(spikes[test, :, held_in], width)
cosmoothing_glm = glm.fit_poisson_glm(smoothed_train, spikes[train, :, held_out])
baseline_rates = np.concatenate([smoothed_test, glm.predict_rates(cosmoothing_glm, smoothed_test)], axis=-1)
print(f"Gaussian width chosen on the training trials: {width:.2f} bins ({1e3 * width * BIN_SIZE:.0f} ms)")

# %% [markdown]
# ### Masked modelling
# The model reads the 40 held-in neurons (a linear map from each bin's counts to a
# 32-dimensional token, plus the sinusoidal code), runs two encoder blocks, and reads out the
# log-rates of all 50 neurons. Each training step draws 16 training trials and, per trial,
# hides 20% of the time bins and 10% of the held-in neurons
# (`transformer.masked_modelling_mask`). Hidden inputs are set to 0, and the rest scaled by
# 1/(fraction kept) so the input keeps its average size. The loss is the Poisson negative
# log-likelihood (without its constant $\log k!$ term) of the **hidden** held-in counts and of
# **all** held-out counts; visible held-in counts are not scored, or the model would learn to
# copy its input. At test time nothing is hidden. Dropout (10%) and weight decay keep the
# model from memorising 400 trials.

# %%
BIN_FRACTION, NEURON_FRACTION, BATCH_TRIALS = 0.2, 0.1, 16
KEEP = (1 - BIN_FRACTION) * (1 - NEURON_FRACTION)          # expected fraction of inputs kept
N_NDT_STEPS = mode.pick(full=2000, fast=250)


def masked_modelling_loss(model, batch):
    all_spikes, key = batch                                 # every training trial, and this step's key
    pick_key, mask_key = jax.random.split(key)
    trials = jax.random.choice(pick_key, all_spikes.shape[0], (BATCH_TRIALS,), replace=False)
    counts = all_spikes[trials]                             # (batch, bins, all 50 neurons)
    observed = counts[..., :N_HELD_IN]
    hide = transformer.masked_modelling_mask(mask_key, observed.shape, BIN_FRACTION, NEURON_FRACTION)
    log_rates, _ = model(jnp.where(hide, 0.0, observed) / KEEP)
    nll = jnp.exp(log_rates) - counts * log_rates            # Poisson NLL per entry, up to log k!
    scored = jnp.concatenate([hide, jnp.ones(counts[..., N_HELD_IN:].shape, bool)], axis=-1)
    return jnp.sum(jnp.where(scored, nll, 0.0)) / jnp.sum(scored)


key, embed_key, init_key, step_key = jax.random.split(key, 4)
ndt = Transformer(nnx.Linear(N_HELD_IN, 32, rngs=nnx.Rngs(embed_key)), N_NEURONS, "sinusoidal", dropout=0.1,
                  rngs=nnx.Rngs(init_key))
schedule = optax.warmup_cosine_decay_schedule(0.0, 1e-2, 50, N_NDT_STEPS, 1e-4)
optimizer = nnx.Optimizer(ndt, optax.flatten(optax.adamw(schedule, weight_decay=1e-2)), wrt=nnx.Param)
step, state, unpack = training.nnx_train_step(ndt, optimizer, masked_modelling_loss)
train_spikes = jnp.asarray(spikes[train], dtype=jnp.float32)
state, ndt_losses = training.train(step, state, N_NDT_STEPS, lambda i: (train_spikes, jax.random.fold_in(step_key, i)),
                                   desc="masked modelling")
ndt, _ = unpack(state)
ndt.eval()                                                  # no dropout from here on
assert len(ndt_losses) == N_NDT_STEPS, "training stopped early"

# %% [markdown]
# ### Scoring on held-out trials
# Two figures, both on the 200 test trials:
#
# * $R^2$ of the inferred rates against the **true** rates, separately for the held-in neurons
#   (which the model and the smoother both see) and the held-out ones (which neither sees);
# * **co-smoothing bits per spike** on the held-out neurons (`metrics.bits_per_spike`, the
#   benchmark's definition): how much better the predicted rates explain the held-out spikes
#   than each neuron's mean rate does, per spike, in bits. The true rates give the ceiling.

# %%
log_rates, ndt_weights = predict(ndt, jnp.asarray(spikes[test, :, held_in], dtype=jnp.float32))
ndt_rates = np.asarray(jnp.exp(log_rates))
scores = {}
for name, rates in (("smoothing", baseline_rates), ("transformer", ndt_rates)):
    scores[name] = {
        "R2 held-in": metrics.r_squared(true_rates[test, :, held_in], rates[..., held_in]),
        "R2 held-out": metrics.r_squared(true_rates[test, :, held_out], rates[..., held_out]),
        "co-bps": metrics.bits_per_spike(smoothing.rates_floor(rates[..., held_out]), spikes[test, :, held_out]),
    }
ceiling_bps = metrics.bits_per_spike(true_rates[test, :, held_out], spikes[test, :, held_out])
for name, score in scores.items():
    print(f"{name:>12}: " + ", ".join(f"{k} {v:.3f}" for k, v in score.items()))
print(f"{'true rates':>12}: co-bps {ceiling_bps:.3f} (the ceiling)")
for figure in ("R2 held-in", "R2 held-out", "co-bps"):
    assert scores["transformer"][figure] > scores["smoothing"][figure], f"the transformer should beat smoothing on {figure}"
assert scores["transformer"]["co-bps"] <= ceiling_bps + 0.01, "no model can beat the true rates (beyond noise)"

# %%
ndt_score, base_score = scores["transformer"], scores["smoothing"]
print(f"On {N_TEST} held-out trials the transformer's rates explain {100 * ndt_score['R2 held-in']:.0f}% of the "
      f"true rates' variance for the held-in neurons (smoothing: {100 * base_score['R2 held-in']:.0f}%) and "
      f"{100 * ndt_score['R2 held-out']:.0f}% for the held-out neurons (smoothing + GLM: "
      f"{100 * base_score['R2 held-out']:.0f}%); co-smoothing {ndt_score['co-bps']:.3f} bits per spike against "
      f"{base_score['co-bps']:.3f}, of a possible {ceiling_bps:.3f}.")

# %% [markdown]
# The transformer wins on all three figures: it pools evidence across the population and
# across the whole trial, while the Gaussian kernel averages each neuron with itself over a
# fixed window, and the GLM can only read the held-in neurons' smoothed, noisy rates.

# %%
trial = 0
example_neurons = [int(np.argmax(true_rates[test, :, held_in].std(axis=(0, 1)))), N_HELD_IN]  # one held-in, one held-out
time_ms = (np.arange(N_BINS) + 0.5) * BIN_SIZE * 1e3
fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.3), gridspec_kw={"width_ratios": [1, 1, 0.9]})
for ax, neuron in zip(axes[:2], example_neurons):
    kind = "held-in" if neuron < N_HELD_IN else "held-out"
    ax.plot(time_ms, true_rates[N_TRAIN + trial, :, neuron] / BIN_SIZE, color=COLORS["true"], lw=2, label="true rate")
    ax.plot(time_ms, baseline_rates[trial, :, neuron] / BIN_SIZE, color=COLORS["baseline"],
            label="smoothing" if kind == "held-in" else "smoothing + GLM")
    ax.plot(time_ms, ndt_rates[trial, :, neuron] / BIN_SIZE, color=COLORS["model"], label="transformer")
    spike_bins = np.nonzero(spikes[N_TRAIN + trial, :, neuron])[0]
    ax.plot(time_ms[spike_bins], np.full(len(spike_bins), -2.0), "|", color="0.3", ms=8, label="spikes")
    plotting.label(ax, "time in trial (ms)", "rate (Hz)", f"Test trial {trial}, a {kind} neuron")
    ax.set_ylim(-4, 1.5 * ax.get_ylim()[1])                  # room for the legend above the traces
axes[0].legend(fontsize=8, loc="upper center", ncol=2)
figures = ["R2 held-in", "R2 held-out", "co-bps"]
positions = np.arange(len(figures))
for offset, name in ((-0.2, "smoothing"), (0.2, "transformer")):
    axes[2].bar(positions + offset, [scores[name][f] for f in figures], 0.4, label=name,
                color=COLORS["baseline" if name == "smoothing" else "model"])
axes[2].plot(positions[-1] + np.array([-0.4, 0.4]), [ceiling_bps] * 2, color=COLORS["true"], lw=2, label="true rates")
axes[2].set_xticks(positions, ["R² held-in", "R² held-out", "bits/spike\nheld-out"])
plotting.label(axes[2], "", "score on 200 test trials", "The transformer beats smoothing")
axes[2].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
plotting.show(fig)

# %% [markdown]
# **Think**: the transformer saw 400 training trials of the *same* latent trajectory at
# different speeds. What has it learned that the Gaussian kernel cannot know? Would it still
# win on a dataset with only 20 trials?

# %% [markdown]
# ## 6. Explorer: what do the heads attend to? (5 min)
#
# Each layer and head of a trained model has its own attention map for each input. Pick a
# model (the sequence reverser of section 4 or the spiking model of section 5), a layer, a
# head and a held-out example. Rows are queries (the output being computed), columns keys
# (the positions read).

# %%
attention_maps = {"reversal (digits)": np.asarray(reversal_weights["sinusoidal"][:20]),
                  "spikes (time bins)": np.asarray(ndt_weights[:20])}


def show_attention(model_name, layer, head, example):
    maps = attention_maps[model_name]
    weights = maps[example, layer, head]
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    image = ax.imshow(weights, cmap="Blues", vmin=0, vmax=max(float(weights.max()), 1e-6))
    if model_name.startswith("reversal"):
        digits = [str(int(d)) for d in test_tokens[example]]
        ax.set_xticks(range(SEQ_LEN), digits)
        ax.set_yticks(range(SEQ_LEN), [str(int(d)) for d in test_targets[example]])
        plotting.label(ax, "input digit (key)", "output digit (query)", f"Layer {layer}, head {head}, example {example}")
    else:
        plotting.label(ax, "time bin read (key)", "time bin computed (query)", f"Layer {layer}, head {head}, trial {example}")
    fig.colorbar(image, ax=ax, label="weight")
    plt.show()


widgets.interact(show_attention, model_name=widgets.Dropdown(options=list(attention_maps), description="model"),
                 layer=widgets.IntSlider(1, 0, 1, description="layer"),
                 head=widgets.IntSlider(0, 0, 3, description="head"),
                 example=widgets.IntSlider(0, 0, 19, description="example"));

# %% [markdown]
# Without a live kernel the sliders do nothing, so here is every head of the reverser on one
# held-out example. In some heads each output digit reads the input digit at its mirror
# position, the anti-diagonal, which is exactly the copying that reversal needs.

# %%
reverser_weights = attention_maps["reversal (digits)"]          # (example, layer, head, query, key)
mirror_weight = reverser_weights[:, :, :, np.arange(SEQ_LEN), np.arange(SEQ_LEN)[::-1]].mean(axis=(0, 3))
best_layer, best_head = np.unravel_index(np.argmax(mirror_weight), mirror_weight.shape)
print(f"layer {best_layer}, head {best_head} puts {100 * mirror_weight[best_layer, best_head]:.0f}% of its weight "
      "on the mirror position, on average over 20 held-out sequences")
assert mirror_weight.max() > 0.5, "some head should read the mirror position"

fig, axes = plt.subplots(2, 4, figsize=(10, 5.2))
for layer in range(2):
    for head in range(4):
        ax = axes[layer, head]
        ax.imshow(reverser_weights[0, layer, head], cmap="Blues", vmin=0, vmax=1)
        ax.set_title(f"layer {layer}, head {head}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
for ax in axes[:, 0]:
    ax.set_ylabel("output position")
for ax in axes[1]:
    ax.set_xlabel("input position")
fig.suptitle(f"Reversal: layer {best_layer}, head {best_head} reads the mirror position "
             f"({100 * mirror_weight[best_layer, best_head]:.0f}% of its weight)")
plotting.show(fig)

# %% [markdown]
# ## Summary
#
# * Self-attention: each token's query is scored against every key, a softmax turns the
#   scores into weights, and the output is the weighted average of the values. Scores are
#   divided by $\sqrt{d_k}$ so that wide heads do not saturate the softmax and stop learning.
# * Multi-head attention runs several smaller heads in parallel and mixes them; ours matches
#   Flax's to 1e-5. Causal and padding masks decide which keys a query may read.
# * Attention is permutation-equivariant: without positional encodings a transformer sees a
#   bag of tokens and cannot reverse a sequence; with sinusoidal or learned ones it can.
# * A pre-LN encoder block is $x + \text{MHA}(\text{LN}(x))$ then $x + \text{MLP}(\text{LN}(x))$.
# * Trained by masked modelling of spikes, a small transformer infers single-trial rates on
#   held-out trials, and predicts held-out neurons, better than Gaussian smoothing does.
#
# **Further reading**
# * Vaswani et al. (2017), Attention is all you need, *NeurIPS*: the transformer.
# * Alammar, The Illustrated Transformer (blog post): the "Thinking Machines" pictures.
# * Xiong et al. (2020), On layer normalization in the transformer architecture, *ICML*: pre-LN vs post-LN.
# * Devlin et al. (2019), BERT, *NAACL*: masked modelling of text.
# * Ye & Pandarinath (2021), Representation learning for neural population activity with Neural
#   Data Transformers, *Neurons, Behavior, Data analysis, and Theory*: the NDT.
# * Pei et al. (2021), Neural Latents Benchmark '21: co-smoothing and bits per spike.
# * Notebook 04 fits LFADS, a sequential autoencoder, to spikes and compares it with the same baselines.
