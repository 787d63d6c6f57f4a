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
# # 03 · JAX in practice: from NumPy to a trained RNN
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/03_jax_in_practice.ipynb)
#
# The rest of the series (LFADS, stitching, fixed points) is written in JAX. This notebook
# is the crash course: each of JAX's few ideas on a small example, checked as we go, then
# all of them together to train the network that notebooks 04 and 06 study.
#
# **You will learn to**
# 1. write array code in `jax.numpy` and handle randomness with explicit keys;
# 2. take gradients with `jax.grad` and check them against finite differences;
# 3. compile with `jax.jit` and time it honestly;
# 4. batch with `jax.vmap` (per-trial losses, per-example gradients) and loop with `lax.scan`;
# 5. train a recurrent network with Optax: the white-noise integrator of the LFADS tutorial.
#
# **Prerequisites**: Python and NumPy; what an RNN is. Notebooks 01-02 are not needed.
#
# **Time**: about 75 minutes. Setup 5 · NumPy to JAX and random keys 10 · `grad` 15 ·
# `jit` 10 · pytrees and `lax.scan` 15 · `vmap` 10 · training the integrator 10.
#
# **Modes**: the notebook runs in *full* mode by default (about 2 minutes on a laptop CPU).
# The tests set `WORKSHOP_FAST=1` for a *fast* mode that trains less; every check still runs.

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
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from workshop_utils import gradcheck, integrator, metrics, mode, plotting, training
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)  # every number below follows from this seed

# %% [markdown]
# ## 1. From NumPy to `jax.numpy` (10 min)
#
# `jax.numpy` mirrors NumPy's API, so most array code carries over unchanged. Three
# differences matter in practice:
#
# * JAX arrays are **immutable**: instead of `x[0] = 1` you write `x = x.at[0].set(1)`,
#   which returns a new array (and compiles to an in-place update when it can).
# * The default floating type is **float32** (GPUs are fast at it); NumPy defaults to float64.
# * Arrays live on a **device** (CPU, GPU or TPU), and operations are dispatched to it
#   *asynchronously*: Python gets control back before the result is computed.

# %%
x_np = np.linspace(0.0, 1.0, 5)
x = jnp.linspace(0.0, 1.0, 5)
print("NumPy:", x_np.dtype, " JAX:", x.dtype, "on", x.devices())

y = x.at[0].set(10.0)  # a new array; x is unchanged
print("x =", x, "\ny =", y)
assert float(x[0]) == 0.0 and float(y[0]) == 10.0
assert np.allclose(np.tanh(x_np), jnp.tanh(x))  # same function, same numbers (to float32)

# %% [markdown]
# ### Randomness with explicit keys
#
# NumPy keeps a hidden global random state; JAX does not. A random function takes a **key**
# and is a pure function of it: the same key always gives the same numbers. To get new
# numbers you **split** the key. Never reuse a key for two different purposes.

# %%
key, k1, k2 = jax.random.split(key, 3)
a = jax.random.normal(k1, (3,))
b = jax.random.normal(k1, (3,))  # same key: same numbers
c = jax.random.normal(k2, (3,))  # new key: new numbers
print(a, b, c, sep="\n")
assert jnp.array_equal(a, b) and not jnp.array_equal(a, c)

# %% [markdown]
# `jax.random.fold_in(key, i)` derives a key from an integer, handy for "the key of
# training step i" without carrying a key through a loop.
#
# **Think**: why is a pure random function a good thing when the same code may be compiled,
# run on several devices, or re-run to reproduce a figure?

# %% [markdown]
# ## 2. Gradients with `jax.grad`, checked by finite differences (15 min)
#
# `jax.grad(f)` returns a new function that computes the gradient of a scalar function `f`
# with respect to its first argument, by reverse-mode automatic differentiation. It is exact
# up to floating-point round-off. We never trust a gradient we have not checked, so we compare
# it with a **central finite difference** along a direction $v$:
#
# $$ \nabla f(x)\cdot v \;\approx\; \frac{f(x+\varepsilon v) - f(x-\varepsilon v)}{2\varepsilon}. $$
#
# ### Exercise 1: the central finite difference
# Write `finite_difference(f, x, v, eps)`, the right-hand side above.

# %%
def finite_difference(f, x, v, eps=1e-2):
    """Central-difference estimate of the derivative of f at x along the direction v."""
    # BEGIN SOLUTION
    return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)
    # END SOLUTION


# %%
# Self-check against workshop_utils.gradcheck.central_difference, on a quadratic (where the
# central difference is exact) and on a sine.
A = jax.random.normal(jax.random.key(1), (4, 4))
quadratic = lambda x: x @ A @ x + jnp.sum(x)
cases = [(quadratic, jnp.arange(4.0), jnp.ones(4)), (lambda x: jnp.sum(jnp.sin(x)), -jnp.ones(4), jnp.eye(4)[2], 0.1)]
finite_difference = check_exercise(finite_difference, gradcheck.central_difference, cases, rtol=1e-4, atol=1e-4)

# %% [markdown]
# Now a function with curvature everywhere: the loss of a small tanh layer. We check
# `jax.grad` along a random direction, for a range of step sizes $\varepsilon$.

# %%
key, kW, kx, kv = jax.random.split(key, 4)
W = jax.random.normal(kW, (20, 10)) / jnp.sqrt(10)
target = jnp.linspace(-0.5, 0.5, 20)

def layer_loss(x):
    return jnp.sum((jnp.tanh(W @ x) - target) ** 2)

x0 = jax.random.normal(kx, (10,))
v = jax.random.normal(kv, (10,))
v = v / jnp.linalg.norm(v)

exact = jax.grad(layer_loss)(x0) @ v  # one backward pass gives the whole gradient
eps_values = np.logspace(-6, 0, 25)
rel_errors = np.array([abs(float(finite_difference(layer_loss, x0, v, e)) - float(exact)) / abs(float(exact))
                       for e in eps_values])
best = int(np.argmin(rel_errors))
print(f"grad . v = {float(exact):.6f}; best finite difference at eps = {eps_values[best]:.1e}, "
      f"relative error {rel_errors[best]:.1e}")
assert rel_errors[best] < 1e-3, "jax.grad and the finite difference disagree"

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.loglog(eps_values, rel_errors, "o-", color=COLORS["model"], ms=3)
ax.axvline(eps_values[best], color="0.6", ls=":", lw=1)
plotting.label(ax, "step size ε", "relative error vs jax.grad",
               "Finite differences agree with grad at a moderate ε")
ax.annotate("round-off\n(float32)", (2e-6, rel_errors[0]), fontsize=9, va="top")
ax.annotate("truncation\n(∝ ε²)", (0.08, rel_errors[-3]), fontsize=9, ha="right", va="bottom")
plotting.show(fig)

# %% [markdown]
# The V shape is the finite difference's, not the gradient's: for large ε the Taylor
# remainder dominates (it falls as ε²), for small ε float32 round-off in $f(x\pm\varepsilon v)$
# is divided by ε and grows. Automatic differentiation has neither problem, which is why we
# use it, and why a finite-difference check uses a moderate ε and a loose tolerance.
#
# **Think**: how many evaluations of `layer_loss` would finite differences need for the
# *whole* gradient in 10 dimensions? And for an RNN with 10,000 weights?

# %% [markdown]
# ## 3. Compiling with `jax.jit` (10 min)
#
# `jax.jit(f)` traces `f` once per input shape and dtype, hands the whole computation to the
# XLA compiler, and caches the result. Compiled code fuses operations and skips Python's
# per-operation overhead. Two rules for timing it honestly:
#
# 1. call it once first, so compilation is not counted (we report compilation separately);
# 2. wait for the result with `.block_until_ready()`: dispatch is asynchronous, so without it
#    we would time only how fast Python hands out work.

# %%
def time_call(f, *args, repeats=20):
    """Mean seconds per call of f(*args), after one warm-up call, waiting for the results."""
    jax.block_until_ready(f(*args))
    start = time.perf_counter()
    for _ in range(repeats):
        out = f(*args)
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats


def selu(x, alpha=1.67, scale=1.05):
    return scale * jnp.where(x > 0, x, alpha * (jnp.exp(x) - 1))


key, subkey = jax.random.split(key)
big = jax.random.normal(subkey, (1_000_000,))
selu_jit = jax.jit(selu)

start = time.perf_counter()
jax.block_until_ready(selu_jit(big))
compile_seconds = time.perf_counter() - start
t_eager, t_jit = time_call(selu, big), time_call(selu_jit, big)
assert jnp.allclose(selu(big), selu_jit(big), atol=1e-5)  # same numbers, compiled or not
print(f"selu on 1e6 numbers: {1e3 * t_eager:.2f} ms op by op, {1e3 * t_jit:.2f} ms compiled "
      f"({t_eager / t_jit:.1f}x faster); first call incl. compilation {1e3 * compile_seconds:.0f} ms")

# %% [markdown]
# Fusion saves memory traffic: op by op, each of the five operations reads and writes a
# million numbers; compiled, XLA makes one pass. For the many small operations of an RNN,
# what dominates is Python's cost per operation, which compilation removes altogether.
#
# **Think**: `jit` re-traces when a shape changes. What happens if you call a jitted
# function on trials of 100 different lengths?

# %% [markdown]
# ## 4. Pytrees and `lax.scan`: an RNN (15 min)
#
# A model's parameters are rarely one array. JAX works on **pytrees**, nested dicts, lists and
# tuples of arrays, and every transformation (`grad`, `jit`, `vmap`) and every Optax optimiser
# accepts them. `jax.tree_util.tree_map` applies a function to every leaf.
#
# Our network is a vanilla RNN with $N$ units, input $x_t$ and output $y_t$:
#
# $$ h_t = \tanh(W h_{t-1} + B x_t + b), \qquad y_t = C h_t + c, \qquad h_0 = 0. $$

# %%
key, subkey = jax.random.split(key)
params = integrator.init_params(subkey, n_hidden=100)
shapes = jax.tree_util.tree_map(jnp.shape, params)
n_params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(params))
print(shapes, f"\n{n_params} parameters in {len(jax.tree_util.tree_leaves(params))} arrays")


def rnn_step(params, h, x):
    return jnp.tanh(params["W"] @ h + params["B"] @ x + params["b"])


# %% [markdown]
# A Python `for` loop over time works, but under `jit` it is **unrolled**: the compiled program
# contains one copy of the step per time bin, so compilation time grows with the trial length.
# `jax.lax.scan(f, carry, xs)` is the compiled loop: it applies `f(carry, x) -> (carry, y)`
# along the leading axis of `xs` and stacks the `y`s, with one compiled copy of `f`.
#
# ### Exercise 2: an RNN with `lax.scan`
# Write `rnn_run(params, inputs)` for one trial: `inputs` is (T, 1); return the hidden
# states (T, N) and the outputs (T, 1). Use `rnn_step` inside a function for `lax.scan`.

# %%
def rnn_run(params, inputs):
    """Run the RNN over one trial from h_0 = 0; return (hidden (T, N), outputs (T, n_out))."""
    # BEGIN SOLUTION
    def step(h, x):
        h = rnn_step(params, h, x)
        return h, h

    h0 = jnp.zeros(params["W"].shape[0])
    _, hidden = jax.lax.scan(step, h0, inputs)
    return hidden, hidden @ params["C"].T + params["c"]
    # END SOLUTION


# %%
# Self-check against the package's version of the same RNN (workshop_utils/integrator.py).
key, subkey = jax.random.split(key)
check_inputs, _ = integrator.make_trials(subkey, 2)
rnn_run = check_exercise(rnn_run, integrator.run, [(params, check_inputs[0]), (params, check_inputs[1])])


# %% [markdown]
# Now the cost of unrolling, measured: compile a Python loop and a `scan` of the same RNN for
# increasingly long trials.

# %%
def rnn_run_python_loop(params, inputs):
    h, hidden = jnp.zeros(params["W"].shape[0]), []
    for x in inputs:  # unrolled when traced by jit
        h = rnn_step(params, h, x)
        hidden.append(h)
    hidden = jnp.stack(hidden)
    return hidden, hidden @ params["C"].T + params["c"]


def compile_seconds_for(f, inputs):
    start = time.perf_counter()
    jax.jit(f).lower(params, inputs).compile()
    return time.perf_counter() - start


lengths = mode.pick(full=[10, 25, 50, 100], fast=[5, 10, 20])
loop_compile = [compile_seconds_for(rnn_run_python_loop, jnp.zeros((T, 1))) for T in lengths]
scan_compile = [compile_seconds_for(rnn_run, jnp.zeros((T, 1))) for T in lengths]
same = jnp.allclose(rnn_run_python_loop(params, check_inputs[0])[1], rnn_run(params, check_inputs[0])[1], atol=1e-5)
assert same, "the loop and scan versions should compute the same outputs"

fig, ax = plt.subplots(figsize=(5.5, 3.4))
ax.plot(lengths, loop_compile, "o-", label="Python loop (unrolled)", color=COLORS["baseline"])
ax.plot(lengths, scan_compile, "o-", label="lax.scan", color=COLORS["model"])
plotting.label(ax, "trial length (time steps)", "compile time (s)", "scan compiles once, whatever the length")
ax.legend()
plotting.show(fig)
print(f"at T={lengths[-1]}: loop {loop_compile[-1]:.2f} s to compile, scan {scan_compile[-1]:.2f} s "
      f"({loop_compile[-1] / scan_compile[-1]:.0f}x)")

# %% [markdown]
# ## 5. Batching with `jax.vmap` (10 min)
#
# `rnn_run` handles one trial. Rather than rewrite it for a batch, `jax.vmap` maps it over a
# leading axis: `in_axes=(None, 0)` shares the parameters and maps over the trials. The
# result is one batched computation, not a Python loop. Here is the mean-squared-error loss,
# **per trial**, for a batch of integrator trials (their data come next section):

# %%
def trial_loss(params, inputs, targets):
    _, outputs = rnn_run(params, inputs)
    return jnp.mean((outputs - targets) ** 2)


key, subkey = jax.random.split(key)
inputs, targets = integrator.make_trials(subkey, 64)
per_trial = jax.vmap(trial_loss, in_axes=(None, 0, 0))(params, inputs, targets)
looped = jnp.stack([trial_loss(params, inputs[i], targets[i]) for i in range(len(inputs))])
print("per-trial losses:", per_trial.shape, "first three:", per_trial[:3])
assert jnp.allclose(per_trial, looped, rtol=1e-5)

# Timing: a Python loop over a compiled one-trial loss, against one compiled batched call.
trial_loss_jit = jax.jit(trial_loss)
batch_of_losses_jit = jax.jit(jax.vmap(trial_loss, in_axes=(None, 0, 0)))
loop_of_jits = lambda p, xs, ys: jnp.stack([trial_loss_jit(p, x, y) for x, y in zip(xs, ys)])
t_loop = time_call(loop_of_jits, params, inputs, targets, repeats=5)
t_vmap = time_call(batch_of_losses_jit, params, inputs, targets, repeats=20)
print(f"64 trials: {1e3 * t_loop:.1f} ms looping over a jitted loss, {1e3 * t_vmap:.2f} ms "
      f"with jit(vmap) ({t_loop / t_vmap:.0f}x faster)")

# %% [markdown]
# ### Exercise 3: per-example gradients
# Composing transformations is where JAX shines. The gradient of *one* trial's loss is
# `jax.grad(trial_loss)`; mapping it over trials gives one gradient per trial, a pytree whose
# leaves gain a leading trial axis (useful for gradient-noise diagnostics or per-trial
# influence). Write `per_trial_grads(params, inputs, targets)` with `jax.vmap` and `jax.grad`.

# %%
def per_trial_grads(params, inputs, targets):
    """Gradient of trial_loss for each trial: a dict like params, each leaf with a leading trial axis."""
    # BEGIN SOLUTION
    return jax.vmap(jax.grad(trial_loss), in_axes=(None, 0, 0))(params, inputs, targets)
    # END SOLUTION


# %%
# Self-check against a plain loop over trials (each trial's gradient compiled once).
one_trial_grad = jax.jit(jax.grad(trial_loss))

def per_trial_grads_loop(params, inputs, targets):
    grads = [one_trial_grad(params, x, y) for x, y in zip(inputs, targets)]
    return jax.tree_util.tree_map(lambda *g: jnp.stack(g), *grads)

per_trial_grads = check_exercise(per_trial_grads, per_trial_grads_loop,
                                 [(params, inputs[:3], targets[:3])], rtol=1e-4, atol=1e-6)

# %%
grads = per_trial_grads(params, inputs, targets)
mean_grad = jax.grad(lambda p: jnp.mean(jax.vmap(trial_loss, in_axes=(None, 0, 0))(p, inputs, targets)))(params)
assert all(jax.tree_util.tree_leaves(jax.tree_util.tree_map(
    lambda g, m: jnp.allclose(g.mean(0), m, atol=1e-6), grads, mean_grad)))
print({name: g.shape for name, g in grads.items()}, "- their mean is the batch gradient")

# %% [markdown]
# ## 6. Training the white-noise integrator with Optax (10 min)
#
# The task from the original LFADS tutorial. Each trial lasts 1 s in 25 steps of 40 ms. The
# input is white noise plus a small constant bias that differs from trial to trial; the
# target at each step is the **running sum** of the input so far, its integral with time
# counted in steps:
#
# $$ x_t = \beta + \sigma\,\xi_t,\quad \xi_t \sim \mathcal N(0,1), \qquad y^\ast_t = \sum_{s\le t} x_s .$$
#
# To do this the network must hold a continuous value in memory and add to it: the hidden
# state has to move along a *line* of stable states (notebook 06 finds that line).

# %%
key, subkey = jax.random.split(key)
example_inputs, example_targets = integrator.make_trials(subkey, 3)
fig, ax = plt.subplots(figsize=(6.4, 3.2))
time_s = (np.arange(integrator.N_STEPS) + 1) * integrator.DT
for i in range(3):
    ax.plot(time_s, example_inputs[i, :, 0], color=COLORS["input"], alpha=0.35, lw=1)
    ax.plot(time_s, example_targets[i, :, 0], color=COLORS["true"], lw=2)
ax.plot([], [], color=COLORS["input"], label="input x (noise + bias)")
ax.plot([], [], color=COLORS["true"], lw=2, label="target: running sum")
plotting.label(ax, "time (s)", "value (a.u.)", "Three trials of the integration task")
ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5))
plotting.show(fig)

# %% [markdown]
# Training in JAX is a pure function from (parameters, optimiser state, batch) to new ones.
# Optax provides the optimiser as a pair of functions, `init` and `update`; here Adam, with the
# gradient norm clipped (RNN gradients can spike) and a cosine-decaying learning rate. A
# little L2 on the recurrent weights keeps the dynamics tame. Each step draws fresh trials
# from its own key, so the network never sees the same noise twice.

# %%
N_TRAIN_STEPS = mode.pick(full=3000, fast=400)
BATCH_SIZE = 128
L2 = 1e-5

def batch_loss(params, inputs, targets):
    mse = jnp.mean(jax.vmap(trial_loss, in_axes=(None, 0, 0))(params, inputs, targets))
    return mse + L2 * jnp.sum(params["W"] ** 2)

optimizer = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.adam(optax.cosine_decay_schedule(2e-3, N_TRAIN_STEPS, alpha=0.05)),
)

@jax.jit
def train_step(state, batch_key):
    params, opt_state = state
    loss, grads = jax.value_and_grad(batch_loss)(params, *integrator.make_trials(batch_key, BATCH_SIZE))
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return (optax.apply_updates(params, updates), opt_state), loss

# Our loss is the package's loss (used by scripts/train_integrator.py), written out here.
assert jnp.allclose(batch_loss(params, inputs, targets), integrator.loss(params, inputs, targets, l2=L2), rtol=1e-5)

# %% [markdown]
# `workshop_utils.training.train` runs the step with a progress bar, and stops with a clear
# message (keeping the last good parameters) if the loss ever becomes NaN. It puts the
# asynchronous dispatch of sections 1 and 3 to use: it starts step i+1 before it reads step
# i's loss, so the device never waits for Python in between.

# %%
key, init_key, data_key = jax.random.split(key, 3)
params = integrator.init_params(init_key)
state = (params, optimizer.init(params))
start = time.perf_counter()
(params, _), losses = training.train(train_step, state, N_TRAIN_STEPS,
                                     lambda i: jax.random.fold_in(data_key, i), desc="integrator")
train_seconds = time.perf_counter() - start
assert len(losses) == N_TRAIN_STEPS, "training stopped early"
print(f"{N_TRAIN_STEPS} steps in {train_seconds:.0f} s; final loss {losses[-1]:.2e}")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.semilogy(losses, color=COLORS["train"], lw=0.8)
plotting.label(ax, "training step", "loss (MSE + L2)", "The loss falls by orders of magnitude")
plotting.show(fig)

# %% [markdown]
# ### Does it integrate? Held-out noise against the true integral
# We score the network on 1,000 new trials, drawn with a key never used in training, by the
# fraction of variance of the true running sum that its output explains ($R^2$, pooled over
# trials and time).

# %%
key, test_key = jax.random.split(key)
test_inputs, test_targets = integrator.make_trials(test_key, 1000)
test_hidden, test_outputs = jax.vmap(rnn_run, in_axes=(None, 0))(params, test_inputs)
r2 = metrics.r_squared(test_targets, test_outputs)
print(f"held-out R^2 = {r2:.4f}")
assert r2 >= 0.99, f"the integrator should reach R^2 >= 0.99 on held-out noise, got {r2:.4f}"

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [1.6, 1]})
for i in range(4):
    axes[0].plot(time_s, test_targets[i, :, 0], color=COLORS["true"], lw=2)
    axes[0].plot(time_s, test_outputs[i, :, 0], "--", color=COLORS["model"], lw=1.5)
axes[0].plot([], [], color=COLORS["true"], lw=2, label="true running sum")
axes[0].plot([], [], "--", color=COLORS["model"], label="RNN output")
axes[0].legend(loc="best")
plotting.label(axes[0], "time (s)", "value (a.u.)", "Four held-out trials")
axes[1].plot(test_targets.ravel(), test_outputs.ravel(), ".", ms=1, alpha=0.2, color=COLORS["model"])
lim = float(jnp.abs(test_targets).max())
axes[1].plot([-lim, lim], [-lim, lim], color=COLORS["true"], lw=1)
plotting.label(axes[1], "true running sum", "RNN output", f"All 1,000 trials: R² = {r2:.3f}")
fig.suptitle("The trained RNN integrates its input")
plotting.show(fig)

# %% [markdown]
# ### The saved integrator
# Notebooks 04 and 06 use a version of this network trained longer (6,000 steps) by
# `scripts/train_integrator.py` (run `./workshop checkpoints` to remake it), stored in
# `data/` with a checksum. It passes the same test, and we look inside it next.

# %%
saved_params, saved_info = integrator.load_trained()
saved_hidden, saved_outputs = integrator.run_batch(saved_params, test_inputs)
saved_r2 = metrics.r_squared(test_targets, saved_outputs)
print(f"checkpoint: trained {saved_info['n_train_steps']} steps; held-out R^2 here = {saved_r2:.5f}")
assert saved_r2 >= 0.99


# %% [markdown]
# ### A look inside: the hidden states
# 100 units, one remembered number. Principal components of the saved network's hidden
# states, across all held-out trials and times, show how many dimensions it really uses;
# correlating each component with the task's variables shows what they carry.

# %%
states = np.asarray(saved_hidden).reshape(-1, saved_hidden.shape[-1])
centred = states - states.mean(0)
_, singular_values, components = np.linalg.svd(centred, full_matrices=False)
explained = singular_values**2 / np.sum(singular_values**2)
pcs = centred @ components[:3].T
running_sum, current_input = np.asarray(test_targets).ravel(), np.asarray(test_inputs).ravel()
corr = {name: np.abs([np.corrcoef(pcs[:, k], var)[0, 1] for k in range(3)])
        for name, var in [("running sum", running_sum), ("current input", current_input)]}
pc_sum, pc_input = int(np.argmax(corr["running sum"])), int(np.argmax(corr["current input"]))
print(f"top 3 PCs explain {100 * explained[:3].sum():.1f}% of the variance "
      f"({', '.join(f'{100 * e:.1f}%' for e in explained[:3])})")
print(f"PC{pc_sum + 1} tracks the running sum (|r| = {corr['running sum'][pc_sum]:.3f}); "
      f"PC{pc_input + 1} tracks the current input (|r| = {corr['current input'][pc_input]:.3f})")
assert corr["running sum"][pc_sum] > 0.95, "one leading direction should carry the integral"

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].bar(np.arange(1, 11), 100 * explained[:10], color=COLORS["model"])
plotting.label(axes[0], "principal component", "variance explained (%)", "A few dimensions suffice")
few = slice(0, 5000)  # enough points to see the shape
axes[1].plot(running_sum[few], pcs[few, pc_sum], ".", ms=1, alpha=0.3, color=COLORS["model"])
plotting.label(axes[1], "true running sum", f"hidden state along PC{pc_sum + 1}",
               f"PC{pc_sum + 1} holds the integral (|r| = {corr['running sum'][pc_sum]:.2f})")
axes[2].plot(current_input[few], pcs[few, pc_input], ".", ms=1, alpha=0.3, color=COLORS["input"])
plotting.label(axes[2], "current input x_t", f"hidden state along PC{pc_input + 1}",
               f"PC{pc_input + 1} echoes the input (|r| = {corr['current input'][pc_input]:.2f})")
plotting.show(fig)

# %% [markdown]
# The network keeps its running sum along one direction of its 100-dimensional state; the
# other large component is the latest input, a kick that the readout ignores. Remembering a
# continuous value along one direction is the signature of a **line attractor**. Notebook 06
# finds it directly, as a line of fixed points with an eigenvalue of about 1, and notebook 04
# turns these hidden states into spikes for LFADS to recover.
#
# **Think**: repeat this analysis on the network you trained above (`test_hidden`). After a
# short training run the integral is usually spread over several components. Why might longer
# training (and the L2 penalty) concentrate it?

# %% [markdown]
# ## Summary
#
# * `jax.numpy` is NumPy with immutable arrays, float32 by default, and asynchronous devices.
# * Randomness is explicit: split keys, never reuse them.
# * `grad` gives exact gradients; finite differences check them, at a moderate step size.
# * `jit` compiles a whole function; time it after a warm-up and with `block_until_ready`.
# * `vmap` batches a one-example function; `vmap(grad(...))` gives per-example gradients.
# * `lax.scan` is the compiled loop for recurrent networks; Python loops unroll.
# * Optax optimisers are pure `init`/`update` functions over pytrees.
# * A 100-unit RNN learns to integrate white noise ($R^2 \ge 0.99$ on held-out trials) and
#   stores the integral along one direction of its state space.
#
# **Further reading**
# * The JAX documentation's "Thinking in JAX" and "The sharp bits".
# * Bradbury et al. (2018), JAX: composable transformations of Python+NumPy programs.
# * Sussillo & Barak (2013), Opening the black box, *Neural Computation* 25(3): the
#   integrator's line attractor, found with the fixed-point method of notebook 06.
# * Pandarinath et al. (2018), LFADS, *Nature Methods* 15: the model of notebook 04,
#   whose tutorial began with this integrator.
