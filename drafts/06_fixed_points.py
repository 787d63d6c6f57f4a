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
# <!-- DRAFT, not yet part of the series (issue 7): sections 1-4 and the three exercises run;
# still to write: 5 the LFADS generator (needs notebook 04), the bonus on period-2 flip-flops,
# the title cell's timings; section 6's explorer runs but its figure is not yet checked by eye. Kept outside
# notebooks/ so no tool or test treats it as part of the series. -->
#
# # 06 · Opening the black box: fixed points of trained RNNs
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/06_fixed_points.ipynb)
#
# A trained RNN solves its task, but how? Sussillo & Barak (2013) answered by finding the
# states the network holds still: minimise $q(h) = \tfrac12\lVert h - F(h)\rVert^2$ over $h$,
# with the weights frozen, starting from states the network visits. Fixed points ($q = 0$)
# and slow points (small $q$), with the linear dynamics around them, are the skeleton of the
# computation: memories are stable points, decisions are saddles, integrators are lines.

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
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from workshop_utils import fixed_points, flipflop, integrator, plotting
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)

# %% [markdown]
# ## 1. The idea on maps we can solve by hand
#
# For a discrete-time map $h_{t+1} = F(h_t)$, a fixed point $h^*$ satisfies $F(h^*) = h^*$.
# We find it by gradient descent on the speed
#
# $$ q(h) = \tfrac12 \lVert h - F(h) \rVert^2, \qquad \nabla q(h) = (I - J(h))^\top (h - F(h)), $$
#
# where $J = \partial F / \partial h$. Near $h^*$, $F(h^* + \delta) \approx h^* + J\delta$: the
# point is **stable** when every eigenvalue of $J(h^*)$ lies inside the unit circle.
#
# ### Exercise 1: q and its gradient
# Write `speed(F, h)` (that is $q$) for a map `F` of one state vector. Then `jax.grad` gives
# its gradient; the self-check compares both with the formula above.

# %%
def speed(F, h):
    """q(h) = 1/2 ||h - F(h)||^2."""
    # BEGIN SOLUTION
    return 0.5 * jnp.sum((h - F(h)) ** 2)
    # END SOLUTION


# %%
def speed_reference(F, h):
    return 0.5 * jnp.dot(h - F(h), h - F(h))

def speed_grad_by_formula(F, h):
    J = jax.jacfwd(F)(h)
    return (jnp.eye(h.shape[0]) - J).T @ (h - F(h))

tanh_map = lambda h: jnp.tanh(jnp.array([[1.5, 0.3], [-0.2, 0.8]]) @ h + 0.1)
cases = [(tanh_map, jnp.array([0.3, -0.7])), (tanh_map, jnp.array([2.0, 1.0]))]
speed = check_exercise(speed, speed_reference, cases)
for F, h in cases:
    assert jnp.allclose(jax.grad(speed, argnums=1)(F, h), speed_grad_by_formula(F, h), atol=1e-5)

# %% [markdown]
# A 1-D map with three fixed points we know exactly: $F(h) = h + \tfrac{1}{4}(h - h^3)$ holds
# still where $h = h^3$, at $-1$, $0$ and $1$. Its slope $F'(h) = 1 + \tfrac14(1 - 3h^2)$ is
# $1.25$ at 0 (unstable) and $0.5$ at $\pm 1$ (stable).

# %%
cubic_map = lambda h: h + 0.25 * (h - h**3)
starts = jnp.linspace(-1.6, 1.6, 33)[:, None]
found = fixed_points.find_fixed_points(cubic_map, starts)
print(found)
order = np.argsort(found.xstar[:, 0])
np.testing.assert_allclose(found.xstar[order, 0], [-1.0, 0.0, 1.0], atol=1e-6)
np.testing.assert_allclose(np.abs(found.eigval_J_xstar[order, 0]), [0.5, 1.25, 0.5], atol=1e-5)
assert list(found.is_stable[order]) == [True, False, True]

# %%
fig, ax = plt.subplots(figsize=(5, 3.6))
h = np.linspace(-1.6, 1.6, 200)
ax.plot(h, cubic_map(h), color=COLORS["model"], label="F(h)")
ax.plot(h, h, color="0.6", ls=":", label="h (the diagonal)")
for x, stable in zip(found.xstar[:, 0], found.is_stable):
    ax.plot(x, x, "o", ms=9, color=COLORS["stable" if stable else "unstable"],
            mfc=COLORS["stable"] if stable else "white")
plotting.label(ax, "h_t", "h_t+1", "Fixed points sit where F crosses the diagonal")
ax.legend()
plotting.show(fig)

# %% [markdown]
# ### Exercise 2: stability from eigenvalues
# Write `is_stable(J)`: True when every eigenvalue of the Jacobian `J` (d, d) has magnitude
# below 1. Careful: eigenvalues can be complex, and a rotation by a matrix of modulus 1.01 is
# unstable however small its angle.

# %%
def is_stable(J):
    """True when every eigenvalue of J lies strictly inside the unit circle."""
    # BEGIN SOLUTION
    return bool(np.all(np.abs(np.linalg.eigvals(J)) < 1.0))
    # END SOLUTION


# %%
def rotation(r, angle):
    return r * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])

stability_cases = [(rotation(0.99, 0.3),), (rotation(1.01, 0.3),), (np.diag([0.5, -1.2]),), (np.diag([0.9, -0.9]),)]
is_stable = check_exercise(is_stable, lambda J: bool(np.max(np.abs(np.linalg.eigvals(J))) < 1), stability_cases)

# %% [markdown]
# ### Exercise 3: the Jacobian with `jax.jacrev`
# Write `jacobian(F, h)`, the (d, d) matrix $\partial F_i / \partial h_j$ at `h`, with
# `jax.jacrev`; the self-check compares it with finite differences.

# %%
def jacobian(F, h):
    """dF/dh at h, (d, d), by reverse-mode autodiff."""
    # BEGIN SOLUTION
    return jax.jacrev(F)(h)
    # END SOLUTION


# %%
def jacobian_by_finite_differences(F, h, eps=1e-3):
    columns = [(F(h + eps * e) - F(h - eps * e)) / (2 * eps) for e in jnp.eye(h.shape[0])]
    return jnp.stack(columns, axis=1)

jacobian = check_exercise(jacobian, jacobian_by_finite_differences, cases, rtol=1e-3, atol=1e-3)

# %% [markdown]
# Now a 2-D map with a stable point and a saddle: $F(x, y) = (x + \tfrac14(x - x^3),\; 0.5\,y)$
# has fixed points at $(\pm1, 0)$ (stable: eigenvalues 0.5 and 0.5) and $(0, 0)$ (a saddle:
# 1.25 along $x$, 0.5 along $y$). The finder finds all three, and the saddle's unstable
# eigenvector points along $x$, towards the two attractors.

# %%
saddle_map = lambda h: jnp.array([h[0] + 0.25 * (h[0] - h[0] ** 3), 0.5 * h[1]])
key, subkey = jax.random.split(key)
found2 = fixed_points.find_fixed_points(saddle_map, jax.random.uniform(subkey, (64, 2), minval=-1.5, maxval=1.5))
print(found2)
assert len(found2) == 3 and found2.is_stable.sum() == 2
saddle = found2[~found2.is_stable]
np.testing.assert_allclose(saddle.xstar[0], [0.0, 0.0], atol=1e-6)
unstable_direction = np.real(saddle.eigvec_J_xstar[0][:, 0])
assert abs(unstable_direction[0]) > 0.999, "the saddle's unstable mode points along x"

# %% [markdown]
# ## 2. The 3-bit flip-flop
#
# Three input channels deliver occasional pulses of +1 or -1; each output must hold the sign
# of the last pulse on its channel. With 3 bits there are $2^3 = 8$ memories. A 16-unit tanh
# RNN trained on it (`scripts/train_flipflop.py`, loaded here from `data/`) should store each
# memory as a stable fixed point, with saddles between them that separate the basins.
# *Check, don't assume*: a network can solve the task in other ways (see the bonus).

# %%
ff_params, ff_info = flipflop.load_trained()
key, test_key, fp_key = jax.random.split(key, 3)
test_inputs, test_targets = flipflop.make_trials(test_key, 256)
print(f"held-out accuracy: {float(flipflop.accuracy(ff_params, test_inputs, test_targets)):.3f}")

ff_fps = flipflop.find_fixed_points(ff_params, fp_key)  # 1024 candidates from trajectories + noise 0.5
print(ff_fps)
counts = ff_fps.counts()
assert counts["stable"] == 8, "exactly one stable fixed point per memory"
assert flipflop.holds_all_memories(ff_params, ff_fps), "each stable point's readout is one of the 8 memories"
print("readouts of the stable points (the memories):")
print(np.round(np.asarray(flipflop.readout(ff_params, ff_fps.xstar[ff_fps.is_stable])), 2))

# %%
hidden, _ = flipflop.run_batch(ff_params, test_inputs[:20])
fig = plt.figure(figsize=(6.5, 5.5))
ax = fig.add_subplot(projection="3d")
fixed_points.plot_fixed_points(ax, ff_fps, trajectories=np.asarray(hidden))
ax.set_title(f"The flip-flop's memories: {counts['stable']} stable points at the corners of a cube,\n"
             f"{counts['unstable']} saddles between them")
plotting.show(fig)

# %% [markdown]
# The saddles have 1, 2 or 3 unstable directions: on the cube's 12 edges (between two
# memories), its 6 faces and its centre. Their unstable modes (the short red lines) point
# towards the memories they separate.

# %%
print("saddles by number of unstable modes:", counts["unstable_by_modes"])
assert counts["unstable_by_modes"].get(1, 0) == 12 and counts["unstable_by_modes"].get(2, 0) == 6

# %% [markdown]
# ## 3. The integrator's line attractor
#
# Notebook 03's network integrates white noise. To hold any value of the running sum it needs
# a continuum of fixed points, a **line attractor**, along which the leading eigenvalue of $J$
# is about 1 (neither growing nor decaying), and every other direction decays. We search with
# zero input, from states visited on held-out trials.

# %%
int_params, _ = integrator.load_trained()
key, trial_key, fp_key = jax.random.split(key, 3)
int_inputs, int_targets = integrator.make_trials(trial_key, 64)
int_hidden, _ = integrator.run_batch(int_params, int_inputs)
candidates = fixed_points.sample_states(fp_key, np.asarray(int_hidden).reshape(-1, int_hidden.shape[-1]), 512)
line = fixed_points.find_fixed_points(integrator.step_map(int_params), candidates, jnp.zeros(1),
                                      key=fp_key, noise_scale=0.01, lr_init=0.3, tol_unique=0.05)
print(line)
leading = np.abs(line.eigval_J_xstar[:, 0])
values = np.asarray(line.xstar @ int_params["C"].T + int_params["c"])[:, 0]
near_one = np.mean(np.abs(leading - 1) <= 0.02)
print(f"{len(line)} slow points, readouts from {values.min():.2f} to {values.max():.2f}; "
      f"leading |eigenvalue| median {np.median(leading):.4f}, within 0.02 of 1 for {100 * near_one:.0f}%")
assert np.median(np.abs(leading - 1)) <= 0.02

# %% [markdown]
# Along the line, the right eigenvector of the leading eigenvalue points along the line
# (the direction the state can drift without decay) and should be seen by the readout; the
# left eigenvector says which inputs move the state along the line, and should match the input
# weights. Both comparisons, as |cosine| similarities:

# %%
right = np.real(line.eigvec_J_xstar[:, :, 0])
left = np.real(line.left_eigvec_J_xstar[:, :, 0])
cos = lambda a, b: np.abs(a @ b) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b))
readout_w, input_w = np.asarray(int_params["C"][0]), np.asarray(int_params["B"][:, 0])
print(f"|cos|(right eigenvector, readout C): median {np.median(cos(right, readout_w)):.2f}; "
      f"|cos|(left eigenvector, input B): median {np.median(cos(left, input_w)):.2f}")

# %%
# What matters for integration is the input's push through the tanh at x*, dF/du = D B, along
# the left eigenvector: the component l . dF/du is what stays on the line; the rest decays.
# Likewise the readout should see the line: C . r.
input_push = np.real(line.dF_du[:, :, 0])
print(f"|cos|(left eigenvector, dF/du): median {np.median(np.abs(np.sum(left * input_push, 1)) / (np.linalg.norm(left, axis=1) * np.linalg.norm(input_push, axis=1))):.2f}")

# %%
# The cosines are small: most of the input's push (and of the left eigenvector) lies in
# directions that decay. The right test is the gain along the line: one unit of input moves
# the state by (l . dF/du) r, and the readout by (C . r)(l . dF/du), which should be 1 for an
# integrator of the running sum. (l and r are scaled so that l . r = 1.)
gain = np.sum(readout_w * right, 1) * np.sum(left * input_push, 1)
print(f"readout change per unit input along the line: median {np.median(gain):.3f} "
      f"(range {gain.min():.3f} to {gain.max():.3f})")

# %% [markdown]
# ## 4. Context-dependent integration (Mante, Sussillo et al. 2013)
#
# Monkeys saw dots that varied in motion and in colour, and a cue told them which to judge.
# Prefrontal neurons carried both, yet only the relevant one was integrated. The RNN version:
# two noisy evidence streams, a context cue, and the target is the running sum of the cued
# stream (`workshop_utils.contextual`). How does one network ignore an input in one context
# and integrate it in the other? For each context (its cue held on, evidence off) we look for
# a line attractor, and measure how much each stream moves the readout along it.

# %%
from workshop_utils import contextual, metrics, mode, vanilla_rnn

key, train_key, test_key = jax.random.split(key, 3)
ctx_params, ctx_losses = contextual.train(train_key, n_steps=mode.pick(full=3000, fast=3000))
ctx_inputs, ctx_targets, ctx_contexts = contextual.make_trials(test_key, 1000)
ctx_hidden, ctx_outputs = vanilla_rnn.run_batch(ctx_params, ctx_inputs)
ctx_r2 = metrics.r_squared(ctx_targets, ctx_outputs)
print(f"held-out R^2 = {ctx_r2:.4f}")
assert ctx_r2 >= 0.99

# %%
C = np.asarray(ctx_params["C"][0])
gains = {}
for context in (0, 1):
    key, sample_key, noise_key = jax.random.split(key, 3)
    states = np.asarray(ctx_hidden[ctx_contexts == context]).reshape(-1, ctx_hidden.shape[-1])
    cue = jnp.array([0.0, 0.0, 1.0 - context, float(context)])  # evidence off, cue on
    fps = fixed_points.find_fixed_points(vanilla_rnn.step_map(ctx_params), fixed_points.sample_states(sample_key, states, 512),
                                         cue, key=noise_key, noise_scale=0.01, lr_init=0.3, tol_unique=0.05)
    r, l = np.real(fps.eigvec_J_xstar[:, :, 0]), np.real(fps.left_eigvec_J_xstar[:, :, 0])
    push = np.real(fps.dF_du)  # (k, N, 4): each input's push through the tanh
    gains[context] = [np.median(np.sum(C * r, 1) * np.sum(l * push[:, :, s], 1)) for s in (0, 1)]
    print(f"context {context + 1}: {len(fps)} slow points, leading |eigenvalue| median "
          f"{np.median(np.abs(fps.eigval_J_xstar[:, 0])):.4f}; readout change per unit of stream 1, 2: "
          f"{gains[context][0]:.3f}, {gains[context][1]:.3f}")
assert abs(gains[0][0] - 1) < 0.1 and abs(gains[0][1]) < 0.1
assert abs(gains[1][1] - 1) < 0.1 and abs(gains[1][0]) < 0.1

# %% [markdown]
# In each context the network has a line attractor, and its left eigenvector (Mante et al.'s
# *selection vector*) is orthogonal to the irrelevant stream's push and picks up the relevant
# one with unit gain: the context does not gate the inputs on their way in (both streams push
# the state in both contexts), it turns the line so that only one of them has a lasting effect.

# %% [markdown]
# ## 6. Explorer: how slow is slow?
# The finder keeps points by their speed q. Fixed points have q at round-off; slow points,
# larger q, are where the dynamics crawl. Slide the tolerance and see which of the
# integrator's points survive, where they sit, and their eigenvalue spectra.

# %%
import ipywidgets as widgets

pca_mean, pca_axes = fixed_points.fit_pca(np.asarray(int_hidden), 2)


def show_tolerance(log10_q=-10.0):
    keep = line.qstar <= 10.0 ** log10_q
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    projected = (line.xstar - pca_mean) @ pca_axes.T
    for stable in (True, False):
        pick = keep & (line.is_stable == stable)
        axes[0].plot(projected[pick, 0], projected[pick, 1], "o", ms=5, mfc=COLORS["stable"] if stable else "white",
                     color=COLORS["stable" if stable else "unstable"], label="stable" if stable else "unstable")
    axes[0].legend()
    plotting.label(axes[0], "PC 1 (a.u.)", "PC 2 (a.u.)", f"{keep.sum()} of {len(line)} points have q <= 1e{log10_q:.0f}")
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    axes[1].plot(circle.real, circle.imag, color="0.6", lw=1)
    eig = line.eigval_J_xstar[keep].ravel()
    axes[1].plot(eig.real, eig.imag, ".", ms=2, color=COLORS["model"])
    axes[1].set_aspect("equal")
    plotting.label(axes[1], "Re λ", "Im λ", "Their eigenvalues: one at 1, the rest inside")
    plotting.show(fig)


widgets.interact(show_tolerance, log10_q=widgets.FloatSlider(value=-10, min=-16, max=-3, step=1));
