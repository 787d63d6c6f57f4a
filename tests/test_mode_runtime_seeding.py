import jax
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
