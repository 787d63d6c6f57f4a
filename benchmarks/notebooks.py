"""Time every notebook end to end, in fast and in full mode, and print a markdown table.

    python benchmarks/notebooks.py [--notebooks 03 04] [--modes fast full] [--repeat N]

(``./workshop bench`` runs it.) Each run executes a fresh in-memory copy of the solution
notebook with nbclient, in a python3 kernel started in notebooks/ as a learner's would be;
the committed files are never written. The time includes the kernel's start. Fast mode sets
WORKSHOP_FAST=1, full mode removes it. Progress goes to stderr, the table to stdout.
"""

import argparse
import copy
import datetime
import importlib.util
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from workshop_utils import runtime

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location("workshop_notebooks", ROOT / "scripts" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


nbtool = _load_tool()


def load_solution(py: Path):
    """The solution notebook: its .ipynb, or the source itself when it was never synced."""
    import jupytext

    ipynb = py.with_suffix(".ipynb")
    return jupytext.read(ipynb if ipynb.exists() else py)


def time_notebook(nb, notebooks_dir: Path, fast: bool) -> float:
    """Seconds to execute a copy of ``nb`` end to end; raises CellExecutionError on failure."""
    start = time.perf_counter()
    nbtool.run_notebook(copy.deepcopy(nb), notebooks_dir, fast=fast)
    return time.perf_counter() - start


def machine() -> str:
    """CPU model, core count and JAX's backend and device, in one line."""
    cpu = runtime.cpu_model()
    probe = ("import jax; d = jax.devices(); "
             "print(f'JAX {jax.__version__}, backend {jax.default_backend()}, {len(d)} x {d[0].device_kind}')")
    # In a subprocess: JAX in this process would hold GPU memory the kernels need.
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env=nbtool.kernel_env(fast=False))
    jax_line = done.stdout.strip() if done.returncode == 0 else "JAX not importable"
    return f"{cpu}, {os.cpu_count()} cores; {jax_line}"


def _cell(seconds):
    if not seconds:
        return "-"
    if None in seconds:
        return "failed"
    if len(seconds) == 1:
        return f"{seconds[0]:.1f}"
    return f"{statistics.mean(seconds):.1f} ± {statistics.stdev(seconds):.1f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notebooks", nargs="+", metavar="NN", help="numbers like 03 (default: all)")
    parser.add_argument("--modes", nargs="+", choices=["fast", "full"], default=["fast", "full"])
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook and mode (default 1)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)  # to try it on a copy
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError

    try:
        notebooks = nbtool.sources(args.notebooks, args.root)
    except nbtool.NotebookError as error:
        parser.error(str(error))
    times, failed = {}, False
    for py in notebooks:
        nb = load_solution(py)
        for mode in args.modes:
            runs = times.setdefault((py.stem, mode), [])
            for run in range(1, args.repeat + 1):
                print(f"{py.stem}, {mode} mode, run {run}/{args.repeat}...", file=sys.stderr, flush=True)
                start = time.perf_counter()
                try:
                    runs.append(time_notebook(nb, py.parent, fast=mode == "fast"))
                    print(f"  {runs[-1]:.1f} s", file=sys.stderr, flush=True)
                except CellExecutionError as error:
                    print(f"error: {py.stem} failed in {mode} mode after {time.perf_counter() - start:.1f} s:\n"
                          f"{nbtool.plain(error)}", file=sys.stderr)
                    runs.append(None)
                    failed = True
                    break

    names = list(dict.fromkeys(name for name, _ in times))
    print("| notebook | " + " | ".join(f"{mode} (s)" for mode in args.modes) + " |")
    print("|---|" + "---:|" * len(args.modes))
    for name in names:
        print(f"| {name} | " + " | ".join(_cell(times[name, mode]) for mode in args.modes) + " |")
    print()
    command = shlex.join(["python", sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    print(f"Machine: {machine()}. Date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}. "
          f"Repeats: {args.repeat}. Command: `{command}`")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
