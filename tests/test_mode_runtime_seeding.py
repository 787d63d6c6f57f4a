import jax
import jax.numpy as jnp
import numpy as np
import pytest

from workshop_utils import mode, runtime, seeding


@pytest.mark.parametrize("value, fast", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_mode_switch_reads_the_environment(monkeypatch, value, fast):
    monkeypatch.setenv(mode.ENV_VAR, value)
    assert mode.is_fast() is fast
    assert mode.pick(full="long", fast="short") == ("short" if fast else "long")
    assert mode.name() == ("fast" if fast else "full")


def test_full_mode_is_the_default(monkeypatch):
    monkeypatch.delenv(mode.ENV_VAR, raising=False)
    assert not mode.is_fast()


def test_mode_rejects_unclear_values(monkeypatch):
    monkeypatch.setenv(mode.ENV_VAR, "maybe")
    with pytest.raises(ValueError, match="WORKSHOP_FAST='maybe'"):
        mode.is_fast()


def test_seed_everything_is_reproducible():
    key_a, rng_a = seeding.seed_everything(3)
    key_b, rng_b = seeding.seed_everything(3)
    assert np.array_equal(jax.random.normal(key_a, (4,)), jax.random.normal(key_b, (4,)))
    assert np.array_equal(rng_a.normal(size=4), rng_b.normal(size=4))
    key_c, _ = seeding.seed_everything(4)
    assert not np.array_equal(jax.random.normal(key_a, (4,)), jax.random.normal(key_c, (4,)))


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_seed_must_be_a_nonnegative_int(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        seeding.seed_everything(bad)


def test_report_prints_versions_device_and_cpu_warning(capsys):
    info = runtime.report()
    out = capsys.readouterr().out
    assert f"jax {jax.__version__}" in out and "device:" in out and f"mode: {mode.name()}" in out
    assert info["backend"] == jax.default_backend()
    if not info["gpu"]:
        assert "No GPU found" in out and "Change runtime type -> GPU" in out


def test_nothing_is_missing_or_installed_off_colab():
    assert runtime.missing_packages() == []
    assert runtime.install_missing_on_colab() == []  # not on Colab: never touches pip


def test_cpu_model_names_the_processor():
    name = runtime.cpu_model()
    assert isinstance(name, str) and name.strip()


FAULTS_PER_CALL = """
import resource, statistics, sys
if sys.argv[1] == "keep":
    import workshop_utils          # applies runtime.keep_freed_memory() before JAX starts
import jax, jax.numpy as jnp
step = jax.jit(lambda x: jnp.sum(jnp.cumsum(jnp.sin(x) * 2.0) + jnp.cos(x)[::-1]))
x = jnp.ones(8_000_000)           # each temporary is 32 MB
faults = []
for _ in range(20):               # the kept heap grows for a few calls to the peak it needs
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step(x).block_until_ready()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(statistics.median(faults[4:]))
"""


def test_freed_memory_is_kept_so_programs_stop_page_faulting_their_scratch_memory():
    """A program whose scratch memory is large page-faults all of it in afresh on every call,
    unless workshop_utils (imported before JAX starts) has told glibc to keep freed memory."""
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        assert runtime.keep_freed_memory() is False
        return
    assert runtime.keep_freed_memory() is True
    faults = {how: float(subprocess.run([sys.executable, "-c", FAULTS_PER_CALL, how], check=True,
                                        capture_output=True, text=True).stdout)
              for how in ("plain", "keep")}
    assert faults["plain"] > 8_000_000 * 4 / 4096, faults        # at least one buffer's pages
    assert faults["keep"] < faults["plain"] / 10, faults


def test_cpu_jit_compiles_with_the_options_on_a_cpu_only():
    calls = []

    @runtime.cpu_jit(cpu_options={"xla_cpu_use_fusion_emitters": False}, static_argnames=("k",))
    def f(x, k):
        calls.append(k)
        return jnp.tanh(x) * k

    np.testing.assert_allclose(f(jnp.ones(3), k=2.0), 2 * np.tanh(1.0), rtol=1e-6)
    np.testing.assert_allclose(f(jnp.ones(3), k=2.0), 2 * np.tanh(1.0), rtol=1e-6)
    assert calls == [2.0]                       # traced once: the jitted function is kept
    with pytest.raises(Exception, match="xla_not_an_option"):  # the options reach XLA
        runtime.cpu_jit(jnp.sin, cpu_options={"xla_not_an_option": 1})(jnp.ones(2))
