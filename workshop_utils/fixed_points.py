"""Fixed and slow points of a discrete-time map F: the minima of q(h) = 1/2 ||h - F(h)||^2.

Sussillo & Barak 2013's method, with the options of FixedPointFinder (Golub & Sussillo 2018).
Every candidate descends q with Adam at its own adaptive learning rate, all of them at once in
one compiled loop. Points far from where the candidates started are dropped, duplicates are
merged, Newton steps polish each unique point to float32 round-off, and each point's Jacobian
is decomposed: stable when every eigenvalue lies inside the unit circle, and the eigenvectors
of the others say along which directions activity leaves them.
"""

import dataclasses
import functools
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from . import checkpoint, plotting, runtime

FORMAT = "workshop_utils.fixed_points/1"


@dataclasses.dataclass(eq=False)
class Candidates:
    """Every candidate before outliers were dropped and duplicates merged, in the order given.

    `assigned[i]` is the row of the returned fixed points that candidate i merged into, or -1
    when it was dropped (an outlier, a non-finite q, or beyond `max_n_unique`).
    """
    initial_states: np.ndarray  # (n, d), noise included
    xstar: np.ndarray           # (n, d)
    qstar: np.ndarray           # (n,)
    n_iters: np.ndarray         # (n,) Adam iterations until the candidate stopped
    is_outlier: np.ndarray      # (n,) bool
    assigned: np.ndarray        # (n,) int


@dataclasses.dataclass(eq=False)
class FixedPoints:
    """k fixed (or slow) points of a map, sorted by q ascending, with their linearisations.

    The discrete map near x* is F(x* + dx, u* + du) ~ x* + J dx + dF_du du; x* is stable when
    every eigenvalue of J lies strictly inside the unit circle. Eigenvalues are sorted by
    magnitude, largest first; column j of `eigvec_J_xstar` is the right eigenvector of
    eigenvalue j and column j of `left_eigvec_J_xstar` the left one (l_j^H J = lambda_j l_j^H),
    scaled so that left^H right = I.
    """
    xstar: np.ndarray                 # (k, d)
    qstar: np.ndarray                 # (k,)
    n_iters: np.ndarray               # (k,)
    inputs: np.ndarray | None         # (k, m), or None for a map without input
    J_xstar: np.ndarray               # (k, d, d)
    dF_du: np.ndarray | None          # (k, d, m), or None
    eigval_J_xstar: np.ndarray        # (k, d) complex
    eigvec_J_xstar: np.ndarray        # (k, d, d) complex
    left_eigvec_J_xstar: np.ndarray   # (k, d, d) complex
    all_points: Candidates | None = None

    @property
    def is_stable(self):
        """(k,) bool: every eigenvalue of J strictly inside the unit circle."""
        return np.all(np.abs(self.eigval_J_xstar) < 1.0, axis=1)

    @property
    def n_unstable_modes(self):
        """(k,) int: how many eigenvalues lie outside the unit circle (|lambda| > 1)."""
        return np.sum(np.abs(self.eigval_J_xstar) > 1.0, axis=1)

    def __len__(self):
        return len(self.qstar)

    def __getitem__(self, index):
        """A subset, e.g. `fps[fps.is_stable]` or `fps[:3]` (without `all_points`)."""
        index = np.arange(len(self))[index]  # a mask, a slice or integers; always keeps the axis
        pick = lambda a: None if a is None else a[index]
        fields = {f.name: pick(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "all_points"}
        return FixedPoints(**fields)

    def counts(self):
        """How many points: unique, stable, unstable, and unstable by number of unstable modes."""
        modes = self.n_unstable_modes[~self.is_stable]
        return {"unique": len(self), "stable": int(self.is_stable.sum()), "unstable": int((~self.is_stable).sum()),
                "unstable_by_modes": {int(n): int((modes == n).sum()) for n in np.unique(modes)}}

    def __repr__(self):
        c = self.counts()
        by_modes = ", ".join(f"{v} with {k}" for k, v in c["unstable_by_modes"].items())
        q = f", q from {self.qstar.min():.1e} to {self.qstar.max():.1e}" if len(self) else ""
        return (f"FixedPoints({c['unique']} points, dimension {self.xstar.shape[1]}: {c['stable']} stable, "
                f"{c['unstable']} unstable" + (f" ({by_modes} unstable modes)" if by_modes else "") + f"{q})")

    def save(self, path, **metadata):
        """Write to `path` (.npz + .json sidecar with a checksum) via workshop_utils.checkpoint."""
        tree = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name != "all_points" and getattr(self, f.name) is not None}
        if self.all_points is not None:
            tree["all_points"] = dataclasses.asdict(self.all_points)
        return checkpoint.save(path, tree, {"format": FORMAT, **metadata})

    @classmethod
    def load(cls, path):
        """Read what `save` wrote; returns the FixedPoints (metadata is in the .json sidecar)."""
        tree, metadata = checkpoint.load(path)
        if metadata.get("format") != FORMAT:
            raise checkpoint.CheckpointError(f"{path} holds {metadata.get('format')!r}, not fixed points ({FORMAT!r}).")
        all_points = tree.pop("all_points", None)
        fields = {f.name: tree.get(f.name) for f in dataclasses.fields(cls) if f.name != "all_points"}
        return cls(**fields, all_points=None if all_points is None else Candidates(**all_points))


def find_fixed_points(F, initial_states, inputs=None, *, key=None, noise_scale=0.0,
                      tol_q=1e-12, tol_dq=1e-20, max_iters=5000, patience=100,
                      learning_rate="adaptive", lr_init=1.0, lr_grow=1.05, lr_shrink=0.9, lr_min=1e-5,
                      adam_betas=(0.7, 0.999), adam_eps=1e-8, newton_steps=3, newton_max_step=0.1,
                      outlier_distance_scale=10.0, tol_unique=1e-3, max_n_unique=None):
    """Find the fixed points of `F` near `initial_states`; returns a `FixedPoints`.

    F:              maps one state (d,) to the next, `F(h)`; with `inputs`, `F(h, u)`. Pass a
                    `jax.tree_util.Partial` (e.g. `Partial(step, params)`) to reuse the compiled
                    code for new parameters; any other function compiles once per function object.
    initial_states: (n, d) candidates, e.g. states sampled along trajectories (`sample_states`).
    inputs:         the constant input held during the search: (m,) shared by all candidates,
                    or (n, m), one per candidate.
    key, noise_scale: Gaussian noise of this standard deviation is added to the candidates.

    The descent stops for each candidate when q < tol_q, when q changes by less than tol_dq in
    one iteration, when its lowest q has not halved for `patience` iterations (it sits at float32
    round-off, or crawls along a slow region; None: never), or after max_iters iterations.
    learning_rate:  "adaptive": each candidate's rate starts at lr_init and is multiplied by
                    lr_grow after an iteration that lowered its q and by lr_shrink after one that
                    raised it, never below lr_min; or a number; or a schedule `lr(iteration)`.
                    Adam's first step moves every coordinate by about the rate: for states of
                    many units, start lower (lr_init 0.1-0.3) to keep candidates near their start.
    adam_betas:     Adam's moment decays; less momentum than the usual 0.9 makes q oscillate
                    less near a minimum (2-3 times fewer iterations on the flip-flop and a GRU).
    newton_steps:   Newton steps, solving (I - J) dx = -(h - F(h)), that polish each unique
                    point; a step is kept only if it lowers q and is shorter than newton_max_step
                    (so a slow point does not leap to a far fixed point).
    outlier_distance_scale: drop points further from the candidates' centroid than this
                    times the candidates' mean distance from it (None keeps all).
    tol_unique:     points (state and input together) closer than this are one point; the one
                    with the lowest q is kept. The descent must bring duplicates closer than
                    this, so keep tol_q small (a loose tol_q leaves many near-duplicates).
    max_n_unique:   keep only this many unique points, those with the lowest q (the slowest).

    `result.all_points` holds every candidate as the descent left it (before the outliers were
    dropped, the duplicates merged and the unique points polished) and where it went.
    """
    x0, u = _validate(F, initial_states, inputs)
    if noise_scale and key is None:
        raise ValueError(f"noise_scale={noise_scale} needs a PRNG key: pass key=jax.random.key(...)")
    if noise_scale < 0:
        raise ValueError(f"noise_scale is a standard deviation, so it must be >= 0; got {noise_scale}")
    if tol_unique < 0:
        raise ValueError(f"tol_unique must be >= 0, got {tol_unique}")
    if max_n_unique is not None and max_n_unique < 1:
        raise ValueError(f"max_n_unique must be a positive integer or None, got {max_n_unique!r}")
    if max_iters < 1:
        raise ValueError(f"max_iters must be a positive integer, got {max_iters!r}")
    schedule, settings = _learning_rate(learning_rate, lr_init, lr_grow, lr_shrink, lr_min)
    settings.update(tol_q=tol_q, tol_dq=tol_dq, max_iters=max_iters, adam_eps=adam_eps, beta1=adam_betas[0],
                    beta2=adam_betas[1], patience=max_iters if patience is None else patience)
    settings = {k: np.asarray(v, np.int32 if k in ("max_iters", "patience") else np.float32) for k, v in settings.items()}
    Fu = _with_input(F) if inputs is None else F
    Fu = Fu if isinstance(Fu, Partial) else Partial(Fu)

    if noise_scale:
        x0 = x0 + noise_scale * np.asarray(jax.random.normal(key, x0.shape, x0.dtype))
    x, q, n_iters = _descend(Fu, x0, u, settings, schedule=schedule)
    x, q, n_iters = (np.asarray(a) for a in (x, q, n_iters))
    centroid = x0.mean(axis=0)
    spread = np.linalg.norm(x0 - centroid, axis=1).mean()
    is_outlier = ~np.isfinite(q)
    if outlier_distance_scale is not None and spread > 0:  # (candidates all in one place: none is far)
        is_outlier |= np.linalg.norm(x - centroid, axis=1) > outlier_distance_scale * spread
    keep, assigned = _unique(np.hstack([x, u]), q, ~is_outlier, tol_unique)

    # Polish the unique points only (duplicates would converge to the same place), then
    # merge again: two points that the descent left apart may meet once polished.
    xk, qk, J, dF_du = _polish(Fu, x[keep], u[keep], int(newton_steps), newton_max_step)
    again, moved = _unique(np.hstack([xk, u[keep]]), qk, np.ones(len(keep), bool), tol_unique)
    assigned = np.where(assigned >= 0, moved[np.maximum(assigned, 0)], -1) if len(keep) else assigned
    if max_n_unique is not None and len(again) > max_n_unique:
        again = again[:max_n_unique]
        assigned[assigned >= max_n_unique] = -1
    candidates = Candidates(x0, x, q, n_iters, is_outlier, assigned)
    has_input = inputs is not None
    return _decompose(xk[again], qk[again], n_iters[keep][again], u[keep][again] if has_input else None,
                      J[again], dF_du[again] if has_input else None, candidates)


def sample_states(key, states, n_states):
    """`n_states` rows drawn at random (without replacement when there are enough) from states
    of shape (..., d), e.g. hidden states (trials, time, d) along trajectories: (n_states, d)."""
    states = jnp.asarray(states)
    if states.ndim < 2:
        raise ValueError(f"states must be (..., state size), e.g. (trials, time, d); got shape {states.shape}")
    flat = states.reshape(-1, states.shape[-1])
    rows = jax.random.choice(key, flat.shape[0], (n_states,), replace=n_states > flat.shape[0])
    return flat[rows]


def fit_pca(states, n_components=3):
    """The mean and the top principal axes of states (..., d): `(mean (d,), axes (n, d))`."""
    flat = np.asarray(states, float).reshape(-1, np.shape(states)[-1])
    mean = flat.mean(axis=0)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    return mean, vt[:n_components]


def plot_fixed_points(ax, fps, trajectories=None, pca=None, mode_length=None, max_trajectories=30):
    """Trajectories and fixed points in a 3-D PCA view (`ax` from `projection="3d"`).

    Stable points are filled circles, unstable ones crosses, each in its stable colour; a
    short line through each unstable point follows each unstable mode (the real part of its
    eigenvector). `pca` is `(mean, axes)` from `fit_pca`; by default it is fitted to the
    trajectories (or to the points when there are none). Returns `pca`, to reuse.
    """
    xstar = np.asarray(fps.xstar, float)
    if pca is None:
        pca = fit_pca(trajectories if trajectories is not None else xstar)
    mean, axes = pca

    def project(x):  # onto the principal axes; zeros for missing axes when d < 3
        p = (np.asarray(x, float) - mean) @ axes.T
        return np.pad(p, ((0, 0), (0, 3 - p.shape[1])))

    if trajectories is not None:
        trajectories = np.asarray(trajectories, float)
        trajectories = trajectories[None] if trajectories.ndim == 2 else trajectories
        for trial in trajectories[:max_trajectories]:
            ax.plot(*project(trial).T, color="0.6", lw=0.6, alpha=0.6)
    if mode_length is None:  # a tenth of the size of what is drawn
        cloud = xstar if trajectories is None else trajectories.reshape(-1, xstar.shape[1])
        mode_length = 0.1 * max(np.ptp(project(cloud), axis=0).max(), 1e-6)
    stable = fps.is_stable
    ax.scatter(*project(xstar[stable]).T, color=plotting.COLORS["stable"], s=40, depthshade=False,
               label=f"stable ({stable.sum()})")
    ax.scatter(*project(xstar[~stable]).T, color=plotting.COLORS["unstable"], marker="x", s=40,
               depthshade=False, label=f"unstable ({(~stable).sum()})")
    for i in np.flatnonzero(~stable):
        for j in np.flatnonzero(np.abs(fps.eigval_J_xstar[i]) > 1.0):
            v = np.real(fps.eigvec_J_xstar[i][:, j])
            v = v / max(np.linalg.norm(v), 1e-12)
            ends = project(np.stack([xstar[i] - mode_length * v, xstar[i] + mode_length * v]))
            ax.plot(*ends.T, color=plotting.COLORS["unstable"], lw=1.2)
    ax.set_xlabel("PC 1 (a.u.)")
    ax.set_ylabel("PC 2 (a.u.)")
    ax.set_zlabel("PC 3 (a.u.)")
    if not ax.get_title():
        ax.set_title(f"{stable.sum()} stable and {(~stable).sum()} unstable fixed points")
    ax.legend(loc="upper left")
    return pca


# ---------------------------------------------------------------------------------------------
# Helpers


def _validate(F, initial_states, inputs):
    """Check shapes and values; return float32 NumPy `(x0 (n, d), u (n, m))`, m = 0 without inputs.

    (NumPy, not jax.numpy: each small jax.numpy operation here would be one more compilation.)
    """
    if not callable(F):
        raise ValueError(f"F must be a function from a state (d,) to the next state, got {type(F).__name__}")
    x0 = np.asarray(initial_states, np.float32)
    if x0.ndim != 2 or x0.shape[0] < 1:
        raise ValueError(f"initial_states must be 2-D, (n_candidates, state size), with at least one "
                         f"candidate; got shape {x0.shape}")
    n, d = x0.shape
    bad = np.flatnonzero(~np.all(np.isfinite(x0), axis=1))
    if bad.size:
        raise ValueError(f"initial_states has NaN or inf in {bad.size} of {n} candidates "
                         f"(rows {bad[:5].tolist()}{'...' if bad.size > 5 else ''}); expected finite states")
    if inputs is None:
        u = np.zeros((n, 0), np.float32)
    else:
        u = np.asarray(inputs, np.float32)
        u = u[None] if u.ndim == 1 else u
        if u.ndim != 2:
            raise ValueError(f"inputs must be one input (m,) or one per candidate (n, m); got shape {u.shape}")
        if u.shape[0] not in (1, n):
            raise ValueError(f"inputs has {u.shape[0]} rows but there are {n} candidates; expected 1 row "
                             f"(one input for all) or {n} (one per candidate)")
        if not np.all(np.isfinite(u)):
            raise ValueError("inputs has NaN or inf; expected finite inputs")
        u = np.ascontiguousarray(np.broadcast_to(u, (n, u.shape[1])))
    m = u.shape[1]
    call = "F(h)" if inputs is None else "F(h, u)"
    args = [jax.ShapeDtypeStruct((d,), np.float32)] + ([] if inputs is None else [jax.ShapeDtypeStruct((m,), np.float32)])
    try:
        out = jax.eval_shape(F, *args)
    except Exception as err:  # the message of a shape clash inside F, with our context
        raise ValueError(f"{call} fails for a state of shape ({d},) from initial_states"
                         + ("" if inputs is None else f" and an input of shape ({m},)")
                         + f": is the state size right? ({type(err).__name__}: {err})") from None
    if getattr(out, "shape", None) != (d,):
        raise ValueError(f"{call} returned shape {getattr(out, 'shape', type(out).__name__)} for a state of "
                         f"shape ({d},); a map whose fixed points we seek must return the state's shape")
    return x0, u


def _learning_rate(learning_rate, lr_init, lr_grow, lr_shrink, lr_min):
    """The static schedule (None when adaptive or constant) and the numbers that go in jit."""
    if isinstance(learning_rate, str):
        if learning_rate != "adaptive":
            raise ValueError(f"learning_rate must be 'adaptive', a number or a schedule lr(iteration); "
                             f"got {learning_rate!r}")
        if not (lr_init > 0 and lr_grow >= 1 and 0 < lr_shrink < 1 and lr_min > 0):
            raise ValueError(f"the adaptive rate needs lr_init > 0, lr_grow >= 1, 0 < lr_shrink < 1 and "
                             f"lr_min > 0; got {lr_init}, {lr_grow}, {lr_shrink} and {lr_min}")
        return None, dict(lr_init=lr_init, lr_grow=lr_grow, lr_shrink=lr_shrink, lr_min=lr_min)
    if callable(learning_rate):
        return learning_rate, dict(lr_init=0.0, lr_grow=1.0, lr_shrink=1.0, lr_min=0.0)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    return None, dict(lr_init=learning_rate, lr_grow=1.0, lr_shrink=1.0, lr_min=0.0)


def _with_input(F):
    """F(h) as a map F(h, u) that ignores u, so that one code path serves both."""
    return Partial(_ignore_input, F if isinstance(F, Partial) else Partial(F))


def _ignore_input(F, h, u):
    return F(h)


def _q(F, h, u):
    r = h - F(h, u)
    return 0.5 * jnp.vdot(r, r)


# On a CPU, LLVM optimisation level 1 instead of the default: for these small kernels that
# halves the compile time and does not slow them down.
_cpu_friendly_jit = functools.partial(runtime.cpu_jit, cpu_options={"xla_backend_optimization_level": 1})


@_cpu_friendly_jit(static_argnames=("schedule",))
def _descend(F, x0, u, s, schedule):
    """Adam on q for all candidates at once, in one compiled loop. Returns `(x, q, n_iters)`.

    Per candidate: n_iters is -1 while it runs and the iteration at which it stopped after.
    """
    q_and_grad = jax.vmap(jax.value_and_grad(_q, argnums=1), (None, 0, 0))
    b1, b2 = s["beta1"], s["beta2"]

    def step(state):
        i, x, m, v, lr, q_prev, best, halved_at, n_iters = state
        q, g = q_and_grad(F, x, u)
        halved_at = jnp.where(q < 0.5 * best, i, halved_at)
        best = jnp.minimum(best, q)
        stop = (n_iters < 0) & ((q < s["tol_q"]) | (jnp.abs(q_prev - q) < s["tol_dq"])
                                | (i - halved_at >= s["patience"]))
        n_iters = jnp.where(stop, i, n_iters)
        # Each candidate's rate follows its own progress: bolder while q falls, careful once it rises.
        lr = jnp.where(q < q_prev, lr * s["lr_grow"], jnp.maximum(lr * s["lr_shrink"], s["lr_min"]))
        rate = lr if schedule is None else jnp.full_like(lr, schedule(i))
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        t = (i + 1).astype(x.dtype)
        adam = (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + s["adam_eps"])
        x = jnp.where(n_iters[:, None] < 0, x - rate[:, None] * adam, x)
        return i + 1, x, m, v, lr, q, best, halved_at, n_iters

    n = x0.shape[0]
    zeros, inf = jnp.zeros_like(x0), jnp.full(n, jnp.inf)
    state = (jnp.int32(0), x0, zeros, zeros, jnp.full(n, s["lr_init"]), inf, inf, jnp.zeros(n, jnp.int32),
             jnp.full(n, -1))
    cond = lambda state: (state[0] < s["max_iters"]) & jnp.any(state[-1] < 0)
    i, x, *_, n_iters = jax.lax.while_loop(cond, step, state)
    return x, jax.vmap(_q, (None, 0, 0))(F, x, u), jnp.where(n_iters < 0, i, n_iters)


def _polish(F, x, u, newton_steps, max_step):
    """Newton steps at each point (solved in float64), then q and the Jacobians there.

    A step is kept where it lowers q and is shorter than max_step, so that a point near no
    fixed point (a slow point) does not leap to a far one. Returns `(x, q, J, dF_du)`.
    """
    r, J, dF_du = _residual_and_jacobians(F, x, u)
    q = 0.5 * np.sum(r.astype(np.float64) ** 2, axis=1)
    eye = np.eye(x.shape[1])
    for _ in range(newton_steps):
        A, b = eye - J.astype(np.float64), -r.astype(np.float64)[..., None]
        try:
            dx = np.linalg.solve(A, b)[..., 0]
        except np.linalg.LinAlgError:  # a singular I - J somewhere: least squares there
            dx = (np.linalg.pinv(A) @ b)[..., 0]
        x_new = (x + dx).astype(x.dtype)
        r_new, J_new, dF_du_new = _residual_and_jacobians(F, x_new, u)
        q_new = 0.5 * np.sum(r_new.astype(np.float64) ** 2, axis=1)
        better = (q_new < q) & (np.linalg.norm(dx, axis=1) <= max_step)
        x, r, q = np.where(better[:, None], x_new, x), np.where(better[:, None], r_new, r), np.where(better, q_new, q)
        J, dF_du = np.where(better[:, None, None], J_new, J), np.where(better[:, None, None], dF_du_new, dF_du)
    return x, q, J, dF_du


def _residual_and_jacobians(F, x, u):
    """h - F(h), dF/dh and dF/du at each point, as NumPy arrays."""
    k = len(x)
    if k == 0:
        d, m = x.shape[1], u.shape[1]
        return np.zeros((0, d), x.dtype), np.zeros((0, d, d), x.dtype), np.zeros((0, d, m), x.dtype)
    bucket = max(8, 1 << (k - 1).bit_length())  # pad to a power of two: few shapes, few compilations
    pad = lambda a: np.concatenate([a, np.repeat(a[-1:], bucket - k, axis=0)])
    return tuple(np.asarray(a)[:k] for a in _linearise(F, pad(x), pad(u)))


@_cpu_friendly_jit
def _linearise(F, x, u):
    def one(x, u):
        J, dF_du = jax.jacfwd(F, argnums=(0, 1))(x, u)
        return x - F(x, u), J, dF_du

    return jax.vmap(one)(x, u)


def _unique(x, q, valid, tol):
    """Greedy merge, lowest q first: every point within `tol` of a kept point joins it.

    Returns `(keep, assigned)`: the kept rows sorted by q, and for every row the position in
    `keep` of the point it joined (-1 for rows that are not valid).
    """
    order = np.flatnonzero(valid)[np.argsort(q[valid], kind="stable")]
    xs = x[order]
    free = np.ones(len(order), bool)
    local = np.full(len(order), -1)
    keep = []
    while free.any():
        i = np.argmax(free)  # the free point with the lowest q
        members = free & (np.sum((xs - xs[i]) ** 2, axis=1) <= tol**2)
        members[i] = True
        local[members] = len(keep)
        free &= ~members
        keep.append(order[i])
    assigned = np.full(len(x), -1)
    assigned[order] = local
    return np.asarray(keep, int), assigned


def _decompose(x, q, n_iters, u, J, dF_du, candidates):
    """Eigendecomposition of each Jacobian (in float64), eigenvalues by magnitude, largest first."""
    eigval, right = np.linalg.eig(J.astype(np.float64))
    order = np.argsort(-np.abs(eigval), axis=1, kind="stable")
    eigval = np.take_along_axis(eigval, order, axis=1).astype(np.complex128)
    right = np.take_along_axis(right, order[:, None, :], axis=2).astype(np.complex128)
    left = np.conj(np.linalg.inv(right)).transpose(0, 2, 1) if len(x) else right  # left^H right = I
    return FixedPoints(x, q, n_iters, u, J, dF_du, eigval, right, left, candidates)
