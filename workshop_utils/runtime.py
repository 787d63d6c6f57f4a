"""Where the notebook runs: versions, device, and Colab's missing packages."""

import ctypes
import functools
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys

from . import mode

# Importable module -> distribution name, for what the notebooks need beyond Colab's stock.
RUNTIME_PACKAGES = {
    "jax": "jax",
    "flax": "flax",
    "optax": "optax",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "tqdm": "tqdm",
    "ipywidgets": "ipywidgets",
    "elephant": "elephant",          # GPFA, the baseline of notebook 05 (brings neo, quantities)
    "sklearn": "scikit-learn",       # Elephant's GPFA needs it
}

NO_GPU_MESSAGE = (
    "No GPU found: running on the CPU. That is fine for this series (every notebook is sized "
    "for a laptop), only slower. On Colab: Runtime -> Change runtime type -> GPU."
)


def on_colab() -> bool:
    return "google.colab" in sys.modules


def missing_packages() -> list:
    """Distribution names of runtime packages that cannot be imported here."""
    return [dist for module, dist in RUNTIME_PACKAGES.items()
            if importlib.util.find_spec(module) is None]


def install_missing_on_colab() -> list:
    """On Colab, pip-install the runtime packages it lacks, pinning its JAX so pip cannot
    upgrade it (an upgraded JAX loses Colab's CUDA build). Elsewhere do nothing.
    Returns what was installed."""
    if not on_colab():
        return []
    missing = missing_packages()
    if missing:
        pins = []
        if "jax" not in missing:
            pins = [f"jax=={importlib.metadata.version('jax')}"]
        print("Installing what Colab lacks:", ", ".join(missing))
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing, *pins], check=True)
    return missing


def versions() -> dict:
    """Installed versions of Python and the runtime packages (None when missing)."""
    found = {"python": platform.python_version()}
    for dist in RUNTIME_PACKAGES.values():
        try:
            found[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            found[dist] = None
    return found


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep the memory it frees, for XLA:CPU's sake.

    XLA:CPU allocates a program's scratch memory on every call (174 MB for an LFADS training
    step) and frees it after. glibc gives a block that large straight back to the kernel, so
    the next call page-faults in tens of thousands of fresh zeroed pages: 40% of the step's
    CPU time. With one arena for all threads, no mmap for large blocks and no trimming, the
    block is reused instead. Returns whether it applied (Linux with glibc; elsewhere a no-op).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # another C library (musl): leave it be
        return False
    M_TRIM_THRESHOLD, M_MMAP_MAX, M_ARENA_MAX = -1, -4, -8
    return all(mallopt(option, value) == 1 for option, value in
               ((M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, 2**31 - 1)))


def use_cpu_cores(n_max=2) -> int:
    """Let JAX see the CPU as one device per core (up to `n_max`), so that LFADS's training
    steps can split each batch across the cores (`data_parallel_mesh`): its time loops are
    chains of small kernels, which a single program runs one at a time on one core.

    Only before JAX has started its backends and if the user set no device count; other
    programs still run on the first device, as before. Returns the number of CPU devices set
    (0 when it left JAX as it was). Measured on 2 cores; more shards are untested.
    """
    import jax

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    n = min(cores, n_max)
    if n < 2 or jax.config.jax_num_cpu_devices != -1 or \
            "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", ""):
        return 0
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError:  # JAX already computed something: leave it
        return 0
    return n


def data_parallel_mesh(batch_size):
    """A one-axis mesh ("batch") over the CPU devices that a batch of `batch_size` splits into
    equally, or None where that is one device (a single CPU device, or a GPU: its one program
    already fills it)."""
    import jax

    if jax.default_backend() != "cpu":
        return None
    n = len(jax.devices())
    while n > 1 and batch_size % n:
        n -= 1
    if n < 2:
        return None
    # Auto: arrays made on the mesh carry no sharding in their types, so the parameters can
    # move back to one device and mix with arrays made there
    return jax.make_mesh((n,), ("batch",), (jax.sharding.AxisType.Auto,), devices=jax.devices()[:n])


def cpu_jit(fun=None, *, cpu_options, **jit_options):
    """`jax.jit`, with the XLA compiler options `cpu_options` when the program runs on a CPU
    (decided at the first call, once JAX knows its backend; other backends keep their
    defaults). Use as `@cpu_jit(cpu_options={...}, static_argnames=...)`."""
    if fun is None:
        return functools.partial(cpu_jit, cpu_options=cpu_options, **jit_options)
    import jax

    jitted = {}

    @functools.wraps(fun)
    def call(*args, **kwargs):
        backend = jax.default_backend()
        if backend not in jitted:
            options = cpu_options if backend == "cpu" else None
            jitted[backend] = jax.jit(fun, compiler_options=options, **jit_options)
        return jitted[backend](*args, **kwargs)

    # what tests ask of a jitted function, over the backends compiled for so far
    call.clear_cache = lambda: [f.clear_cache() for f in jitted.values()]
    call._cache_size = lambda: sum(f._cache_size() for f in jitted.values())
    return call


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), for benchmark reports."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def device_summary() -> dict:
    """JAX's default backend and devices, e.g. {'backend': 'gpu', 'devices': ['cuda:0'], 'gpu': True}."""
    import jax

    devices = jax.devices()
    backend = jax.default_backend()
    return {
        "backend": backend,
        "devices": [f"{d.platform}:{d.id}" for d in devices],
        "kind": devices[0].device_kind if devices else "none",
        "gpu": backend in ("gpu", "cuda", "rocm"),
    }


def report() -> dict:
    """Print versions, device and mode in one line; warn in plain words without a GPU."""
    info = {**versions(), **device_summary(), "mode": mode.name()}
    names = ["python", "jax", "flax", "optax", "numpy"]
    line = " | ".join(f"{n} {info[n]}" for n in names)
    print(f"{line} | device: {info['kind']} ({info['backend']}) | mode: {info['mode']}")
    if info["mode"] == "fast":
        print("Fast mode (WORKSHOP_FAST=1): short training, small data; figures are rougher.")
    if not info["gpu"]:
        print(NO_GPU_MESSAGE)
    return info
