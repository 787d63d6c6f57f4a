import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from workshop_utils import checkpoint, lfads, stitched_lfads, stitching

TINY = {"encoder_size": 8, "generator_size": 8, "n_factors": 3, "batch_size": 8, "eval_every": 5}


@dataclasses.dataclass
class Session:
    spikes: np.ndarray
    conditions: np.ndarray
    bin_size: float = 0.01


def toy_sessions(neurons=(5, 8, 3), n_conditions=3, per_condition=(3, 4, 3), n_bins=12, seed=0):
    """Sessions whose neurons follow two shared latent sinusoids set by the condition."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n_bins)
    sessions = []
    for n, k in zip(neurons, per_condition):
        conditions = np.repeat(np.arange(n_conditions), k)
        latents = np.stack([np.sin(2 * np.pi * t[None] + conditions[:, None]),
                            np.cos(2 * np.pi * t[None] + 2 * conditions[:, None])], -1)
        rates = np.exp(0.3 + latents @ rng.normal(0, 0.7, (2, n)))
        sessions.append(Session(rng.poisson(rates), conditions))
    return sessions


def tiny_config(neurons=(5, 8, 3), n_bins=12, **options):
    core = lfads.Config(n_neurons=3, n_bins=n_bins, **stitched_lfads.core_options(**TINY, **options))
    return stitched_lfads.StitchedConfig(core, tuple(neurons))


def batch(config, seed=0):
    """Padded spikes of two trials per session, with their session indices."""
    rng = np.random.default_rng(seed)
    spikes = [rng.poisson(1.0, (2, config.core.n_bins, n)) for n in config.n_neurons]
    data, sessions = stitched_lfads.pad_sessions(spikes, config.max_neurons)
    return jnp.asarray(data), jnp.asarray(sessions)


@functools.partial(jax.jit, static_argnames=("graphdef", "training"))
def _terms(graphdef, params, spikes, sessions, key, training):
    return stitched_lfads.loss_terms(nnx.merge(graphdef, params), spikes, sessions, key, training)


def terms(model, spikes, sessions, key=jax.random.key(3), training=True):
    graphdef, params = nnx.split(model, nnx.Param)
    return {k: float(v) for k, v in _terms(graphdef, params, spikes, sessions, key, training).items()}


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _log_rates(graphdef, params, spikes, sessions, key):
    return stitched_lfads.forward(nnx.merge(graphdef, params), spikes, sessions, key)["log_rates"]


def log_rates(model, spikes, sessions):
    graphdef, params = nnx.split(model, nnx.Param)
    return np.asarray(_log_rates(graphdef, params, spikes, sessions, jax.random.key(1)))


@pytest.fixture(scope="module")
def model():
    config = tiny_config(dropout=0.1, coordinated_dropout=0.3)
    return stitched_lfads.StitchedLFADS(config, nnx.Rngs(0))


@pytest.fixture(scope="module")
def sessions():
    return toy_sessions()


@pytest.fixture(scope="module")
def fitted(sessions):
    return stitched_lfads.fit_stitched(sessions, seed=0, n_steps=10, progress=False, **TINY)


# --------------------------------------------------------------------------------- the model
def test_forward_shapes_and_padding(model):
    spikes, sessions = batch(model.config)
    out = stitched_lfads.forward(model, spikes, sessions, jax.random.key(0))
    c = model.config
    assert out["log_rates"].shape == (6, c.core.n_bins, c.max_neurons)
    assert out["factors"].shape == (6, c.core.n_bins, c.core.n_factors)
    assert out["gen_states"].shape == (6, c.core.n_bins, c.core.generator_size)
    assert model.read_in[...].shape == (3, 8, 3) and model.readout[...].shape == (3, 3, 8)
    np.testing.assert_array_equal(c.neuron_mask().sum(axis=1), c.n_neurons)


def test_padded_neurons_never_affect_the_loss(model):
    spikes, sessions = batch(model.config)
    mask = model.config.neuron_mask()[np.asarray(sessions)][:, None, :]
    scrambled = jnp.where(mask > 0, spikes, 7.0 + jnp.arange(spikes.size).reshape(spikes.shape) % 5)
    assert not np.array_equal(np.asarray(scrambled), np.asarray(spikes))
    for training in (True, False):
        assert terms(model, scrambled, sessions, training=training) == terms(model, spikes, sessions,
                                                                             training=training)
    # ... and the padded read-in rows and readout columns do not matter either
    other = nnx.clone(model)
    pad = jnp.asarray(1.0 - model.config.neuron_mask())
    other.read_in[...] = model.read_in[...] + 3.0 * pad[:, :, None]
    other.readout[...] = model.readout[...] + 3.0 * pad[:, None, :]
    other.readout_bias[...] = model.readout_bias[...] + 3.0 * pad
    assert terms(other, spikes, sessions) == terms(model, spikes, sessions)
    # a real neuron does change it
    real = spikes.at[0, 0, 0].add(4.0)
    assert terms(model, real, sessions, training=False) != terms(model, spikes, sessions, training=False)


def test_each_trial_uses_its_own_sessions_maps(model):
    spikes, sessions = batch(model.config)
    sessions_np = np.asarray(sessions)
    before = log_rates(model, spikes, sessions)
    for name in ("read_in", "readout"):
        other = nnx.clone(model)
        getattr(other, name)[...] = getattr(model, name)[...].at[1].multiply(-2.0)   # session 1 only
        after = log_rates(other, spikes, sessions)
        np.testing.assert_array_equal(after[sessions_np != 1], before[sessions_np != 1])
        assert np.abs(after[sessions_np == 1] - before[sessions_np == 1]).max() > 1e-4, name


def test_loss_is_the_per_entry_elbo_of_each_session(model):
    """Without dropout the reconstruction is each trial's Poisson NLL over its own T * N_s
    entries (less log k!), averaged over trials."""
    spikes, sessions = batch(model.config)
    key = jax.random.key(3)
    noise = lfads.draw_noise(jax.random.split(key)[0], model.config.core, 6, spikes.shape[1], False)
    out = stitched_lfads.forward(model, spikes, sessions, noise=noise)      # the same g0 sample
    got = terms(model, spikes, sessions, key=key, training=False)
    lr, x = np.asarray(out["log_rates"], float), np.asarray(spikes, float)
    expected = []
    for b, s in enumerate(np.asarray(sessions)):
        n = model.config.n_neurons[s]
        expected.append(-np.sum(x[b, :, :n] * lr[b, :, :n] - np.exp(lr[b, :, :n])) / (x.shape[1] * n))
    assert got["recon"] == pytest.approx(np.mean(expected), rel=1e-5)


# ------------------------------------------------------------------------------------ fitting
def test_pcr_initialisation_is_wired_in(sessions):
    trained = stitched_lfads.fit_stitched(sessions, seed=0, n_steps=0, progress=False, **TINY)
    pcr = trained.pcr
    # PCR was fitted on each session's training trials, so recompute it from those
    train = [Session(s.spikes[i], s.conditions[i]) for s, i in zip(sessions, trained.train_idx)]
    expected = stitching.pcr_init(train, TINY["n_factors"])
    m = trained.model
    for s, n in enumerate(trained.config.n_neurons):
        np.testing.assert_allclose(np.asarray(m.read_in[s, :n]), expected.read_in[s], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(m.read_in[s, :n]), pcr.read_in[s], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(np.asarray(m.read_in_bias[s]), -pcr.bias[s] @ pcr.read_in[s], rtol=1e-4,
                                   atol=1e-5)
        floor = np.maximum(pcr.bias[s], 1e-3)
        np.testing.assert_allclose(np.asarray(m.readout[s, :, :n]), pcr.readout[s] / floor, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(np.asarray(m.readout_bias[s, :n]), np.log(floor), rtol=1e-5, atol=1e-6)
        assert np.all(np.asarray(m.read_in[s, n:]) == 0) and np.all(np.asarray(m.readout[s, :, n:]) == 0)


def test_random_initialisation_is_the_alternative(sessions):
    trained = stitched_lfads.fit_stitched(sessions, seed=0, n_steps=0, progress=False, **TINY)
    pcr = trained.pcr
    assert pcr.scores.shape == (3, 12, TINY["n_factors"])
    rand = stitched_lfads.fit_stitched(sessions, seed=0, init="random", n_steps=0, progress=False, **TINY)
    assert rand.pcr is None
    assert not np.allclose(np.asarray(rand.model.read_in[...]), np.asarray(trained.model.read_in[...]))


def test_frozen_read_in_stays_and_the_rest_trains(sessions):
    trained = stitched_lfads.fit_stitched(sessions, seed=0, n_steps=8, patience=0, train_read_in=False,
                                          progress=False, **{**TINY, "eval_every": 4})
    start = stitched_lfads.fit_stitched(sessions, seed=0, n_steps=0, progress=False, **TINY)
    np.testing.assert_array_equal(np.asarray(trained.model.read_in[...]), np.asarray(start.model.read_in[...]))
    assert not np.array_equal(np.asarray(trained.model.readout[...]), np.asarray(start.model.readout[...]))


def test_fit_history_split_and_posterior_shapes(fitted, sessions):
    h = fitted.history
    assert len(h["train_loss"]) == 10 and np.all(np.isfinite(h["train_loss"]))
    assert list(h["eval_step"]) == [5, 10] and h["best_step"] in (5, 10)
    for s, session in enumerate(sessions):
        both = np.concatenate([fitted.train_idx[s], fitted.valid_idx[s]])
        np.testing.assert_array_equal(np.sort(both), np.arange(session.spikes.shape[0]))
        assert len(fitted.valid_idx[s]) >= 1 and len(fitted.train_idx[s]) >= 1
        post = stitched_lfads.posterior_rates(fitted, s, session.spikes, n_samples=3, return_all=True)
        assert post["rates"].shape == session.spikes.shape and np.all(post["rates"] > 0)
        assert post["factors"].shape == session.spikes.shape[:2] + (3,)
        np.testing.assert_array_equal(stitched_lfads.posterior_factors(fitted, s, session.spikes, n_samples=3),
                                      post["factors"])


def test_fit_is_deterministic_under_a_seed(fitted, sessions):
    again = stitched_lfads.fit_stitched(sessions, seed=0, n_steps=10, progress=False, **TINY)
    np.testing.assert_array_equal(again.history["train_loss"], fitted.history["train_loss"])
    other = stitched_lfads.fit_stitched(sessions, seed=1, n_steps=10, progress=False, **TINY)
    assert not np.array_equal(other.history["train_loss"], fitted.history["train_loss"])


def test_save_load_round_trip(fitted, sessions, tmp_path):
    path = stitched_lfads.save(fitted, tmp_path / "stitched", note="tiny")
    loaded, metadata = stitched_lfads.load(path)
    assert metadata == {"note": "tiny"}
    assert loaded.config == fitted.config
    np.testing.assert_array_equal(loaded.history["train_loss"], fitted.history["train_loss"])
    assert loaded.history["best_step"] == fitted.history["best_step"]
    for a, b in zip(loaded.valid_idx, fitted.valid_idx):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(stitched_lfads.posterior_rates(loaded, 1, sessions[1].spikes, n_samples=2),
                                  stitched_lfads.posterior_rates(fitted, 1, sessions[1].spikes, n_samples=2))
    with pytest.raises(FileNotFoundError, match="train it first"):
        stitched_lfads.load(tmp_path / "missing", hint="train it first")
    checkpoint.save(tmp_path / "other", {"W": np.zeros(2)})
    with pytest.raises(checkpoint.CheckpointError, match="not a stitched-LFADS checkpoint"):
        stitched_lfads.load(tmp_path / "other")


# --------------------------------------------------------------------------------- bad input
def _edit(sessions, s, **changes):
    out = list(sessions)
    out[s] = dataclasses.replace(sessions[s], **changes)
    return out


@pytest.mark.parametrize("make, message", [
    (lambda ss: _edit(ss, 1, bin_size=0.02), "bin_size 0.02 s but session 0 has 0.01"),
    (lambda ss: _edit(ss, 2, spikes=ss[2].spikes[:, :10]), "trials of 10 bins but session 0 has 12"),
    (lambda ss: _edit(ss, 1, spikes=ss[1].spikes[:0], conditions=ss[1].conditions[:0]), "session 1 has no trials"),
    (lambda ss: _edit(ss, 2, conditions=ss[2].conditions + 1), r"lacks \[0\] and has extra \[3\]"),
    (lambda ss: [], "sessions is empty"),
])
def test_fit_rejects_sessions_that_do_not_stitch(sessions, make, message):
    with pytest.raises(ValueError, match=message):
        stitched_lfads.fit_stitched(make(sessions), n_steps=0, progress=False, **TINY)


@pytest.mark.parametrize("kwargs, message", [
    ({"init": "pca"}, r"init must be one of \('pcr', 'random'\), got 'pca'"),
    ({"n_neurons": 5}, "n_neurons comes from the sessions"),
    ({"dropout": 1.5}, "dropout must be in"),
    ({"train_read_in": "yes"}, "train_read_in must be True or False"),
])
def test_fit_rejects_bad_options(sessions, kwargs, message):
    with pytest.raises(ValueError, match=message):
        stitched_lfads.fit_stitched(sessions, progress=False, **{"n_steps": 0, **TINY, **kwargs})


def test_posterior_rejects_wrong_neurons_session_and_model(fitted, sessions):
    with pytest.raises(ValueError, match="spikes has 5 neurons but session 1's read-in takes 8"):
        stitched_lfads.posterior_rates(fitted, 1, sessions[0].spikes)
    with pytest.raises(ValueError, match=r"session must be a session index in \[0, 3\), got 3"):
        stitched_lfads.posterior_factors(fitted, 3, sessions[0].spikes)
    with pytest.raises(ValueError, match="6 bins per trial but the model was trained on 12"):
        stitched_lfads.posterior_rates(fitted, 0, sessions[0].spikes[:, :6])
    with pytest.raises(ValueError, match="negative"):
        stitched_lfads.posterior_rates(fitted, 0, -sessions[0].spikes - 1)
    with pytest.raises(TypeError, match="fit_stitched"):
        stitched_lfads.posterior_rates(lfads, 0, sessions[0].spikes)
    with pytest.raises(TypeError, match="TrainedStitched"):
        stitched_lfads.save("model", "path")


def test_core_options_scale_the_oscillator_bank_to_the_generator():
    assert stitched_lfads.core_options() == stitched_lfads.CORE_DEFAULTS
    assert stitched_lfads.core_options(generator_size=64)["generator_oscillators"] == 6
    assert stitched_lfads.core_options(generator_size=8)["generator_oscillators"] == 0
    assert stitched_lfads.core_options(generator_size=400)["generator_oscillators"] == 10
    # a bank that is asked for is kept, and Config says when it does not fit
    assert stitched_lfads.core_options(generator_size=8, generator_oscillators=3)["generator_oscillators"] == 3
    with pytest.raises(ValueError, match="generator_oscillators"):
        lfads.Config(n_neurons=3, n_bins=12, **stitched_lfads.core_options(generator_size=8,
                                                                           generator_oscillators=5))


def test_config_and_maps_are_checked():
    core = lfads.Config(n_neurons=3, n_bins=12)
    with pytest.raises(ValueError, match="n_neurons must be a non-empty tuple"):
        stitched_lfads.StitchedConfig(core, (5, 0))
    config = stitched_lfads.StitchedConfig(core, (5, 4))
    maps = stitched_lfads.random_maps(config, jax.random.key(0))
    maps["readout"] = maps["readout"][:, :, :4]
    with pytest.raises(ValueError, match=r"maps\['readout'\] has shape \(2, 16, 4\), expected \(2, 16, 5\)"):
        stitched_lfads.StitchedLFADS(config, nnx.Rngs(0), maps)


def test_posterior_rates_pads_trials_to_a_power_of_two_and_drops_the_padding():
    core = lfads.Config(n_neurons=3, n_bins=10, **stitched_lfads.core_options(encoder_size=6, generator_size=6,
                                                                       n_factors=3))
    model = stitched_lfads.StitchedLFADS(stitched_lfads.StitchedConfig(core, (4, 2)), nnx.Rngs(0))
    rng = np.random.default_rng(2)
    spikes = rng.poisson(1.0, (7, 10, 4))
    stitched_lfads._sample_average.clear_cache()
    post = stitched_lfads.posterior_rates(model, 0, spikes, n_samples=2, return_all=True)
    assert post["rates"].shape == (7, 10, 4) and post["factors"].shape == (7, 10, 3)
    assert np.all(np.isfinite(post["rates"])) and np.all(post["rates"] > 0)
    # 5 and 7 trials both pad to 8, in either session: one compiled program for all three calls
    stitched_lfads.posterior_rates(model, 0, spikes[:5], n_samples=2)
    stitched_lfads.posterior_rates(model, 1, rng.poisson(1.0, (6, 10, 2)), n_samples=2)
    assert stitched_lfads._sample_average._cache_size() == 1
    # trials are inferred independently: an eighth real trial in place of the padding leaves
    # the first seven exactly as they were
    eight = stitched_lfads.posterior_rates(model, 0, np.concatenate([spikes, spikes[:1]]), n_samples=2)
    np.testing.assert_allclose(eight[:7], post["rates"], rtol=1e-6)
