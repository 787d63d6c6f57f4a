"""Self-checks for the exercises: "Correct!", or what is wrong and a fallback that works.

In a student notebook an exercise is a stub. The self-check cell right after it runs

    my_function = check_exercise(my_function, reference, cases)

which prints the verdict and returns the learner's function when it is right, and the
reference otherwise, so every later cell still runs.
"""

import numpy as np


def check_exercise(candidate, reference, cases, *, name=None, rtol=1e-5, atol=1e-6):
    """Compare `candidate(*args)` with `reference(*args)` for each `args` in `cases`.

    Outputs may be arrays, numbers or pytrees (tuples, lists, dicts) of them. Prints
    "Correct!" and returns `candidate` when all cases agree within tolerance; otherwise
    prints what is wrong and returns `reference` with a note that later cells use it.
    """
    name = name or getattr(candidate, "__name__", "your function")
    fallback = f"Later cells use the reference solution for {name}, so the notebook still runs."
    for i, args in enumerate(cases):
        args = args if isinstance(args, tuple) else (args,)
        try:
            got = candidate(*args)
        except NotImplementedError:
            print(f"{name} is not written yet (it still raises NotImplementedError). {fallback}")
            return reference
        except Exception as err:  # a learner's bug: say what it was, keep going
            print(f"{name} raised {type(err).__name__}: {err}\n{fallback}")
            return reference
        problem = _difference(got, reference(*args), rtol, atol)
        if problem:
            print(f"Not quite: on test case {i + 1} of {len(cases)}, {problem}.\n{fallback}")
            return reference
    print("Correct!")
    return candidate


def _difference(got, want, rtol, atol, where="the output"):
    """A sentence describing how `got` differs from `want`, or '' when they agree."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or set(got) != set(want):
            return f"{where} should be a dict with keys {sorted(want)}, got {_describe(got)}"
        return next((p for k in want if (p := _difference(got[k], want[k], rtol, atol, f"{where}[{k!r}]"))), "")
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return f"{where} should be a {type(want).__name__} of {len(want)} items, got {_describe(got)}"
        return next((p for k, (g, w) in enumerate(zip(got, want))
                     if (p := _difference(g, w, rtol, atol, f"{where}[{k}]"))), "")
    want = np.asarray(want)
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return f"{where} should be an array or number, got {_describe(got)}"
    if got.shape != want.shape:
        return f"{where} has shape {got.shape}, expected {want.shape}"
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(want)):
        return f"{where} contains NaN or inf"
    if not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want))
        return f"{where} differs from the expected value by up to {err:.3g}"
    return ""


def _describe(x):
    shape = getattr(x, "shape", None)
    return f"{type(x).__name__} with shape {shape}" if shape is not None else f"{type(x).__name__} {x!r}"[:80]
