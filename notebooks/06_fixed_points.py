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
# # 06 · Opening the black box: fixed points of trained RNNs
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/rnn-neural-data/advanced-rnns-workshop/blob/main/notebooks/06_fixed_points.ipynb)
#
# A trained RNN solves its task, but how? Sussillo & Barak (2013) answered by finding the
# states the network holds still: minimise $q(h) = \tfrac12\lVert h - F(h)\rVert^2$ over $h$,
# with the weights frozen, starting from states the network visits. Fixed points ($q = 0$)
# and slow points (small $q$), with the linear dynamics around them, are the skeleton of the
# computation: memories are stable points, the boundaries between them run through saddles,
# and integrators are lines.
#
# **You will learn to**
# 1. find the fixed and slow points of a map by minimising $q$, and classify each one from the
#    eigenvalues of its Jacobian;
# 2. read a network's computation off its fixed points: the 3-bit flip-flop's 8 attractors and
#    the saddles between them, and an integrator's line attractor, whose left and right
#    eigenvectors say which input moves the state along the line and what the readout sees;
# 3. see how a context cue makes one network integrate one input and ignore another
#    (Mante, Sussillo et al. 2013);
# 4. ask the same of a model fitted to spikes: notebook 04's LFADS generator holds the
#    integrator's value for a trial's length, then runs into one stable point: no line attractor;
# 5. check a fixed-point analysis instead of trusting it: that the points are what the task
#    needs, that they lie where the network can go, how the tolerance on $q$ separates fixed
#    points from slow points.
#
# **Prerequisites**: notebook 03 (JAX's `grad`, `jit` and `vmap`, and the integrator RNN trained
# there); eigenvalues and eigenvectors of a matrix; for section 5, notebook 04 (LFADS).
# Notebooks 01, 02 and 05 are not needed.
#
# **Time**: about 105 minutes. Setup 5 · 1. the idea on maps solved by hand, three exercises 25 ·
# 2. the 3-bit flip-flop 15 · 3. the integrator's line attractor 15 · 4. context-dependent
# integration 15 · 5. the LFADS generator 15 · 6. explorer: how slow is slow? 10 · summary 5.
#
# **Modes**: the notebook loads its trained networks from `data/` (three RNNs and notebook 04's
# two LFADS models, made by `./workshop checkpoints`), so it runs in a few minutes on a laptop
# CPU, and its fast mode (`WORKSHOP_FAST=1`, used by the tests) is the same as its full mode.

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
from functools import partial

import ipywidgets as widgets
import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from workshop_utils import (contextual, fixed_points, flipflop, integrator, lfads, lfads_examples, metrics, plotting,
                            vanilla_rnn)
from workshop_utils.exercises import check_exercise
from workshop_utils.plotting import COLORS, OKABE_ITO
from workshop_utils.seeding import seed_everything

plotting.use_style()
SEED = 0
key, rng = seed_everything(SEED)  # every number below follows from this seed

# %% [markdown]
# ## 1. The idea on maps we can solve by hand (25 min)
#
# For a discrete-time map $h_{t+1} = F(h_t)$ (an RNN with its input held constant), a fixed
# point $h^*$ satisfies $F(h^*) = h^*$. We find it by gradient descent on the speed
#
# $$ q(h) = \tfrac12 \lVert h - F(h) \rVert^2, \qquad \nabla q(h) = (I - J(h))^\top (h - F(h)), $$
#
# where $J = \partial F / \partial h$ is the Jacobian. $q \ge 0$, and $q = 0$ exactly at the
# fixed points; local minima with small $q > 0$ are *slow points*, where the dynamics crawl.
# Near $h^*$, $F(h^* + \delta) \approx h^* + J\delta$: a small perturbation along an
# eigenvector of $J$ is multiplied by its eigenvalue $\lambda$ at every step, so the point is
# **stable** when every eigenvalue lies inside the unit circle, $|\lambda| < 1$.
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
for F, h in cases:  # jax.grad of your q against the formula
    assert jnp.allclose(jax.grad(speed, argnums=1)(F, h), speed_grad_by_formula(F, h), atol=1e-5)

# %% [markdown]
# A 1-D map whose fixed points we know exactly: $F(h) = h + \tfrac{1}{4}(h - h^3)$ holds
# still where $h = h^3$, at $-1$, $0$ and $1$. Its slope $F'(h) = 1 + \tfrac14(1 - 3h^2)$ is
# $1.25$ at 0 (unstable: a small deviation grows by a quarter each step) and $0.5$ at $\pm 1$
# (stable). `fixed_points.find_fixed_points(F, candidates)` descends $q$ from every candidate at
# once, merges the duplicates and linearises $F$ at what is left. We start it from 33 points
# spread over $[-1.6, 1.6]$.

# %%
cubic_map = lambda h: h + 0.25 * (h - h**3)
starts = jnp.linspace(-1.6, 1.6, 33)[:, None]
found = fixed_points.find_fixed_points(cubic_map, starts)
print(found)
order = np.argsort(found.xstar[:, 0])
np.testing.assert_allclose(found.xstar[order, 0], [-1.0, 0.0, 1.0], atol=1e-6)
np.testing.assert_allclose(np.abs(found.eigval_J_xstar[order, 0]), [0.5, 1.25, 0.5], atol=1e-5)
assert list(found.is_stable[order]) == [True, False, True]
assert found.qstar.max() < 1e-12, "true fixed points: q at float32 round-off"

# %%
fig, ax = plt.subplots(figsize=(5, 3.6))
h = np.linspace(-1.6, 1.6, 200)
ax.plot(h, cubic_map(h), color=COLORS["model"], label="F(h)")
ax.plot(h, h, color="0.6", ls=":", label="h (the diagonal)")
for x, stable in zip(found.xstar[:, 0], found.is_stable):
    ax.plot(x, x, "o", ms=9, color=COLORS["stable" if stable else "unstable"],
            mfc=COLORS["stable"] if stable else "white")
ax.plot([], [], "o", color=COLORS["stable"], label="stable (|F'| < 1)")
ax.plot([], [], "o", color=COLORS["unstable"], mfc="white", label="unstable (|F'| > 1)")
plotting.label(ax, "h_t (a.u.)", "h_t+1 (a.u.)", "Fixed points sit where F crosses the diagonal")
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
# Now a 2-D map with two attractors and a saddle between them:
# $F(x, y) = (x + \tfrac14(x - x^3),\; 0.5\,y)$ holds still at $(\pm1, 0)$ (stable: eigenvalues
# 0.5 and 0.5) and at $(0, 0)$, a **saddle**: it attracts along $y$ (eigenvalue 0.5) and repels
# along $x$ (1.25). The finder should find all three from random starts, and the saddle's
# unstable eigenvector should point along $x$, towards the two attractors. Your `jacobian` and
# `is_stable` must agree with the finder's own linearisation.

# %%
saddle_map = lambda h: jnp.array([h[0] + 0.25 * (h[0] - h[0] ** 3), 0.5 * h[1]])
key, subkey = jax.random.split(key)
found2 = fixed_points.find_fixed_points(saddle_map, jax.random.uniform(subkey, (64, 2), minval=-1.5, maxval=1.5))
print(found2)
assert len(found2) == 3 and found2.is_stable.sum() == 2
saddle = found2[~found2.is_stable]
np.testing.assert_allclose(saddle.xstar[0], [0.0, 0.0], atol=1e-6)
np.testing.assert_allclose(saddle.eigval_J_xstar[0], [1.25, 0.5], atol=1e-5)
unstable_direction = np.real(saddle.eigvec_J_xstar[0][:, 0])
assert abs(unstable_direction[0]) > 0.999, "the saddle's unstable mode points along x"
for x, J, stable in zip(found2.xstar, found2.J_xstar, found2.is_stable):
    np.testing.assert_allclose(jacobian(saddle_map, jnp.asarray(x)), J, atol=1e-5)
    assert is_stable(np.asarray(J)) == stable

# %%
grid = np.linspace(-1.6, 1.6, 15)
X, Y = np.meshgrid(grid, grid)
flow = np.asarray(jax.vmap(saddle_map)(jnp.stack([X.ravel(), Y.ravel()], axis=1))) - np.stack([X.ravel(), Y.ravel()], 1)
fig, ax = plt.subplots(figsize=(5.2, 4.2))
ax.quiver(X, Y, flow[:, 0].reshape(X.shape), flow[:, 1].reshape(X.shape), color="0.6", angles="xy")
ax.plot(*(0.6 * np.stack([-unstable_direction, unstable_direction])).T, color=COLORS["unstable"], lw=2.5,
        label="saddle's unstable mode")
for x, stable in zip(found2.xstar, found2.is_stable):
    ax.plot(*x, "o", ms=10, color=COLORS["stable" if stable else "unstable"], mfc=COLORS["stable"] if stable else "white")
ax.plot([], [], "o", color=COLORS["stable"], label="stable")
ax.plot([], [], "o", color=COLORS["unstable"], mfc="white", label="saddle")
ax.set_aspect("equal")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
plotting.label(ax, "x (a.u.)", "y (a.u.)", "The saddle's unstable mode leads to the attractors")
plotting.show(fig)

# %% [markdown]
# The arrows are one step of the map, $F(h) - h$; they vanish at the three fixed points. The
# saddle's stable direction ($y$) is the boundary between the two basins: a state just left of
# it ends at $(-1, 0)$, just right of it at $(1, 0)$. That is how a network *decides*.
#
# **Think**: the finder starts from 64 random points, yet saddles are unstable: the dynamics
# never settle there. Why does minimising $q$ still find them, when simulating the map would not?

# %% [markdown]
# ## 2. The 3-bit flip-flop (15 min)
#
# Three input channels deliver occasional pulses of +1 or -1; each output must hold the sign
# of the last pulse on its channel. With 3 bits there are $2^3 = 8$ memories. A 16-unit tanh
# RNN trained on it (`scripts/train_flipflop.py`, loaded here from `data/`) should store each
# memory as a stable fixed point, with saddles between them that separate the basins.
# *Check, don't assume*: a network can solve the task in other ways, for instance by holding its
# bits in a period-2 oscillation around fixed points that are all unstable. Accuracy alone
# cannot tell; the fixed points can.

# %%
ff_params, ff_info = flipflop.load_trained()
key, test_key, fp_key = jax.random.split(key, 3)
test_inputs, test_targets = flipflop.make_trials(test_key, 256)
ff_accuracy = flipflop.accuracy(ff_params, test_inputs, test_targets)
print(f"trained for {ff_info['n_train_steps']} steps; held-out accuracy {ff_accuracy:.4f} "
      "(the output's sign against the bit, at every step of 256 new trials)")
assert ff_accuracy >= 0.999

# %%
hidden, outputs = flipflop.run_batch(ff_params, test_inputs[:12])
steps = np.arange(flipflop.N_STEPS)
fig, axes = plt.subplots(3, 1, figsize=(7, 4.2), sharex=True)
for bit, ax in enumerate(axes):
    pulses = np.flatnonzero(test_inputs[0, :, bit])
    ax.vlines(steps[pulses], 0, test_inputs[0, pulses, bit], color=COLORS["input"], lw=2)
    ax.step(steps, test_targets[0, :, bit], where="post", color=COLORS["true"], lw=1.5)
    ax.plot(steps, outputs[0, :, bit], "--", color=COLORS["model"], lw=1.5)
    ax.set_ylabel(f"bit {bit + 1} (a.u.)")
axes[0].plot([], [], color=COLORS["input"], lw=2, label="input pulse")
axes[0].plot([], [], color=COLORS["true"], label="target bit")
axes[0].plot([], [], "--", color=COLORS["model"], label="RNN output")
axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, 1.45), ncol=3)
axes[-1].set_xlabel("time (steps)")
fig.suptitle("The flip-flop holds the sign of each channel's last pulse")
plotting.show(fig)

# %% [markdown]
# Now the fixed points with the inputs off ($u = 0$: the network holding its bits), from 1,024
# candidate states sampled along trajectories with Gaussian noise of standard deviation 0.5
# (FixedPointFinder's example), descended to $q < 10^{-12}$.

# %%
ff_fps = flipflop.find_fixed_points(ff_params, fp_key, n_candidates=1024, noise_scale=0.5)
print(ff_fps)
counts = ff_fps.counts()
assert counts["stable"] == 8, "exactly one stable fixed point per memory"
assert flipflop.holds_all_memories(ff_params, ff_fps), "each stable point's readout is one of the 8 memories"
assert ff_fps.qstar.max() < 1e-12
stable_leading = np.abs(ff_fps[ff_fps.is_stable].eigval_J_xstar[:, 0])
print(f"stable points' leading |eigenvalue|: at most {stable_leading.max():.2f}")
assert stable_leading.max() < 0.5, "the memories attract fast"
print("readouts of the stable points (the memories):")
print(np.round(np.asarray(flipflop.readout(ff_params, ff_fps.xstar[ff_fps.is_stable])), 2))

# %%
fig = plt.figure(figsize=(6.5, 5.5))
ax = fig.add_subplot(projection="3d")
fixed_points.plot_fixed_points(ax, ff_fps, trajectories=np.asarray(hidden))
ax.set_title(f"The flip-flop's memories: {counts['stable']} stable points at the corners of a cube,\n"
             f"{counts['unstable']} saddles between them")
plotting.show(fig)

# %% [markdown]
# The saddles have 1, 2 or 3 unstable directions: they sit on the cube's 12 edges, its 6 faces
# and its centre. An edge saddle should separate the two memories at the ends of its edge,
# which differ in one bit. We test that by pushing the network a little off each one-mode
# saddle, both ways along its unstable eigenvector, and letting it run with the inputs off.

# %%
print("saddles by number of unstable modes:", counts["unstable_by_modes"])
assert counts["unstable_by_modes"] == {1: 12, 2: 6, 3: 1}

ff_map, no_input = flipflop.step_map(ff_params), jnp.zeros(flipflop.N_BITS)

@jax.jit
def settle(h):
    """Run the network from h with its inputs off for 200 steps; return where it ends."""
    return jax.lax.scan(lambda h, _: (ff_map(h, no_input), None), h, None, length=200)[0]

edges = ff_fps[ff_fps.n_unstable_modes == 1]
mode_1 = np.real(edges.eigvec_J_xstar[:, :, 0])
mode_1 /= np.linalg.norm(mode_1, axis=1, keepdims=True)
ends = [jax.vmap(settle)(jnp.asarray(edges.xstar + sign * 0.05 * mode_1)) for sign in (1, -1)]
bits_one_way, bits_other_way = (np.sign(np.asarray(flipflop.readout(ff_params, e))) for e in ends)
n_bits_apart = np.sum(bits_one_way != bits_other_way, axis=1)
memory_states = ff_fps.xstar[ff_fps.is_stable]
miss = max(np.linalg.norm(np.asarray(e)[:, None] - memory_states[None], axis=2).min(axis=1).max() for e in ends)
neighbour_pairs = {frozenset([tuple(a), tuple(b)]) for a, b in zip(bits_one_way, bits_other_way)}
print(f"each edge saddle leads to two memories {set(n_bits_apart.tolist())} bit(s) apart; "
      f"{len(neighbour_pairs)} different pairs; the runs end within {miss:.0e} of a stable fixed point")
assert miss < 1e-3, "pushed off a saddle, the network settles into a memory"
assert np.all(n_bits_apart == 1) and len(neighbour_pairs) == 12, "one saddle per edge of the cube"

# %% [markdown]
# Every edge of the cube has its saddle, and each one's unstable mode (the short orange-red lines in
# the 3-D view) leads to the two memories it separates. A pulse on one channel kicks the state
# across the saddle's stable manifold, into the neighbouring memory's basin.
#
# **Think**: the stable points' leading eigenvalues are well inside the unit circle. What would
# the network's memories suffer if they were close to 1? And if noise were added to the
# hidden state while the network holds its bits?

# %% [markdown]
# ## 3. The integrator's line attractor (15 min)
#
# Notebook 03's network integrates white noise. To hold any value of the running sum it needs
# a continuum of fixed points, a **line attractor**, along which the leading eigenvalue of $J$
# is about 1 (a displacement along the line neither grows nor decays) while every other
# direction decays. We search with zero input, from 512 states visited on held-out trials
# (with a little noise), and merge points closer than 0.05. We load the trained network that
# notebook 03 saved.

# %%
int_params, _ = integrator.load_trained()
key, trial_key, sample_key, noise_key = jax.random.split(key, 4)
int_inputs, int_targets = integrator.make_trials(trial_key, 64)
int_hidden, _ = integrator.run_batch(int_params, int_inputs)
candidates = fixed_points.sample_states(sample_key, int_hidden, 512)
line = fixed_points.find_fixed_points(integrator.step_map(int_params), candidates, jnp.zeros(1),
                                      key=noise_key, noise_scale=0.01, lr_init=0.3, tol_unique=0.05)
print(line)

# %%
leading = line.eigval_J_xstar[:, 0]
held = np.asarray(vanilla_rnn.readout(int_params, line.xstar))[:, 0]  # the value each point holds
near_one = np.mean(np.abs(np.abs(leading) - 1) <= 0.02)
second = np.abs(line.eigval_J_xstar[:, 1]).max()
covered = (held.max() - held.min()) / float(int_targets.max() - int_targets.min())
print(f"{len(line)} slow points holding values from {held.min():.2f} to {held.max():.2f} "
      f"({100 * covered:.0f}% of the range of the held-out running sums)")
print(f"leading eigenvalue: real, from {leading.real.min():.4f} to {leading.real.max():.4f} "
      f"(within 0.02 of 1 for {100 * near_one:.0f}% of the points); every other |eigenvalue| <= {second:.2f}")
assert near_one >= 0.9 and np.abs(leading.imag).max() < 1e-6
assert second < 0.9, "every other direction decays"
assert covered > 0.8, "the line spans the values the network has to hold"

# %% [markdown]
# Along the line the leading eigenvalue straddles 1: some points count as "stable" and others
# as "unstable", a distinction the network hardly feels. A displacement along an eigenvector
# grows or decays as $|\lambda|^t = e^{t \ln|\lambda|}$, with a time constant
# $\tau = 1/\lvert\ln|\lambda|\rvert$ steps; a trial lasts 25 steps. And most of the line is made of
# slow points rather than exact fixed points (section 6's explorer shows which), so the state
# also creeps along it; the readout moves by $|C \cdot (F(h^*) - h^*)|$ per step there.

# %%
tau = 1 / np.abs(np.log(np.abs(leading)))
next_held = vanilla_rnn.readout(int_params, jax.vmap(integrator.step_map(int_params), (0, None))(line.xstar, jnp.zeros(1)))
creep = integrator.N_STEPS * np.abs(np.asarray(next_held)[:, 0] - held)  # readout drift over one trial
low, high = np.percentile(np.asarray(int_targets), [2.5, 97.5])
typical = (held >= low) & (held <= high)
print(f"time constants along the line: at least {tau.min():.0f} steps ({tau.min() / integrator.N_STEPS:.1f} trials)")
print(f"readout creep over a whole trial: at most {creep[typical].max():.3f} where 95% of the running sums lie "
      f"({low:.2f} to {high:.2f}), up to {creep.max():.3f} at the ends of the line")
assert tau.min() > 2 * integrator.N_STEPS and creep[typical].max() < 0.05

# %% [markdown]
# **Reading the line with eigenvectors.** Near a point $h^*$ of the line, write $r$ for the right
# eigenvector of the leading eigenvalue (the direction of the line) and $l$ for the left one
# ($l^\top J = \lambda\, l^\top$, scaled so that $l \cdot r = 1$). A small input $u$ moves the
# state by $\partial F/\partial u\; u$; of that push only the part $l \cdot (\partial F / \partial u)\, u$
# along $r$ persists, the rest decays within a few steps. The readout $C$ sees the line through
# $C \cdot r$. So the readout change per unit of input that stays is
#
# $$ g = (C \cdot r)\,(l \cdot \partial F/\partial u), $$
#
# which must be 1 for an integrator of the running sum. We also make the naive comparisons, as
# $|\cos|$: $r$ against the readout weights $C$, and $l$ against the input weights $B$ and against
# the push $\partial F/\partial u$. For scale, the $|\cos|$ of random directions with $C$.

# %%
right = np.real(line.eigvec_J_xstar[:, :, 0])
left = np.real(line.left_eigvec_J_xstar[:, :, 0])
input_push = np.real(line.dF_du[:, :, 0])  # dF/du = diag(1 - F(h*)^2) B
readout_w, input_w = np.asarray(int_params["C"][0]), np.asarray(int_params["B"][:, 0])

def abs_cos(a, b):
    return np.abs(np.sum(a * b, -1)) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))

cos_right_C, cos_left_B = np.median(abs_cos(right, readout_w)), np.median(abs_cos(left, input_w))
cos_left_push = np.median(abs_cos(left, input_push))
cos_random = np.median(abs_cos(rng.normal(size=(1000, readout_w.size)), readout_w))
gain = np.sum(readout_w * right, 1) * np.sum(left * input_push, 1)
print(f"median |cos|: (r, C) {cos_right_C:.2f}, (l, B) {cos_left_B:.2f}, (l, dF/du) {cos_left_push:.2f}; "
      f"(random, C) {cos_random:.2f}")
print(f"readout change per unit input along the line: median {np.median(gain):.3f} "
      f"(from {gain.min():.3f} to {gain.max():.3f})")
assert cos_right_C > 3 * cos_random, "the readout sees the line"
assert cos_left_B < 0.3 and cos_left_push < 0.3, "the selection vector is not the input weights"
assert abs(np.median(gain) - 1) < 0.05, "one unit of input moves the readout by one unit"
assert np.all(np.abs(gain[typical] - 1) < 0.05) and gain[np.argmax(np.abs(held))] < 0.95, "unit gain in the middle"

# %%
pca_int = fixed_points.fit_pca(int_hidden, 2)
projected = (np.asarray(int_hidden).reshape(-1, 100) - pca_int[0]) @ pca_int[1].T
line_2d = (line.xstar - pca_int[0]) @ pca_int[1].T
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].plot(projected[:, 0], projected[:, 1], ".", ms=1, color="0.7")
points = axes[0].scatter(line_2d[:, 0], line_2d[:, 1], c=held, s=14, cmap="viridis")
fig.colorbar(points, ax=axes[0], label="value held (a.u.)")
plotting.label(axes[0], "PC 1 (a.u.)", "PC 2 (a.u.)", "Fixed points line up along the states")
for stable in (True, False):
    pick = line.is_stable == stable
    axes[1].plot(held[pick], np.abs(leading[pick]), "o", ms=4, color=COLORS["stable" if stable else "unstable"],
                 mfc=COLORS["stable"] if stable else "white", label="stable" if stable else "unstable")
axes[1].axhline(1, color=COLORS["true"], lw=1)
for bound in (0.98, 1.02):
    axes[1].axhline(bound, color="0.6", ls=":", lw=1)
axes[1].set_ylim(0.97, 1.03)
axes[1].legend(loc="lower center", ncol=2)
plotting.label(axes[1], "value held (a.u.)", "leading |eigenvalue|", "Its leading eigenvalue is 1 ± 0.02")
axes[2].plot(held, gain, "o", ms=4, color=COLORS["model"])
axes[2].axhline(1, color=COLORS["true"], lw=1)
plotting.label(axes[2], "value held (a.u.)", "readout change per unit input", "Input moves it with unit gain")
fig.suptitle("The integrator stores its running sum on a line attractor")
plotting.show(fig)

# %% [markdown]
# The cosines are small: most of the input's push, and most of the left eigenvector, lie in
# directions that decay. The input weights are not the selection vector; only the projection
# on $l$ counts, and that projection has exactly the gain the task asks for, all along the line.
# The readout, in turn, sees the line more than it sees a random direction.
#
# **Think**: the gain is 1 in the middle of the line and falls off at its ends. What does that
# predict for trials whose running sum wanders beyond the values the network saw in training?

# %% [markdown]
# ## 4. Context-dependent integration (Mante, Sussillo et al. 2013) (15 min)
#
# Monkeys saw dots that varied in motion and in colour, and a cue told them which to judge.
# Prefrontal neurons carried both, yet only the relevant one was integrated. The RNN version:
# two noisy evidence streams, a context cue, and the target is the running sum of the cued
# stream (`workshop_utils.contextual`). How does one network ignore an input in one context
# and integrate it in the other? A 100-unit RNN was trained on it (`contextual.train`, 3,000
# steps of Adam on fresh trials, by `scripts/train_contextual.py`: a few minutes on a laptop
# CPU, so we load it). For each context (its cue on, evidence off) we look for a line
# attractor and measure how much each stream moves the readout along it.

# %%
ctx_params, ctx_info = contextual.load_trained()
key, _, test_key = jax.random.split(key, 3)
ctx_inputs, ctx_targets, ctx_contexts = contextual.make_trials(test_key, 1000)
ctx_hidden, ctx_outputs = vanilla_rnn.run_batch(ctx_params, ctx_inputs)
ctx_r2 = metrics.r_squared(ctx_targets, ctx_outputs)
print(f"trained for {ctx_info['n_train_steps']} steps; held-out R^2 = {ctx_r2:.4f}")
assert ctx_r2 >= 0.99

# %%
C_ctx = np.asarray(ctx_params["C"][0])
ctx_fps, gains, pushes = {}, {}, {}
for context in (0, 1):
    key, sample_key, noise_key = jax.random.split(key, 3)
    states = ctx_hidden[ctx_contexts == context]
    cue = jnp.array([0.0, 0.0, 1.0 - context, float(context)])  # evidence off, cue on
    fps = fixed_points.find_fixed_points(vanilla_rnn.step_map(ctx_params), fixed_points.sample_states(sample_key, states, 512),
                                         cue, key=noise_key, noise_scale=0.01, lr_init=0.3, tol_unique=0.05)
    r, l = np.real(fps.eigvec_J_xstar[:, :, 0]), np.real(fps.left_eigvec_J_xstar[:, :, 0])
    push = np.real(fps.dF_du[:, :, :2])  # (k, N, 2): each evidence stream's push through the tanh
    gains[context] = [np.median(np.sum(C_ctx * r, 1) * np.sum(l * push[:, :, s], 1)) for s in (0, 1)]
    pushes[context] = [np.median(np.linalg.norm(push[:, :, s], axis=1)) for s in (0, 1)]
    ctx_fps[context] = fps
    lead = np.abs(fps.eigval_J_xstar[:, 0])
    near_one = np.mean(np.abs(lead - 1) <= 0.02)
    print(f"context {context + 1}: {len(fps)} slow points, leading |eigenvalue| median {np.median(lead):.4f} "
          f"(within 0.02 of 1 for {100 * near_one:.0f}%); push of stream 1, 2: {pushes[context][0]:.2f}, "
          f"{pushes[context][1]:.2f}; readout change per unit of stream 1, 2: {gains[context][0]:.3f}, {gains[context][1]:.3f}")
    assert abs(np.median(lead) - 1) <= 0.02 and near_one >= 0.5, "a line attractor"
assert abs(gains[0][0] - 1) < 0.1 and abs(gains[0][1]) < 0.1, "context 1 integrates stream 1 only"
assert abs(gains[1][1] - 1) < 0.1 and abs(gains[1][0]) < 0.1, "context 2 integrates stream 2 only"
assert all(0.5 < pushes[c][s] / pushes[1 - c][s] < 2 for c in (0, 1) for s in (0, 1)), "no gating at the input"

# %%
pca_ctx = fixed_points.fit_pca(ctx_hidden, 2)
context_colors = [OKABE_ITO[4], OKABE_ITO[2]]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for context in (0, 1):
    seen = (np.asarray(ctx_hidden[ctx_contexts == context][:100]).reshape(-1, 100) - pca_ctx[0]) @ pca_ctx[1].T
    axes[0].plot(seen[:, 0], seen[:, 1], ".", ms=1, alpha=0.3, color=context_colors[context])
    on_line = (ctx_fps[context].xstar - pca_ctx[0]) @ pca_ctx[1].T
    axes[0].plot(on_line[:, 0], on_line[:, 1], "o", ms=4, color=context_colors[context], label=f"context {context + 1}")
axes[0].legend()
plotting.label(axes[0], "PC 1 (a.u.)", "PC 2 (a.u.)", "One line attractor per context")
width = 0.35
for s in (0, 1):
    for panel, values in ((1, pushes), (2, gains)):
        axes[panel].bar(np.arange(2) + (s - 0.5) * width, [values[c][s] for c in (0, 1)], width,
                        color=OKABE_ITO[1] if s else OKABE_ITO[0], label=f"stream {s + 1}")
for panel in (1, 2):
    axes[panel].set_xticks([0, 1], ["context 1", "context 2"])
    axes[panel].legend(loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.25))
axes[2].axhline(1, color=COLORS["true"], lw=1)
plotting.label(axes[1], "", "|dF/du| (a.u. per unit input)", "Both streams push in both contexts")
plotting.label(axes[2], "", "readout change per unit input", "Only the cued stream stays on the line")
plotting.show(fig)

# %% [markdown]
# In each context the network has a line attractor. Both streams push the state about as hard
# in either context: the context does not gate the inputs on their way in. What changes is the
# line: its left eigenvector (Mante et al.'s *selection vector*) is orthogonal to the irrelevant
# stream's push and picks up the relevant one with unit gain, so only the cued stream has a
# lasting effect on the readout.
#
# **Think**: Mante et al. found the same in prefrontal cortex, where the irrelevant input was
# clearly represented yet not integrated. Which measurement of neural data would tell "gating
# at the input" from "selection by the line's left eigenvector"?

# %% [markdown]
# ## 5. The LFADS generator (15 min)
#
# Notebook 04 fitted LFADS to spikes of section 3's integrator. Its generator is a 64-unit GRU,
# $g_t = F(g_{t-1}, u_t)$, driven by the input $u_t$ that the controller infers; the 16 factors
# $f_t = W_f\, g_t$ (unit-length columns) give the log rates. The network that made the spikes
# holds its running sum on a line attractor. Does the generator hold it the same way: which
# states does it hold still with its input off ($u = 0$)? `lfads.generator_map(model)` is $F$,
# ready for the finder. Two facts about a GRU matter here. Its new state is a mix
# $g_t = z \odot g_{t-1} + (1 - z) \odot n$ of the old one and a $\tanh$, so a state inside the box
# $|g_i| < 1$ never leaves it. And where its update gate is shut ($z \to 1$), $F(g) \approx g$
# whatever $g$ is.
#
# The data are synthetic, so we know the value the integrator held at every bin (its readout
# $C h$). A least-squares readout from the factors to that value lets us watch it in the model.

# %%
integ = lfads_examples.load("integrator")
lfads_test = integ["test"]
integ_lfads, _ = lfads_examples.load_trained("integrator")
post = lfads.posterior_rates(integ_lfads, lfads_test.spikes[:, :, integ["held_in"]], return_all=True)
gen_states, factors = post["gen_states"], post["factors"]    # (trials, bins, 64), (trials, bins, 16)
true_value = np.asarray(vanilla_rnn.readout(int_params, lfads_test.latents))[..., 0]   # (trials, bins)
design = np.hstack([factors.reshape(-1, factors.shape[-1]), np.ones((true_value.size, 1))])
value_w = np.linalg.lstsq(design, true_value.ravel(), rcond=None)[0]

def value_from_factors(f):
    """The integrated value read out of factors (..., 16), by the least-squares weights."""
    return f @ value_w[:-1] + value_w[-1]

value_r2 = metrics.r_squared(true_value, value_from_factors(factors))
u_low, u_mid, u_high = np.percentile(post["inputs"], [5, 50, 95])
print(f"{lfads_test.n_trials} test trials of {lfads_test.n_bins} bins; the value read from the factors: R^2 = {value_r2:.3f}")
print(f"inferred input: median {u_mid:.3f}, 90% of the bins in [{u_low:.2f}, {u_high:.2f}]; "
      f"largest |g_i| visited {np.abs(gen_states).max():.3f}")
assert value_r2 > 0.85 and np.abs(gen_states).max() < 1

# %% [markdown]
# First the finder, exactly as in sections 3 and 4: 512 visited states as candidates, a little
# noise, the input off.

# %%
G_map = lfads.generator_map(integ_lfads)
key, sample_key, noise_key = jax.random.split(key, 3)
gen_fps = fixed_points.find_fixed_points(G_map, fixed_points.sample_states(sample_key, gen_states, 512), jnp.zeros(1),
                                         key=noise_key, noise_scale=0.01, lr_init=0.3, tol_unique=0.05)
print(gen_fps)
visited = gen_states.reshape(-1, gen_states.shape[-1])
outside = np.abs(gen_fps.xstar).max(axis=1)               # its largest |g_i|: above 1 is out of reach
gap = np.array([np.linalg.norm(visited - x, axis=1).min() for x in gen_fps.xstar])
gen, n_gen = integ_lfads.model.generator, integ_lfads.model.generator.n_hidden
update_gate = lambda g: jax.nn.sigmoid(gen.b_x[...][n_gen:2 * n_gen] + (g @ gen.W_h[...] + gen.b_h[...])[:, n_gen:2 * n_gen])
shut_there, shut_visited = (np.mean(np.asarray(update_gate(g)) > 0.99) for g in (gen_fps.xstar, visited))
print(f"every point has some |g_i| >= {outside.min():.2f}, and lies {gap.min():.1f} to {gap.max():.1f} from the nearest "
      f"visited state; update gates shut (z > 0.99): {100 * shut_there:.0f}% there, {100 * shut_visited:.3f}% at visited states")
assert gen_fps.qstar.min() > 1e-8, "not one fixed point"
assert outside.min() > 1 and gap.min() > 1, "every point lies outside the box the generator can reach"
assert shut_there > 0.3 and shut_visited < 0.01, "where the update gates are shut"

# %% [markdown]
# None of them is a fixed point, and none is a state the generator could ever be in. $q$ has
# shallow valleys that run out of the box towards states where the gates close, and the descent
# follows them, stopping where its progress stalls. *Check where the points are before reading
# anything off them.*
#
# Simulation finds what the descent missed: a stable fixed point attracts. We run the generator
# on with its input off from the end of every test trial, for 400 bins (16 s, sixteen trials'
# length), and polish where the runs end with the finder. We repeat it with the input held at
# its median instead of 0.

# %%
@partial(jax.jit, static_argnums=3)
def run_generator(F, g, u, n_bins):
    """Run the map F from the states g (n, d) with the input held at u: (n_bins, n, d)."""
    step = lambda g, _: (jax.vmap(F, (0, None))(g, u),) * 2
    return jax.lax.scan(step, g, None, length=n_bins)[1]

N_AFTER = 400
after = np.asarray(run_generator(G_map, jnp.asarray(gen_states[:, -1]), jnp.zeros(1), N_AFTER))
settled = fixed_points.find_fixed_points(G_map, after[-1], jnp.zeros(1), lr_init=1e-3, tol_unique=0.05)
print(settled)
u_typical = jnp.array([u_mid], jnp.float32)
at_median = fixed_points.find_fixed_points(G_map, np.asarray(run_generator(G_map, jnp.asarray(gen_states[:, -1]), u_typical, N_AFTER))[-1],
                                           u_typical, lr_init=1e-3, tol_unique=0.05)
g_star, lead = settled.xstar[0], np.abs(settled.eigval_J_xstar[0])
tau_ms = 1e3 * lfads_test.bin_size / -np.log(lead[lead > 0.95])
spread = np.linalg.norm(after[-1] - g_star, axis=1).max()
print(f"all {len(after[-1])} runs end within {spread:.0e} of it, {np.linalg.norm(visited - g_star, axis=1).min():.2f} from the "
      f"nearest visited state; with u at its median it moves by {np.linalg.norm(at_median.xstar[0] - g_star):.2f}")
print(f"its {len(tau_ms)} slowest modes: |eigenvalue| {lead[0]:.3f} to {lead[len(tau_ms) - 1]:.3f}, time constants "
      f"{tau_ms.min():.0f}-{tau_ms.max():.0f} ms; then {lead[len(tau_ms)]:.3f} (section 3's line: one mode at 1, the rest below 0.9)")
assert len(settled) == 1 and settled.is_stable.all() and settled.qstar.max() < 1e-12 and spread < 1e-3
assert np.linalg.norm(visited - g_star, axis=1).min() > 0.1, "a point the trials never visit"
assert len(at_median) == 1 and np.linalg.norm(at_median.xstar[0] - g_star) < 0.2, "the same point at the typical input"
assert 0.95 < lead[0] < 0.995 and len(tau_ms) >= 3, "a cluster of slow modes, none at 1"
assert 1000 < tau_ms.max() < 3000, "the slowest one decays in 1-3 s: longer than a trial, not forever"

# %% [markdown]
# One stable point, no line. What does that do to the value? We read it from the factors along
# the runs and compare with section 3's network, run on from the true states of the same trials
# with its input off too. The slope of the value after $n$ bins against the value at the trial's
# end says how much of it is kept: 1 for a perfect memory, 0 for none (above 1, values spread
# apart: the ends of the integrator's line are slightly unstable, as section 3 found).

# %%
W_f = np.asarray(integ_lfads.model.factor_weights())
lfads_after = value_from_factors(after @ W_f)                       # (N_AFTER, trials)
_, true_out = jax.vmap(integrator.run, (None, None, 0))(int_params, jnp.zeros((N_AFTER, 1)), jnp.asarray(lfads_test.latents[:, -1]))
true_after = np.asarray(true_out)[..., 0].T
one_trial = lfads_test.n_bins
kept = {n: (np.polyfit(value_from_factors(factors[:, -1]), lfads_after[n - 1], 1)[0],
            np.polyfit(true_value[:, -1], true_after[n - 1], 1)[0]) for n in (one_trial, 4 * one_trial)}
for n, (model_kept, true_kept) in kept.items():
    print(f"value kept after {n} bins ({n // one_trial} trial length(s)): LFADS generator {model_kept:.2f}, "
          f"the integrator {true_kept:.2f}")
print(f"the value read at the fixed point: {value_from_factors(g_star @ W_f):.2f}")
assert kept[one_trial][0] > 0.8 and kept[4 * one_trial][0] < 0.5, "held for a trial, forgotten over four"
assert min(kept[one_trial][1], kept[4 * one_trial][1]) > 0.95, "the integrator keeps it"

# %% [markdown]
# For contrast, notebook 04's other LFADS, fitted to the chaotic network: nothing drives that
# system, and being chaotic, it never settles. We run its generator on in the same way, for 2,000 of its
# 10 ms bins (20 s).

# %%
chaos = lfads_examples.load("chaotic")
chaos_lfads, _ = lfads_examples.load_trained("chaotic")
chaos_states = lfads.posterior_rates(chaos_lfads, chaos["test"].spikes[:100], return_all=True)["gen_states"]
chaos_after = np.asarray(run_generator(lfads.generator_map(chaos_lfads), jnp.asarray(chaos_states[:, -1]), jnp.zeros(1), 2000))
speed = {name: np.median(np.linalg.norm(np.diff(runs, axis=0), axis=-1), axis=1)
         for name, runs in (("integrator", after), ("chaotic", chaos_after))}
print(f"median speed |g_t+1 - g_t| at the end of the runs: integrator data {speed['integrator'][-1]:.0e}, "
      f"chaotic data {speed['chaotic'][-1]:.2f} per bin (never below {speed['chaotic'].min():.2f})")
assert speed["chaotic"].min() > 0.1 > 1e4 * speed["integrator"][-1], "one settles, the other never does"

# %%
fig = plt.figure(figsize=(14, 4.2))
ax = fig.add_subplot(1, 3, 1, projection="3d")
ax.set_title("Left alone, every trial runs\ninto one stable point")
pca_gen = fixed_points.plot_fixed_points(ax, settled, trajectories=gen_states[:20])
for path in np.swapaxes(after[:, :20], 0, 1):
    ax.plot(*((path - pca_gen[0]) @ pca_gen[1].T).T, color=COLORS["model"], lw=0.6, alpha=0.5)
ax.plot([], [], color="0.6", label="trials (u inferred)")
ax.plot([], [], color=COLORS["model"], label="run on (u = 0)")
ax.legend(loc="upper left", fontsize=8)
ax = fig.add_subplot(1, 3, 2)
t_trial = np.arange(lfads_test.n_bins) * lfads_test.bin_size
t_after = (lfads_test.n_bins + np.arange(N_AFTER)) * lfads_test.bin_size
for i in np.argsort(true_value[:, -1])[np.linspace(5, lfads_test.n_trials - 6, 6).astype(int)]:
    ax.plot(np.r_[t_trial, t_after], np.r_[value_from_factors(factors[i]), lfads_after[:, i]], color=COLORS["model"], lw=1.2)
    ax.plot(np.r_[t_trial, t_after], np.r_[true_value[i], true_after[:, i]], color=COLORS["true"], ls="--", lw=1)
ax.axvline(t_trial[-1], color="0.6", lw=1)
ax.axhline(value_from_factors(g_star @ W_f), color=COLORS["stable"], ls=":", lw=1)
ax.plot([], [], color=COLORS["model"], label="LFADS: read from the factors")
ax.plot([], [], color=COLORS["true"], ls="--", label="the integrator (truth)")
ax.plot([], [], color=COLORS["stable"], ls=":", label="read at the stable point")
ax.text(t_trial[-1] + 0.15, 3.1, "trial ends, u = 0 from here", fontsize=8, color="0.4")
ax.set_xlim(-0.2, 10)
ax.set_ylim(-4, 3.5)
ax.legend(loc="lower right", fontsize=8)
plotting.label(ax, "time from the trial's start (s)", "integrated value (a.u.)", "The generator forgets what the integrator holds")
ax = fig.add_subplot(1, 3, 3)
ax.semilogy(np.arange(1, N_AFTER) * lfads_test.bin_size, speed["integrator"], color=COLORS["model"], label="integrator data (40 ms bins)")
ax.semilogy(np.arange(1, 2000) * chaos["test"].bin_size, speed["chaotic"], color=OKABE_ITO[4], label="chaotic data (10 ms bins)")
ax.legend(fontsize=8)
plotting.label(ax, "time after the trial's end (s)", "median |g_t+1 - g_t| (per bin)", "One generator settles, one never does")
plotting.show(fig)

# %% [markdown]
# Over one trial the generator keeps most of the value, nearly as the integrator does, and the
# inferred input can make up the rest: that is all the data asked of it, for each trial lasts
# 25 bins. Beyond that it forgets, into one stable point, through a cluster of slow modes with
# time constants up to about two seconds, rather than along one mode at exactly 1. Yet both
# account for the same spikes. An LFADS generator's fixed points speak about time scales longer
# than the trials and about states the trials never visit (this one lies well away from them),
# where the data constrain it little; what the data do pin down is the flow over a trial's
# length near the visited states. Compare the time constants with the trial's length, and check
# that the points lie where the states go. The chaotic data's generator, by contrast, never
# settles, as the network it models never does.
#
# **Think**: the generator had to hold the value for 25 bins only, with the controller free to
# nudge it at every bin. Had the trials been four times longer, or the input prior made inputs
# costlier (a smaller prior variance), what would you expect it to learn, and which numbers of
# this section would show it?

# %% [markdown]
# ## 6. Explorer: how slow is slow? (10 min)
# The finder keeps points by their speed $q$. Fixed points have $q$ at float32 round-off; slow
# points, with larger $q$, are where the dynamics crawl. Choose a network and slide the
# tolerance to see which points survive, where they sit, and their eigenvalue spectra. The
# first figure is the explorer at its strictest useful setting, drawn as a plain figure so that
# it shows without a live kernel; the widget under it is live when you run the notebook.

# %%
explorer_data = {"integrator": (line, int_hidden), "context 1": (ctx_fps[0], ctx_hidden[ctx_contexts == 0]),
                 "context 2": (ctx_fps[1], ctx_hidden[ctx_contexts == 1])}
explorer_pca = {name: fixed_points.fit_pca(states, 2) for name, (_, states) in explorer_data.items()}
circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))


def show_tolerance(network="integrator", log10_q=-10.0):
    fps, _ = explorer_data[network]
    mean, axes_pca = explorer_pca[network]
    keep = fps.qstar <= 10.0 ** log10_q
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    projected = (fps.xstar - mean) @ axes_pca.T
    axes[0].plot(projected[~keep, 0], projected[~keep, 1], "o", ms=4, color="0.85", label="q above the tolerance")
    for stable in (True, False):
        pick = keep & (fps.is_stable == stable)
        axes[0].plot(projected[pick, 0], projected[pick, 1], "o", ms=5, mfc=COLORS["stable"] if stable else "white",
                     color=COLORS["stable" if stable else "unstable"], label="stable" if stable else "unstable")
    axes[0].legend(fontsize=8)
    plotting.label(axes[0], "PC 1 (a.u.)", "PC 2 (a.u.)", f"{network}: {keep.sum()} of {len(fps)} points have q ≤ 1e{log10_q:.0f}")
    axes[1].plot(circle.real, circle.imag, color="0.6", lw=1)
    eig = fps.eigval_J_xstar[keep].ravel()
    axes[1].plot(eig.real, eig.imag, ".", ms=3, color=COLORS["model"])
    axes[1].set_aspect("equal")
    largest = np.abs(eig).max() if eig.size else np.nan
    plotting.label(axes[1], "Re λ (per step)", "Im λ (per step)", f"Their eigenvalues: the largest |λ| is {largest:.3f}")
    plotting.show(fig)


show_tolerance("integrator", -12.0)
n_exact = int(np.sum(line.qstar <= 1e-12))
print(f"{n_exact} of the integrator's {len(line)} points are fixed points to round-off (q <= 1e-12); the other "
      f"{len(line) - n_exact} are slow points, with q up to {line.qstar.max():.0e}")
assert 1 <= n_exact <= len(line) // 4, "a few exact fixed points, joined by slow points"

# %% [markdown]
# A trained network's line attractor is seldom a line of exact fixed points: a few of them,
# joined by slow points where the state creeps (section 3 measured how little). Slide the
# tolerance up and the line fills in; for the context networks, compare the two lines.

# %%
widgets.interact(show_tolerance, network=widgets.Dropdown(options=list(explorer_data)),
                 log10_q=widgets.FloatSlider(value=-10, min=-16, max=-3, step=1, description="log10 q"));

# %% [markdown]
# ## Summary
#
# * Fixed points of a map $F$ are the zeros of $q(h) = \tfrac12\lVert h - F(h)\rVert^2$; descending
#   $q$ from states the network visits finds them, saddles included, which simulation never would.
# * The eigenvalues of the Jacobian classify them: stable inside the unit circle, and the
#   eigenvectors of the others point where activity leaves.
# * The 3-bit flip-flop stores its 8 memories as 8 stable fixed points at the corners of a cube,
#   with 19 saddles on its edges, faces and centre; each edge saddle separates two memories one
#   bit apart.
# * The integrator holds its running sum on a line of fixed points with eigenvalue 1; the left
#   eigenvector, not the input weights, decides what is integrated, with unit gain.
# * In context-dependent integration, both inputs reach the network in both contexts; the context
#   rotates the line attractor's left eigenvector so that only the cued input is integrated.
# * The LFADS generator fitted to the integrator's spikes holds the value over a trial's length
#   but, left alone, runs into one stable point instead of stopping along a line: over longer
#   times, which the data never showed it, it forgets. The chaotic data's generator never settles.
# * Check the result: a task can be solved without the fixed points you expect, a "line" of
#   fixed points is in practice a few fixed points joined by slow points, and the slowest points
#   the finder reports for a GRU can lie where the GRU can never go.
#
# **Further reading**
# * Sussillo & Barak (2013), Opening the black box: low-dimensional dynamics in high-dimensional
#   recurrent neural networks, *Neural Computation* 25(3): the method, the flip-flop and more.
# * Golub & Sussillo (2018), FixedPointFinder, *JOSS*: the tool whose options our finder mirrors.
# * Mante, Sussillo, Shenoy & Newsome (2013), Context-dependent computation by recurrent dynamics
#   in prefrontal cortex, *Nature* 503: the selection vector.
# * Brody, Romo & Kepecs (2003), Basic mechanisms for graded persistent activity: line attractors.
# * Maheswaranathan, Williams, Golub, Ganguli & Sussillo (2019), Reverse engineering recurrent
#   networks for sentiment classification reveals line attractor dynamics, *NeurIPS*.
# * Pandarinath et al. (2018), Inferring single-trial neural population dynamics using
#   sequential auto-encoders, *Nature Methods* 15: LFADS, whose generator section 5 dissects.
