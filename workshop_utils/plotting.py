"""One plotting style for the series: modest image sizes, labelled axes, stable colours."""

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe-Ito palette (colour-blind safe). The same thing keeps the same colour everywhere.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
COLORS = {
    "true": "#000000",       # ground truth
    "model": "#0072B2",      # what the trained model infers or predicts
    "baseline": "#E69F00",   # simple baselines (smoothing, PCA, ...)
    "input": "#009E73",      # inputs to a network
    "stable": "#0072B2",     # stable fixed points
    "unstable": "#D55E00",   # unstable fixed points
    "train": "#56B4E9",
    "validation": "#CC79A7",
}

STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 80,             # inline images stay small in the committed notebooks
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "axes.prop_cycle": mpl.cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "image.cmap": "viridis",
}


def use_style():
    """Apply the series style to Matplotlib (call once, after the imports)."""
    mpl.rcParams.update(STYLE)


def label(ax, xlabel, ylabel, title=None):
    """Label an axis in one line; every figure in the series has units on its axes."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


def show(fig=None):
    """Draw the figure now (inline backends) and release it, so repeated redraws do not stack."""
    plt.show()
    if fig is not None:
        plt.close(fig)
