"""Scores shared across notebooks, each written to its textbook definition."""

import numpy as np


def r_squared(y_true, y_pred):
    """Coefficient of determination over all entries: 1 - SSE / SST.

    SST is taken about the mean of `y_true` over all entries (pooled over trials, time and
    dimensions), so a model must explain variation across time and trials alike.
    """
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}; they must match")
    if y_true.size < 2:
        raise ValueError(f"r_squared needs at least 2 values, got {y_true.size}")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or inf")
    sst = np.sum((y_true - y_true.mean()) ** 2)
    if sst == 0:
        raise ValueError("y_true is constant, so R^2 is undefined")
    return float(1.0 - np.sum((y_true - y_pred) ** 2) / sst)
