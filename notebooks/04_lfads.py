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
# # 04 · LFADS: inferring single-trial dynamics from spikes
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/04_lfads.ipynb)
#
# On a single trial, a neuron fires a handful of spikes: far too few to read its firing rate
# from. Smoothing over time blurs fast changes; averaging over trials throws away what made
# this trial different. LFADS (Latent Factor Analysis via Dynamical Systems; Sussillo et al.
# 2016, Pandarinath et al. 2018) takes a third way: it assumes the population is driven by a
# **dynamical system** shared by all trials, and infers, for each trial, the initial state and
# the inputs that drove it. The rates then come from a trajectory of that system, not from a
# blur of the spikes.
#
# **You will learn to**
# 1. read LFADS as a sequential variational auto-encoder: a generator RNN, an encoder that
#    infers its initial state, a controller that infers its inputs, and the ELBO that trains
#    them (with three exercises on its pieces);
# 2. train it on spikes, and know the habits that make it work (KL warm-up, coordinated
#    dropout, early stopping);
# 3. score inferred rates against the truth and against smoothing and PCA baselines on held-out
#    trials, and inferred inputs against the true input pulses;
# 4. predict neurons the model never saw (co-smoothing, in bits per spike);
# 5. see the condition structure in the factors that smoothed spikes hide.
#
# **Prerequisites**: notebook 03 (JAX, `jit`, the integrator RNN, training loops). The GRU and
# the idea of an encoder-decoder from notebook 01 help. Notebook 02 is not needed.
#
# **Time**: about 100 minutes. Setup 5 · 1. a sequential VAE, three exercises 25 · 2. spikes
# from an integrator 5 · 3. the model piece by piece 15 · 4. training, live 10 · 5. single-trial
# rates 10 · 6. inferred inputs 5 · 7. co-smoothing 5 · 8. a chaotic network and its factors 10 ·
# 9. trial browser 5 · summary 5.
#
# **Modes**: the notebook runs in *full* mode by default (about 3 minutes on a 2-core CPU). The
# figures of sections 5-9 use LFADS models trained for 2,000 steps by
# `python scripts/train_lfads.py` (saved in `data/`), so nobody waits half an hour; section 4
# trains one live, briefly. The tests set `WORKSHOP_FAST=1` for a *fast* mode whose live
# training is shorter; every check still runs.

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
from flax import nnx
from scipy import stats

from workshop_utils import (glm, integrator, lfads, lfads_examples, metrics, mode, plotting, smoothing,
                            vanilla_rnn)
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS, OKABE_ITO
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)  # every number below follows from this seed

# %% [markdown]
# ## 1. LFADS is a sequential variational auto-encoder (25 min)
#
# **The generative model** says how a trial's spikes $x_{1:T}$ come about. A generator RNN
# (a GRU) starts from an initial state $g_0$ and is driven by inputs $u_t$; a linear map of its
# state gives a few **factors** $f_t$; each neuron's log-rate is an affine function of them:
#
# $$ g_0 \sim \mathcal N(\mu_0, \sigma_0^2), \qquad u_t \sim \text{AR(1)}, \qquad
#    g_t = \mathrm{GRU}(g_{t-1}, u_t), \qquad f_t = W_f\, g_t, \qquad
#    x_{t,n} \sim \mathrm{Poisson}\big(\exp(w_n^\top f_t + b_n)\big). $$
#
# Everything trial-specific is in $g_0$ and $u_{1:T}$; the weights are shared by all trials.
#
# **Inference** runs the other way: given the spikes, which $g_0$ and $u_{1:T}$ made them? A
# bidirectional GRU **encoder** reads the whole trial and outputs a Gaussian
# $q(g_0 \mid x) = \mathcal N(\mu, \sigma^2)$; a **controller** GRU, reading the encoder and the
# factors so far, outputs a Gaussian $q(u_t \mid x)$ at every step. All of it is trained
# together by maximising the **evidence lower bound** (ELBO), a lower bound on $\log p(x)$:
#
# $$ \mathcal L = \underbrace{\mathbb E_{q}\big[\log p(x \mid g_0, u)\big]}_{\text{reconstruction: Poisson}}
#    \; - \; \underbrace{\mathrm{KL}\big(q(g_0\mid x)\,\|\,p(g_0)\big)}_{\text{closed form}}
#    \; - \; \underbrace{\mathrm{KL}\big(q(u\mid x)\,\|\,p(u)\big)}_{\text{one-sample estimate}}. $$
#
# The reconstruction term wants the inferred $g_0$ and $u$ to explain the spikes; the KL terms
# keep them close to their priors, so the generator, not the inputs, does the work where it
# can. Three small functions carry this: the exercises below write them.
#
# ### Exercise 1: the reparameterisation trick
# To train the encoder by gradient descent we need gradients *through* the sample
# $g_0 \sim \mathcal N(\mu, \sigma^2)$. Write the sample as a deterministic function of the
# parameters and a standard normal $\varepsilon$: $g_0 = \mu + \sigma\,\varepsilon$, with
# $\sigma = \exp(\tfrac12 \log\sigma^2)$ (the encoder outputs the log-variance, which can be any
# real number).

# %%
def sample_gaussian(mean, logvar, eps):
    """A sample of N(mean, exp(logvar)) made from standard normal noise eps (same shape)."""
    # BEGIN SOLUTION
    return mean + jnp.exp(0.5 * logvar) * eps
    # END SOLUTION


# %%
def sample_gaussian_reference(mean, logvar, eps):
    return mean + jnp.sqrt(jnp.exp(logvar)) * eps

key, k1, k2 = jax.random.split(key, 3)
cases = [(jnp.array([0.5, -1.0]), jnp.array([0.0, -2.0]), jnp.array([1.0, 0.3])),
         (jax.random.normal(k1, (4, 3)), jax.random.normal(k2, (4, 3)), jnp.ones((4, 3)))]
sample_gaussian = check_exercise(sample_gaussian, sample_gaussian_reference, cases)

# %% [markdown]
# Why it matters: the gradient of an expectation now flows through the sample. For
# $z \sim \mathcal N(\mu, \sigma^2)$, $\mathbb E[z^2] = \mu^2 + \sigma^2$, so
# $\partial\,\mathbb E[z^2] / \partial\mu = 2\mu$ and $\partial\,\mathbb E[z^2] / \partial\log\sigma^2 = \sigma^2$.
# Averaging `jax.grad` of $z^2$ over reparameterised samples recovers both:

# %%
key, eps_key = jax.random.split(key)
eps = jax.random.normal(eps_key, (200_000,))
mu, logvar = 0.7, np.log(0.5)
mean_square = lambda m, lv: jnp.mean(sample_gaussian(m, lv, eps) ** 2)
grad_mu, grad_logvar = jax.grad(mean_square, argnums=(0, 1))(mu, logvar)
print(f"d E[z^2] / d mu:        {float(grad_mu):.3f} by sampling, {2 * mu:.3f} exact")
print(f"d E[z^2] / d log var:   {float(grad_logvar):.3f} by sampling, {np.exp(logvar):.3f} exact")
assert abs(grad_mu - 2 * mu) < 0.02 and abs(grad_logvar - np.exp(logvar)) < 0.02

# %% [markdown]
# ### Exercise 2: the KL divergence between two Gaussians
# The initial-state term of the ELBO has a closed form. For diagonal Gaussians, summed over
# dimensions,
#
# $$ \mathrm{KL}\big(\mathcal N(\mu_q, \sigma_q^2)\,\|\,\mathcal N(\mu_p, \sigma_p^2)\big)
#    = \tfrac12 \sum_i \Big[\log\frac{\sigma_{p,i}^2}{\sigma_{q,i}^2}
#    + \frac{\sigma_{q,i}^2 + (\mu_{q,i} - \mu_{p,i})^2}{\sigma_{p,i}^2} - 1\Big]. $$
#
# Write it, with log-variances as arguments and the sum over the last axis.

# %%
def kl_diagonal_gaussians(mean_q, logvar_q, mean_p, logvar_p):
    """KL(q || p) for diagonal Gaussians, summed over the last axis."""
    # BEGIN SOLUTION
    var_q, var_p = jnp.exp(logvar_q), jnp.exp(logvar_p)
    return 0.5 * jnp.sum(logvar_p - logvar_q + (var_q + (mean_q - mean_p) ** 2) / var_p - 1.0, axis=-1)
    # END SOLUTION


# %%
key, *ks = jax.random.split(key, 5)
cases = [(jnp.array([0.3]), jnp.array([0.0]), jnp.array([0.3]), jnp.array([0.0])),   # q = p: KL 0
         tuple(jax.random.normal(k, (5, 8)) for k in ks)]
kl_diagonal_gaussians = check_exercise(kl_diagonal_gaussians, lfads.kl_gaussians, cases)

# A Monte Carlo check of the formula itself: KL = E_q[log q(z) - log p(z)].
mq, lvq, mp, lvp = 0.4, np.log(0.3), -0.2, np.log(1.5)
z = mq + np.exp(0.5 * lvq) * np.random.default_rng(SEED).standard_normal(400_000)
kl_mc = np.mean(stats.norm.logpdf(z, mq, np.exp(0.5 * lvq)) - stats.norm.logpdf(z, mp, np.exp(0.5 * lvp)))
kl_exact = float(kl_diagonal_gaussians(jnp.array([mq]), jnp.array([lvq]), jnp.array([mp]), jnp.array([lvp])))
print(f"KL by formula {kl_exact:.4f}, by Monte Carlo {kl_mc:.4f}")
assert abs(kl_exact - kl_mc) < 0.01

# %% [markdown]
# ### Exercise 3: the Poisson log-likelihood
# The reconstruction term scores each spike count $k$ under the rate $r = e^{\eta}$ (spikes
# per bin): $\log p(k \mid r) = k\,\eta - e^{\eta} - \log k!$. Write it for arrays of
# log-rates $\eta$ and counts $k$ (hint: $\log k! = $ `jax.scipy.special.gammaln(k + 1)`).
# Training may drop $\log k!$, which does not depend on the model; a score that is compared
# across models (bits per spike, below) must keep it.

# %%
def poisson_log_likelihood(log_rates, counts):
    """log Poisson(counts | exp(log_rates)), elementwise, in nats."""
    # BEGIN SOLUTION
    return counts * log_rates - jnp.exp(log_rates) - jax.scipy.special.gammaln(counts + 1.0)
    # END SOLUTION


# %%
def poisson_log_likelihood_reference(log_rates, counts):
    return stats.poisson.logpmf(np.asarray(counts), np.exp(np.asarray(log_rates, dtype=float)))

cases = [(jnp.log(jnp.array([0.01, 0.5, 3.0, 10.0])), jnp.array([0.0, 1.0, 4.0, 7.0])),
         (jnp.full((2, 3), -1.0), jnp.array([[0.0, 1.0, 2.0], [3.0, 0.0, 1.0]]))]
poisson_log_likelihood = check_exercise(poisson_log_likelihood, poisson_log_likelihood_reference, cases,
                                        rtol=1e-4, atol=1e-5)

# %% [markdown]
# **Think**: the KL term for the inferred inputs has no closed form here (their prior is an
# AR(1) process, and $q$ is a different Gaussian at every step), so LFADS estimates it from
# the one sample it draws anyway: $\log q(u) - \log p(u)$ at that sample. Why is that an
# unbiased estimate of the KL?

# %% [markdown]
# ## 2. Spikes from an integrator, with the truth attached (5 min)
#
# Our first dataset is the one the original LFADS tutorial used: the integrator RNN of
# notebook 03 (100 tanh units), driven by a weak noisy input plus 0-2 brief **pulses** per trial,
# each pushing the integrated value up or down. Each unit is a neuron firing at
# $(h + 1)/2 \times 80$ Hz, in 25 bins of 40 ms (`workshop_utils.spiking_data`). We know every
# true rate and every pulse. 1,000 trials train the model, 200 others test it. LFADS reads
# 80 of the 100 neurons; the other 20 are **held out**, to be predicted in section 7 from what
# LFADS infers.

# %%
integ = lfads_examples.load("integrator")
train, test, held_in, held_out = integ["train"], integ["test"], integ["held_in"], integ["held_out"]
BIN_MS = 1e3 * train.bin_size
print(f"train spikes {train.spikes.shape}, test {test.spikes.shape} (trials, bins, neurons); "
      f"{len(held_in)} neurons held in, {len(held_out)} held out; {BIN_MS:.0f} ms bins")
print(f"mean rate {train.rates.mean() / train.bin_size:.1f} Hz, {train.spikes.mean():.2f} spikes per bin")

# %%
trial = int(np.flatnonzero(np.count_nonzero(test.pulses[..., 0], axis=1) == 2)[0])  # two pulses
time_ms = (np.arange(test.n_bins) + 0.5) * BIN_MS
rnn_params = integrator.load_trained()[0]   # the network of notebook 03 that made the data
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].imshow(test.spikes[trial].T, aspect="auto", cmap="Greys", interpolation="nearest",
               extent=(0, test.n_bins * BIN_MS, test.n_neurons, 0))
plotting.label(axes[0], "time (ms)", "neuron", f"Spikes of test trial {trial}")
image = axes[1].imshow(test.rates[trial].T / test.bin_size, aspect="auto", cmap="viridis",
                       extent=(0, test.n_bins * BIN_MS, test.n_neurons, 0))
fig.colorbar(image, ax=axes[1], label="rate (Hz)")
plotting.label(axes[1], "time (ms)", "neuron", "Its true rates")
axes[2].plot(time_ms, np.cumsum(test.inputs[trial, :, 0]), color=COLORS["true"], label="running sum of the input")
axes[2].plot(time_ms, vanilla_rnn.readout(rnn_params, test.latents[trial])[:, 0], color=COLORS["input"],
             ls="--", label="the network's readout")
pulse_ax = axes[2].twinx()
pulse_ax.stem(time_ms, test.pulses[trial, :, 0], linefmt="grey", markerfmt=" ", basefmt=" ")
pulse_ax.set_ylabel("input pulse (a.u.)", color="grey")
pulse_ax.legend(handles=axes[2].get_lines(), loc="lower right", fontsize=8, frameon=True, framealpha=1)
plotting.label(axes[2], "time (ms)", "integral (a.u.)", "Each pulse steps the integral")
plotting.show(fig)

# %% [markdown]
# A few spikes per neuron per trial: the rates on the middle panel are what we want back. On
# the right, what the network computes: the running sum of its input, which drifts slowly and
# jumps at each pulse (grey), up or down with the pulse's sign. The network's readout follows
# it, though it falls short of the full sum after this trial's second pulse.
#
# ## 3. The model piece by piece (15 min)
#
# `workshop_utils.lfads` holds the model in Flax NNX. Its sizes live in a `Config`; the
# defaults (encoder 64, controller 32, one inferred input, generator 64, 16 factors) suit a
# few hundred trials of tens of neurons with no tuning.

# %%
config = lfads.Config(n_neurons=len(held_in), n_bins=train.n_bins)
key, init_key = jax.random.split(key)
model = lfads.LFADS(config, nnx.Rngs(init_key))
n_params = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
print(f"{n_params:,} parameters; generator {config.generator_size}, factors {config.n_factors}, "
      f"encoder {config.encoder_size} per direction, controller {config.controller_size}, "
      f"{config.n_inputs} inferred input")

key, pass_key = jax.random.split(key)
out = lfads.forward(model, jnp.asarray(train.spikes[:8, :, held_in], jnp.float32), pass_key)
for name, value in out.items():
    print(f"  {name:10s} {tuple(value.shape)}")

# %% [markdown]
# Each line of the generative model is a line of code. Take one step of the generator by
# hand from the pass above and compare it with what `forward` computed. The GRU is written in
# the "reset-after" form: with input projection $x_t W_x + b_x$ and recurrent projection
# $g W_h + b_h$, each split into reset $r$, update $z$ and candidate $n$ parts,
#
# $$ r = \sigma(\cdot_r), \quad z = \sigma(\cdot_z), \quad n = \tanh(x_n + r \odot h_n), \quad
#    g_t = z \odot g_{t-1} + (1 - z) \odot n. $$

# %%
t = 5
gen = model.generator
x_proj = out["u"][:, t] @ gen.W_x[...] + gen.b_x[...]                 # the inferred input u_t
h_proj = out["gen_states"][:, t - 1] @ gen.W_h[...] + gen.b_h[...]
x_r, x_z, x_n = jnp.split(x_proj, 3, axis=-1)
h_r, h_z, h_n = jnp.split(h_proj, 3, axis=-1)
r, z = jax.nn.sigmoid(x_r + h_r), jax.nn.sigmoid(x_z + h_z)
g_t = z * out["gen_states"][:, t - 1] + (1 - z) * jnp.tanh(x_n + r * h_n)
f_t = g_t @ model.factor_weights()                                    # f_t = W_f g_t, unit-norm rows
log_rates_t = f_t @ model.readout.W[...] + model.readout.b[...]       # log r_t = W_r f_t + b
for name, mine, theirs in (("g_t", g_t, out["gen_states"][:, t]), ("f_t", f_t, out["factors"][:, t]),
                           ("log r_t", log_rates_t, out["log_rates"][:, t])):
    gap = float(jnp.max(jnp.abs(mine - theirs)))
    print(f"{name:8s} by hand vs forward: max difference {gap:.1e}")
    assert gap < 1e-5

# %% [markdown]
# The factor weights are normalised so that each factor's weight vector has unit length:
# otherwise the model could shrink the factors and grow the readout (or the reverse) at no
# cost, and the factors' scale would mean nothing.
#
# **The input prior** is an AR(1) process per input, $u_t = \alpha u_{t-1} + \epsilon_t$ with
# $\alpha = e^{-1/\tau}$: smooth inputs are cheap, sudden ones cost KL. Both $\tau$ and the noise
# variance are learned. Samples from the prior at its initial $\tau = 10$ bins:

# %%
alpha = np.exp(-1.0 / config.input_prior_tau)
noise_var = config.input_prior_var * (1 - alpha**2)           # so the stationary variance is input_prior_var
u = np.zeros((3, 200))
u[:, 0] = np.sqrt(config.input_prior_var) * rng.standard_normal(3)
for step in range(1, u.shape[1]):
    u[:, step] = alpha * u[:, step - 1] + np.sqrt(noise_var) * rng.standard_normal(3)
log_p = lfads.ar1_log_prior(jnp.asarray(u[..., None]), jnp.log(jnp.array([config.input_prior_tau])),
                            jnp.log(jnp.array([noise_var])))
fig, ax = plt.subplots(figsize=(6.4, 2.6))
ax.plot(u.T, lw=1)
plotting.label(ax, "time (bins)", "u (a.u.)", f"AR(1) prior, tau = {config.input_prior_tau:.0f} bins: "
               "smooth, slow inputs are likely")
plotting.show(fig)
print("log p(u) of each sample under the prior:", np.round(np.asarray(log_p), 1))
print(f"sample variance {u.var():.3f}, stationary variance {config.input_prior_var}")
assert abs(u.var() - config.input_prior_var) < 0.07

# %% [markdown]
# **Coordinated dropout** (Keshtkaran & Pandarinath 2019). An auto-encoder given the spikes
# could learn to copy each count to its own rate: a perfect reconstruction and useless rates.
# So at every training step a random 30% of the (bin, neuron) entries are hidden from the
# encoder, and the reconstruction is scored **only on the hidden entries**. A rate can only
# predict a count the model did not see by using the other neurons and the dynamics.

# %%
key, noise_key = jax.random.split(key)
noise = lfads.draw_noise(noise_key, config, batch=1, n_bins=config.n_bins, training=True)
hidden = np.asarray(noise["hidden"][0])
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8), sharey=True)
axes[0].imshow(np.where(hidden, np.nan, train.spikes[0, :, held_in].T), aspect="auto", cmap="Greys",
               interpolation="nearest")
plotting.label(axes[0], "time (bins)", "neuron", "What the encoder sees")
axes[1].imshow(np.where(hidden, train.spikes[0, :, held_in].T, np.nan), aspect="auto", cmap="Greys",
               interpolation="nearest")
plotting.label(axes[1], "time (bins)", None, "What the loss scores (the hidden 30%)")
plotting.show(fig)
print(f"hidden fraction {hidden.mean():.3f}")
assert abs(hidden.mean() - config.coordinated_dropout) < 0.05

# %% [markdown]
# The rest of the recipe, all in `lfads.fit`: the KL and L2 weights ramp up from 0 over the
# first 500 steps (so the encoder first learns to explain the spikes, then to be economical),
# dropout (5%) on the inputs, encodings and generator state, L2 on the recurrent weights,
# gradient-norm clipping, Adam with a cosine-decaying learning rate, and early stopping on a
# validation split (20% of the training trials): the parameters kept are those with the best
# validation loss.
#
# ## 4. Training, live (10 min)
# A short run on the training trials' 80 held-in neurons. Watch the progress bar; the
# validation loss is the reconstruction of trials the model never trains on, plus the KL.

# %%
N_LIVE_STEPS = mode.pick(full=400, fast=60)
live = lfads.fit(train.spikes[:, :, held_in], seed=SEED, n_steps=N_LIVE_STEPS, eval_every=20)
history = live.history
print(f"validation loss {history['valid_loss'][0]:.4f} -> {history['valid_loss'].min():.4f} "
      f"(nats per entry, best at step {history['best_step']})")
assert history["valid_loss"].min() < history["valid_loss"][0]

# %% [markdown]
# Training it properly takes 2,000 steps, a few minutes on a laptop CPU. That run was made by
# `python scripts/train_lfads.py` and saved with its history; we load it and draw both.

# %%
trained, trained_info = lfads_examples.load_trained("integrator")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, run, name in ((axes[0], live, f"live run ({N_LIVE_STEPS} steps)"), (axes[1], trained, "checkpoint")):
    h = run.history
    ax.plot(np.arange(1, len(h["train_loss"]) + 1), h["train_loss"], color=COLORS["train"], lw=0.6,
            label="training batch")
    ax.plot(h["eval_step"], h["valid_loss"], "o-", ms=3, color=COLORS["validation"], label="validation")
    ax.axvline(h["best_step"], color="0.5", ls=":", lw=1)
    # zoom past the first steps' large losses, but keep every validation point in view
    top = max(np.percentile(h["train_loss"], 99), np.max(h["valid_loss"]))
    ax.set_ylim(None, top + 0.05 * (top - np.min(h["train_loss"])))
    plotting.label(ax, "training step", "-ELBO per entry (nats)", name)
axes[0].legend()
plotting.show(fig)
print(f"checkpoint: best validation loss {trained.history['valid_loss'].min():.4f} at step "
      f"{trained.history['best_step']} of {len(trained.history['train_loss'])} "
      f"(trained in {trained_info['seconds'] / 60:.1f} min on a shared 2-core CPU)")

# %% [markdown]
# The dotted line marks the step whose parameters were kept. The loss per entry includes
# the KL, whose weight ramps up over the first 500 steps: that is why the training loss can
# rise early on.
#
# ## 5. Single-trial rates: LFADS against the baselines (10 min)
#
# On the 200 test trials, LFADS's rates are the average over 32 posterior samples
# (`lfads.posterior_rates`). The baselines, both fitted on the training trials with the
# true rates to choose their settings (the strongest version of each, which real data would
# not allow):
# * **Gaussian smoothing** of each neuron's spikes, width chosen for the best $R^2$;
# * **PCA-denoised smoothing**: the smoothed population vector projected onto its top
#   principal components, width and number of components chosen together.

# %%
def baselines(train_data, test_data, neurons):
    """Smoothed and PCA-denoised test rates, settings chosen on the training trials."""
    x_train, truth_train = train_data.spikes[:, :, neurons], train_data.rates[:, :, neurons]
    width = smoothing.choose_smoothing_width(x_train, true_rates=truth_train)
    pca_width, denoiser = smoothing.choose_pca_denoiser(x_train, true_rates=truth_train)
    x_test = test_data.spikes[:, :, neurons]
    smoothed = smoothing.gaussian_smooth(x_test, width)
    denoised = smoothing.apply_pca_denoiser(denoiser, smoothing.gaussian_smooth(x_test, pca_width))
    print(f"smoothing width {width:.2f} bins; PCA: width {pca_width:.2f} bins, "
          f"{denoiser.components.shape[0]} components")
    return smoothed, denoised, width


integ_smoothed, integ_denoised, integ_width = baselines(train, test, held_in)
integ_post = lfads.posterior_rates(trained, test.spikes[:, :, held_in], return_all=True)
truth = test.rates[:, :, held_in]
integ_r2 = {"smoothing": metrics.r_squared(truth, integ_smoothed),
            "PCA-denoised": metrics.r_squared(truth, integ_denoised),
            "LFADS": metrics.r_squared(truth, integ_post["rates"])}
for name, value in integ_r2.items():
    print(f"{name:>13s}: R^2 = {value:.3f} against the true rates")
print(f"true rates: variance {truth.var():.3f} across trials, bins and neurons; Poisson noise: "
      f"variance {truth.mean():.2f} in every bin")
assert truth.var() < truth.mean(), "more noise than signal in a single count"
target = lfads_examples.DATASETS["integrator"]
assert integ_r2["LFADS"] >= target["min_r2"]                   # 0.9
assert integ_r2["LFADS"] >= max(integ_r2["smoothing"], integ_r2["PCA-denoised"]) + target["min_margin"]   # + 0.1

# %%
def rate_panels(data, trial, neurons, estimates, title):
    """Raster of one trial, then true vs estimated rates (Hz) of a few neurons."""
    t_ms = (np.arange(data.n_bins) + 0.5) * 1e3 * data.bin_size
    fig, axes = plt.subplots(1, len(neurons) + 1, figsize=(3 * (len(neurons) + 1), 3), sharex=True)
    axes[0].imshow(data.spikes[trial].T, aspect="auto", cmap="Greys", interpolation="nearest",
                   extent=(0, t_ms[-1] + t_ms[0], data.n_neurons, 0))
    plotting.label(axes[0], "time (ms)", "neuron", f"{title}: trial {trial}")
    styles = {"smoothing": (COLORS["baseline"], ":"), "PCA-denoised": (COLORS["baseline"], "-"),
              "LFADS": (COLORS["model"], "-")}
    for ax, n in zip(axes[1:], neurons):
        ax.plot(t_ms, data.rates[trial, :, n] / data.bin_size, color=COLORS["true"], lw=2, label="true")
        for name, rates in estimates.items():
            color, ls = styles[name]
            ax.plot(t_ms, rates[trial, :, n] / data.bin_size, color=color, ls=ls, lw=1.3, label=name)
        plotting.label(ax, "time (ms)", "rate (Hz)", f"neuron {n}")
    axes[-1].legend(fontsize=8)
    return fig


estimates = {"smoothing": integ_smoothed, "PCA-denoised": integ_denoised, "LFADS": integ_post["rates"]}
moving = np.ptp(truth, axis=1).mean(axis=1)                       # how far each trial's rates move
shown_trial = int(np.argmax(moving))
shown_neurons = np.argsort(np.ptp(truth[shown_trial], axis=0))[-3:]  # held-in neurons 0-79 keep their index
plotting.show(rate_panels(test, shown_trial, shown_neurons, estimates, "Integrator"))

# %% [markdown]
# Smoothing does worse than predicting the grand mean ($R^2 < 0$): these rates vary little
# compared with the Poisson noise of a count (the two variances above), so even the best
# smoothing width leaves more noise than signal. PCA denoising borrows strength across
# neurons but still sees each bin through a smoothing window. LFADS follows the steps that the
# pulses make, because its generator was trained to integrate.
#
# ## 6. Inferred inputs against the true pulses (5 min)
#
# The controller's inferred input $u_t$ was never told about the pulses. If LFADS found the
# system's real input, it should spike where the pulses are. The sign of $u$ is arbitrary
# (the generator could learn to integrate $-u$), so we fix it on the training trials.

# %%
train_post = lfads.posterior_rates(trained, train.spikes[:, :, held_in], return_all=True)
sign = np.sign(np.corrcoef(train_post["inputs"].ravel(), train.pulses.ravel())[0, 1])
inputs = sign * integ_post["inputs"][..., 0]
input_corr = np.corrcoef(inputs.ravel(), test.pulses[..., 0].ravel())[0, 1]
print(f"correlation between inferred inputs and true pulses on the test trials: {input_corr:.2f}")
assert input_corr >= 0.7

fig, axes = plt.subplots(1, 4, figsize=(12, 2.8), sharey=True)
pulse_trials = [i for i in range(test.n_trials) if np.count_nonzero(test.pulses[i]) > 0][:4]
for ax, i in zip(axes, pulse_trials):
    ax.stem(time_ms, test.pulses[i, :, 0] / np.abs(test.pulses).max(), linefmt=COLORS["true"], markerfmt=" ",
            basefmt=" ", label="true pulse")
    ax.plot(time_ms, inputs[i] / np.abs(inputs).max(), color=COLORS["model"], label="inferred input")
    plotting.label(ax, "time (ms)", "scaled input" if i == pulse_trials[0] else None, f"test trial {i}")
axes[0].legend(fontsize=8)
plotting.show(fig)

# %% [markdown]
# **Think**: the integrator also receives weak noise on every bin. Does the inferred input
# follow it? What, in the AR(1) prior and the KL term, decides how small an input LFADS
# bothers to infer?
#
# ## 7. Predicting neurons LFADS never saw: co-smoothing (5 min)
#
# The Neural Latents Benchmark's **co-smoothing** test: the 20 held-out neurons were never
# inputs. On the training trials we fit a Poisson GLM (`workshop_utils.glm`) from LFADS's
# factors to each held-out neuron; on the test trials we predict them from the factors alone
# and score the predictions in **bits per spike** (`metrics.bits_per_spike`: how much better
# than each neuron's mean rate, per spike). The baseline does the same from the smoothed
# held-in neurons; the true rates give the ceiling.

# %%
factors_glm = glm.fit_poisson_glm(train_post["factors"], train.spikes[:, :, held_out])
lfads_held_out = glm.predict_rates(factors_glm, integ_post["factors"])
smooth_glm = glm.fit_poisson_glm(smoothing.gaussian_smooth(train.spikes[:, :, held_in], integ_width),
                                 train.spikes[:, :, held_out])
smooth_held_out = glm.predict_rates(smooth_glm, integ_smoothed)
held_out_spikes = test.spikes[:, :, held_out]
co_bps = {"smoothing + GLM": metrics.bits_per_spike(smooth_held_out, held_out_spikes),
          "LFADS factors + GLM": metrics.bits_per_spike(lfads_held_out, held_out_spikes),
          "true rates (ceiling)": metrics.bits_per_spike(test.rates[:, :, held_out], held_out_spikes)}
ceiling = co_bps["true rates (ceiling)"]
for name, value in co_bps.items():
    print(f"{name:>21s}: co-bps {value:.3f} ({100 * value / ceiling:.0f}% of the ceiling)")
assert co_bps["LFADS factors + GLM"] > co_bps["smoothing + GLM"]
assert 0.5 * ceiling < co_bps["LFADS factors + GLM"] <= ceiling + 0.01

# %% [markdown]
# All three numbers are small because even the true rates explain these spikes only a little
# better than a constant rate does: the held-out neurons fire at 0-80 Hz but their rates move
# slowly, while Poisson noise is large at 1-2 spikes per 40 ms bin. What matters is the share
# of the ceiling: the smoothed neurons recover little of it, LFADS's factors most of it.

# %% [markdown]
# ## 8. A chaotic network, and the structure in the factors (10 min)
#
# The LFADS paper's first test: a chaotic RNN of 50 units (gain 1.5, time constant 25 ms),
# each unit a neuron firing up to 30 Hz, 1 s trials in 10 ms bins. Each of 400 **conditions**
# is an initial state; its 10 trials share the same rates and differ only in their Poisson
# spikes. Two trials per condition are the test set.
#
# Nothing drives this network from outside, so in principle the initial state says it all.
# In practice a chaotic system amplifies every error: a slightly wrong $g_0$ gives the right
# rates for a few hundred milliseconds and then wanders off. This LFADS keeps its controller
# (the default, one inferred input), which can nudge the generator back on course as the
# spikes come in. Its generator has 128 units, twice the default: a chaotic system is harder
# to follow than the integrator.

# %%
chaos = lfads_examples.load("chaotic")
c_train, c_test = chaos["train"], chaos["test"]
chaos_model, _ = lfads_examples.load_trained("chaotic")
print(f"train {c_train.spikes.shape}, test {c_test.spikes.shape}; "
      f"{c_train.spikes.mean() / c_train.bin_size:.1f} Hz on average")
chaos_smoothed, chaos_denoised, _ = baselines(c_train, c_test, np.arange(c_test.n_neurons))
chaos_post = lfads.posterior_rates(chaos_model, c_test.spikes, return_all=True)
chaos_r2 = {"smoothing": metrics.r_squared(c_test.rates, chaos_smoothed),
            "PCA-denoised": metrics.r_squared(c_test.rates, chaos_denoised),
            "LFADS": metrics.r_squared(c_test.rates, chaos_post["rates"])}
for name, value in chaos_r2.items():
    print(f"{name:>13s}: R^2 = {value:.3f}")
target = lfads_examples.DATASETS["chaotic"]
assert chaos_r2["LFADS"] >= target["min_r2"]                   # 0.9
assert chaos_r2["LFADS"] >= max(chaos_r2["smoothing"], chaos_r2["PCA-denoised"]) + target["min_margin"]   # + 0.1

# %% [markdown]
# The margin is smaller than on the integrator. PCA denoising does well here because the
# 400 conditions' rates share a few dominant patterns and each neuron's rate moves slowly,
# and LFADS has a hard job: one trial's spikes must pin down a state of a chaotic system
# precisely enough to predict it a second later. Size and data matter: with 200 conditions
# and a 64-unit generator this model reached 0.882. The figure below shows where LFADS's
# rates still depart from the truth.

# %%
estimates = {"smoothing": chaos_smoothed, "PCA-denoised": chaos_denoised, "LFADS": chaos_post["rates"]}
plotting.show(rate_panels(c_test, 0, [0, 1, 2], estimates, "Chaotic RNN"))

# %% [markdown]
# **Factors, coloured by condition.** The two test trials of a condition had the same true
# rates. In a 3-D PCA view, LFADS's factors for those trials should trace the same path;
# smoothed spikes, reduced the same way, scatter around it. We measure the scatter as the
# fraction of the trajectories' variance (over all 800 test trials, every bin and dimension)
# that is left once each condition's mean is taken out: 0 when the two trials of every
# condition coincide, as the true rates do.

# %%
def pca_3d(x):
    """Project (trials, time, d) onto the top 3 principal components of its bins."""
    flat = x.reshape(-1, x.shape[-1])
    centred = flat - flat.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return (centred @ vt[:3].T).reshape(*x.shape[:-1], 3)


def trial_scatter(x, conditions):
    """Within-condition variance / total variance, over every trial, bin and dimension."""
    labels = np.unique(conditions)
    means = np.stack([x[conditions == c].mean(axis=0) for c in labels])
    return (x - means[np.searchsorted(labels, conditions)]).var() / x.var()


shown = np.unique(c_test.conditions)[:6]
pick = np.isin(c_test.conditions, shown)
views = {"LFADS factors": pca_3d(chaos_post["factors"][pick]),
         "smoothed spikes": pca_3d(chaos_smoothed[pick])}
scatter = {"LFADS factors": trial_scatter(chaos_post["factors"], c_test.conditions),
           "smoothed spikes": trial_scatter(chaos_smoothed, c_test.conditions)}
fig = plt.figure(figsize=(10, 4.2))
for k, (name, view) in enumerate(views.items()):
    ax = fig.add_subplot(1, 2, k + 1, projection="3d")
    for trace, cond in zip(view, c_test.conditions[pick]):
        ax.plot(*trace.T, color=OKABE_ITO[int(np.searchsorted(shown, cond))], lw=1)
    ax.set_xlabel("PC 1"); ax.set_ylabel("PC 2"); ax.set_zlabel("PC 3")
    ax.set_title(f"{name}: {100 * scatter[name]:.1f}% of the variance\nis trial-to-trial scatter", fontsize=10)
plotting.show(fig)
print(f"trial-to-trial scatter: LFADS factors {100 * scatter['LFADS factors']:.1f}%, "
      f"smoothed spikes {100 * scatter['smoothed spikes']:.1f}% of their variance")
assert scatter["LFADS factors"] < 0.25 * scatter["smoothed spikes"]

# %% [markdown]
# Each colour is one condition, two test trials each. LFADS puts a condition's trials on one
# path: what differs between them is Poisson noise, which it has learned to ignore. Smoothed
# spikes carry that noise into every dimension.
#
# **Think**: this data set has 10 trials per condition, so averaging them would also give
# good rates. What does LFADS give that the trial average cannot? (Look back at section 6.)
#
# ## 9. Trial browser (5 min)
# Pick a test trial of the integrator data and a neuron: its raster, its true and inferred
# rates, the factors, and the inferred input against the true pulses. The first figure is drawn
# once, statically, so the notebook shows it without a live kernel.

# %%
def browse(trial=0, neuron=0):
    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    axes[0].imshow(test.spikes[trial][:, held_in].T, aspect="auto", cmap="Greys", interpolation="nearest",
                   extent=(0, test.n_bins * BIN_MS, len(held_in), 0))
    axes[0].axhline(neuron + 0.5, color=COLORS["model"], lw=0.8)
    plotting.label(axes[0], "time (ms)", "held-in neuron", f"test trial {trial}")
    axes[1].plot(time_ms, test.rates[trial, :, held_in[neuron]] / test.bin_size, color=COLORS["true"], lw=2,
                 label="true")
    axes[1].plot(time_ms, integ_smoothed[trial, :, neuron] / test.bin_size, color=COLORS["baseline"], ls=":",
                 label="smoothing")
    axes[1].plot(time_ms, integ_post["rates"][trial, :, neuron] / test.bin_size, color=COLORS["model"],
                 label="LFADS")
    axes[1].legend(fontsize=8)
    plotting.label(axes[1], "time (ms)", "rate (Hz)", f"neuron {held_in[neuron]}")
    axes[2].plot(time_ms, integ_post["factors"][trial], lw=0.8)
    plotting.label(axes[2], "time (ms)", "factor (a.u.)", "LFADS factors")
    axes[3].stem(time_ms, test.pulses[trial, :, 0], linefmt=COLORS["true"], markerfmt=" ", basefmt=" ")
    axes[3].plot(time_ms, inputs[trial] * np.abs(test.pulses).max() / np.abs(inputs).max(), color=COLORS["model"])
    plotting.label(axes[3], "time (ms)", "input (scaled)", "true pulses, inferred input")
    plt.show()


browse(trial=shown_trial, neuron=int(shown_neurons[-1]))
widgets.interact(browse, trial=widgets.IntSlider(value=shown_trial, min=0, max=test.n_trials - 1),
                 neuron=widgets.IntSlider(value=int(shown_neurons[-1]), min=0, max=len(held_in) - 1));

# %% [markdown]
# ## Summary
#
# * LFADS is a sequential VAE: an encoder infers each trial's initial state, a controller its
#   inputs, and a generator RNN shared by all trials turns them into factors and Poisson rates.
#   The ELBO trades reconstruction against the KL to the priors.
# * It is trained with KL warm-up, coordinated dropout (so it cannot copy its input) and early
#   stopping; `lfads.fit(spikes)` and `lfads.posterior_rates(model, spikes)` do it on any
#   array of counts shaped (trials, time, neurons).
# * On held-out trials with known rates it beat smoothing and PCA-denoised smoothing, by a
#   wide margin on the integrator and a smaller one on the chaotic network; its inferred input
#   found the true pulses; its factors predicted neurons it never saw far better than smoothing
#   did; and it put trials of the same condition on the same path.
#
# Notebook 05 stitches many recording sessions into one LFADS model; notebook 06 asks what the
# trained generator has learned, by finding its fixed points.
#
# **Further reading**
# * Sussillo, Jozefowicz, Abbott & Pandarinath (2016). LFADS: latent factor analysis via
#   dynamical systems. arXiv:1608.06315.
# * Pandarinath et al. (2018). Inferring single-trial neural population dynamics using
#   sequential auto-encoders. *Nature Methods* 15, 805-815.
# * Keshtkaran & Pandarinath (2019). Enabling hyperparameter optimization in sequential
#   autoencoders for spiking neural data (coordinated dropout). *NeurIPS*.
# * Kingma & Welling (2014). Auto-encoding variational Bayes. *ICLR*.
# * Pei et al. (2021). Neural Latents Benchmark '21 (co-smoothing). *NeurIPS Datasets and
#   Benchmarks*.
