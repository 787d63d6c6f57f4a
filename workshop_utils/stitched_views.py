"""Notebook 05's views of stitched LFADS: every session's posterior, the stitching diagram, reaches.

- `stitching_diagram(trials)`: sessions with different neurons -> a read-in each -> one
  shared LFADS core -> shared factors -> a readout each, drawn with one raster per session.
- `hand_positions(velocity, bin_size)`: hand position (cm) from velocity (cm/s), the way the
  LFADS paper draws decoded reaches.
- `plot_reaches(ax, positions, conditions)`: one line per trial, coloured by condition.
- `reach_panels(panels, conditions)`: one panel per method, true against decoded reaches.

Colours are the series' (`plotting.OKABE_ITO`); conditions take them in order.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .plotting import COLORS, OKABE_ITO

SHARED_COLOR = "#999999"     # the shared core: grey, no session's colour


def hand_positions(velocity, bin_size):
    """(trials, time, dims) hand position in cm, the running sum of velocity (cm/s) x bin_size.

    Position 0 at the start of every trial; bins where the velocity is NaN (a lagged
    decoder's first bins) count as a still hand.
    """
    v = np.asarray(velocity, float)
    if v.ndim != 3 or 0 in v.shape:
        raise ValueError(f"velocity must be a non-empty array (trials, time, dims), got shape {v.shape}")
    if isinstance(bin_size, bool) or not (np.isscalar(bin_size) and np.isfinite(bin_size) and bin_size > 0):
        raise ValueError(f"bin_size must be a positive number of seconds, got {bin_size!r}")
    if np.any(np.isinf(v)):
        raise ValueError("velocity contains inf")
    return np.cumsum(np.nan_to_num(v, nan=0.0), axis=1) * bin_size


def condition_colors(conditions):
    """One colour per trial: condition c gets OKABE_ITO[index of c among the sorted labels]."""
    conditions = np.asarray(conditions)
    labels = np.unique(conditions)
    if len(labels) > len(OKABE_ITO):
        raise ValueError(f"{len(labels)} conditions but only {len(OKABE_ITO)} colours in the palette")
    return [OKABE_ITO[int(np.searchsorted(labels, c))] for c in conditions]


def plot_reaches(ax, positions, conditions, title=None, lw=0.8, alpha=0.8):
    """Draw (trials, time, 2) positions (cm) on `ax`, one line per trial coloured by condition."""
    positions = np.asarray(positions, float)
    if positions.ndim != 3 or positions.shape[2] != 2:
        raise ValueError(f"positions must be (trials, time, 2) in cm, got shape {positions.shape}")
    colors = condition_colors(conditions)
    if len(colors) != positions.shape[0]:
        raise ValueError(f"conditions has {len(colors)} labels but positions {positions.shape[0]} trials")
    for trace, color in zip(positions, colors):
        ax.plot(trace[:, 0], trace[:, 1], color=color, lw=lw, alpha=alpha)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("hand x (cm)")
    ax.set_ylabel("hand y (cm)")
    if title is not None:
        ax.set_title(title, fontsize=10)
    return ax


def reach_panels(panels, conditions, suptitle=None, size=2.6):
    """One panel per entry of `panels` ({title: (trials, time, 2) positions in cm}), the
    same axis limits in all; returns the figure."""
    if not panels:
        raise ValueError("panels is empty: give at least one {title: positions}")
    fig, axes = plt.subplots(1, len(panels), figsize=(size * len(panels), size + 0.4), sharex=True,
                             sharey=True, squeeze=False)
    for ax, (title, positions) in zip(axes[0], panels.items()):
        plot_reaches(ax, positions, conditions, title)
    for ax in axes[0, 1:]:
        ax.set_ylabel(None)
    if suptitle:
        fig.suptitle(suptitle, fontsize=11)
    return fig


def stitching_diagram(trials, session_ids=None, n_factors=16, read_in_dim=16, controller=False):
    """The stitching idea in one picture; returns the figure.

    `trials`: one trial's spikes (time, neurons_s) for each session drawn (2 to 4 of them;
    their neuron counts may differ). `session_ids` labels them (default 0, 1, ...).
    `controller`: draw the core with a controller (inferred inputs), as a model with
    `n_inputs > 0` has.
    """
    if not isinstance(trials, (list, tuple)) or not 2 <= len(trials) <= 4:
        raise ValueError(f"trials must be a list of 2 to 4 (time, neurons) arrays, got "
                         f"{type(trials).__name__} of length {len(trials) if hasattr(trials, '__len__') else '?'}")
    trials = [np.asarray(t) for t in trials]
    for i, t in enumerate(trials):
        if t.ndim != 2 or 0 in t.shape:
            raise ValueError(f"trials[{i}] must be one trial's spikes (time, neurons), got shape {t.shape}")
    session_ids = list(range(len(trials))) if session_ids is None else list(session_ids)
    if len(session_ids) != len(trials):
        raise ValueError(f"session_ids has {len(session_ids)} labels for {len(trials)} trials")

    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.set_xlim(0, 11)
    ax.set_ylim(0, 4.4)
    ax.axis("off")
    rows = np.linspace(3.55, 0.55, len(trials))
    height = min(0.9, 3.2 / len(trials))
    most = max(t.shape[1] for t in trials)

    def box(x, y, w, h, text, color, fontsize=9, fill=0.18):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04",
                                    facecolor=_tint(color, fill), edgecolor=color, lw=1.5))
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)

    def arrow(x0, y0, x1, y1, color):
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=11,
                                     color=color, lw=1.2, shrinkA=2, shrinkB=2))

    core_y, core_h = 2.05, 2.6
    for y, spikes, s, color in zip(rows, trials, session_ids, OKABE_ITO):
        h = height * spikes.shape[1] / most                       # raster height ~ neuron count
        ax.imshow(spikes.T > 0, cmap="Greys", aspect="auto", interpolation="nearest",
                  extent=(0.1, 1.5, y - h / 2, y + h / 2), vmin=0, vmax=1)
        ax.text(0.8, y + h / 2 + 0.04, f"session {s}: {spikes.shape[1]} neurons", ha="center",
                va="bottom", fontsize=8, color=color)
        box(2.45, y, 1.1, 0.42, f"read-in $W^{{({s})}}_{{in}}$\n{spikes.shape[1]}→{read_in_dim}", color,
            fontsize=8)
        arrow(1.55, y, 1.88, y, color)
        arrow(3.02, y, 3.55, core_y + (y - core_y) * 0.6, color)
        box(8.55, y, 1.1, 0.42, f"readout $W^{{({s})}}_{{out}}$\n{n_factors}→{spikes.shape[1]}", color,
            fontsize=8)
        arrow(7.0, core_y + (y - core_y) * 0.3, 7.98, y, color)
        ax.text(10.05, y, f"rates of\nsession {s}\n(Poisson)", ha="center", va="center", fontsize=8,
                color=color)
        arrow(9.12, y, 9.6, y, color)
    core = "shared LFADS core\n\nencoder (bi-GRU)\n↓\ninitial state $g_0$\n↓\ngenerator GRU"
    if controller:
        core += "\n+ controller (inputs $u_t$)"
    box(4.75, core_y, 2.2, core_h, core, SHARED_COLOR, fontsize=9, fill=0.25)
    box(6.55, core_y, 0.75, 1.2, f"factors\n$f_t$\n({n_factors})", COLORS["model"], fontsize=9)
    arrow(5.86, core_y, 6.17, core_y, SHARED_COLOR)
    ax.text(5.5, 4.3, "one dynamical model for every session; only the maps in and out are per session",
            ha="center", va="top", fontsize=10)
    return fig


def _tint(color, amount):
    """`color` mixed with white: amount 1 is the colour itself, 0 is white."""
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return tuple(1 - amount * (1 - rgb))
