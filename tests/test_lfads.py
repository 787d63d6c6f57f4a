"""LFADS: each term of the ELBO against its closed form, shapes, masking, determinism, bad input."""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from scipy import stats

from workshop_utils import lfads

SMALL = dict(encoder_size=8, controller_size=6, n_inputs=1, generator_size=10, n_factors=4)


def small_model(n_neurons=7, n_bins=12, **options):
    config = lfads.Config(n_neurons=n_neurons, n_bins=n_bins, **{**SMALL, **options})
    return lfads.LFADS(config, nnx.Rngs(0))


# Compiled, and cached by model structure: run eagerly, every op would compile on its own.
@functools.partial(jax.jit, static_argnames="graphdef")
def _forward(graphdef, params, spikes, key):
    return lfads.forward(nnx.merge(graphdef, params), spikes, key)


@functools.partial(jax.jit, static_argnames="graphdef")
def _loss_terms(graphdef, params, spikes, key):
    return lfads.loss_terms(nnx.merge(graphdef, params), spikes, key)


def run(model, spikes, key):
    return _forward(*nnx.split(model), jnp.asarray(spikes, jnp.float32), key)


def terms(model, spikes, key):
    return _loss_terms(*nnx.split(model), jnp.asarray(spikes, jnp.float32), key)


def poisson_spikes(shape, rate=0.5, seed=0):
    return np.random.default_rng(seed).poisson(rate, shape).astype(np.int32)


# ------------------------------------------------------------------------ the ELBO's terms
def test_poisson_log_likelihood_matches_scipy():
    rates = np.array([0.01, 0.5, 3.0, 10.0])
    counts = np.array([0.0, 1.0, 4.0, 7.0])
    got = lfads.poisson_log_likelihood(jnp.log(rates), counts)
    np.testing.assert_allclose(got, stats.poisson.logpmf(counts, rates), rtol=1e-5, atol=1e-6)


def test_kl_gaussians_closed_form_and_monte_carlo():
    mq, lvq = np.array([0.3, -1.0]), np.log(np.array([0.5, 2.0]))
    mp, lvp = np.array([0.0, 0.5]), np.log(np.array([1.0, 0.1]))
    got = float(lfads.kl_gaussians(mq, lvq, mp, lvp))
    # Monte Carlo: E_q[log q - log p]
    rng = np.random.default_rng(0)
    x = mq + np.exp(0.5 * lvq) * rng.standard_normal((400_000, 2))
    log_q = stats.norm.logpdf(x, mq, np.exp(0.5 * lvq)).sum(1)
    log_p = stats.norm.logpdf(x, mp, np.exp(0.5 * lvp)).sum(1)
    assert got == pytest.approx(np.mean(log_q - log_p), rel=1e-2)
    # and zero for identical distributions
    assert float(lfads.kl_gaussians(mq, lvq, mq, lvq)) == pytest.approx(0.0, abs=1e-6)


def test_ar1_prior_is_the_stationary_gaussian_process():
    T, tau, nvar = 6, 3.0, 0.2
    alpha = np.exp(-1 / tau)
    u = np.random.default_rng(1).standard_normal((T, 1))
    got = float(lfads.ar1_log_prior(jnp.asarray(u), jnp.log(jnp.array([tau])), jnp.log(jnp.array([nvar]))))
    # The stationary AR(1) process has covariance var * alpha^|i-j| with var = nvar / (1 - alpha^2).
    lags = np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    cov = nvar / (1 - alpha**2) * alpha**lags
    assert got == pytest.approx(stats.multivariate_normal(np.zeros(T), cov).logpdf(u[:, 0]), rel=1e-5)


def test_ar1_prior_sums_over_input_dimensions():
    u = np.random.default_rng(2).standard_normal((5, 2))
    logtau, lognvar = jnp.log(jnp.array([2.0, 8.0])), jnp.log(jnp.array([0.1, 0.3]))
    both = float(lfads.ar1_log_prior(jnp.asarray(u), logtau, lognvar))
    each = sum(float(lfads.ar1_log_prior(jnp.asarray(u[:, [i]]), logtau[i:i + 1], lognvar[i:i + 1]))
               for i in range(2))
    assert both == pytest.approx(each, rel=1e-6)


def test_input_kl_is_log_q_minus_log_p_at_the_sample():
    model = small_model()
    out = run(model, poisson_spikes((3, 12, 7)), jax.random.key(0))
    kl = np.asarray(lfads.kl_inputs(out, model))
    u, m, lv = (np.asarray(out[k]) for k in ("u", "u_mean", "u_logvar"))
    log_q = stats.norm.logpdf(u, m, np.exp(0.5 * lv)).sum(axis=(1, 2))
    tau, nvar = np.exp(float(model.u_prior_logtau[0])), np.exp(float(model.u_prior_lognvar[0]))
    alpha, T = np.exp(-1 / tau), u.shape[1]
    cov = nvar / (1 - alpha**2) * alpha ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    log_p = stats.multivariate_normal(np.zeros(T), cov).logpdf(u[..., 0])
    np.testing.assert_allclose(kl, log_q - log_p, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- the network
def test_forward_shapes():
    model = small_model()
    out = run(model, poisson_spikes((3, 12, 7)), jax.random.key(0))
    assert out["log_rates"].shape == (3, 12, 7)
    assert out["factors"].shape == (3, 12, 4)
    assert out["gen_states"].shape == (3, 12, 10)
    assert out["g0_mean"].shape == out["g0_logvar"].shape == (3, 10)
    assert out["u"].shape == out["u_mean"].shape == (3, 12, 1)


def test_without_controller_there_are_no_inputs():
    model = small_model(n_inputs=0, controller_size=0)
    out = run(model, poisson_spikes((2, 12, 7)), jax.random.key(0))
    assert "u" not in out and out["log_rates"].shape == (2, 12, 7)
    assert all(np.isfinite(float(v)) for v in terms(model, poisson_spikes((2, 12, 7)), jax.random.key(1)).values())


def test_factor_weights_have_unit_columns():
    W = np.asarray(small_model().factor_weights())
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1.0, rtol=1e-5)


def test_posterior_variance_has_a_floor():
    assert float(jnp.exp(lfads._floor_logvar(jnp.array(-50.0)))) >= lfads.VAR_FLOOR * 0.999


def test_gru_update_matches_its_equations():
    rng = np.random.default_rng(3)
    h, xp, hp = rng.standard_normal(4), rng.standard_normal(12), rng.standard_normal(12)
    sig = lambda v: 1 / (1 + np.exp(-v))
    r, z = sig(xp[:4] + hp[:4]), sig(xp[4:8] + hp[4:8])
    n = np.tanh(xp[8:] + r * hp[8:])
    np.testing.assert_allclose(lfads.gru_update(h, xp, hp), z * h + (1 - z) * n, rtol=1e-5)


def test_generator_map_is_one_step_of_the_generator_loop():
    model = small_model()
    out = run(model, poisson_spikes((3, 12, 7)), jax.random.key(0))
    F = jax.vmap(lfads.generator_map(model))
    g, u = out["gen_states"], out["u"]
    for t in (1, 6, 11):  # g_t = F(g_{t-1}, u_t), with the input sample the loop drew
        np.testing.assert_allclose(F(g[:, t - 1], u[:, t]), g[:, t], atol=1e-6)
    autonomous = small_model(n_inputs=0, controller_size=0)  # its input is one zero
    g = run(autonomous, poisson_spikes((3, 12, 7)), jax.random.key(1))["gen_states"]
    F = jax.vmap(lfads.generator_map(autonomous))
    np.testing.assert_allclose(F(g[:, 4], jnp.zeros((3, 1))), g[:, 5], atol=1e-6)
    with pytest.raises(TypeError, match="LFADS"):
        lfads.generator_map({"W_h": 0})


def test_oscillator_bank_linearises_to_damped_rotations_at_the_asked_frequencies():
    """Around g = 0 the generator's Jacobian is block-diagonal: each bank pair a rotation by
    2 pi f per bin with |eigenvalue| near 0.98, cut off from every other unit."""
    model = small_model(generator_size=10, generator_oscillators=3, n_inputs=0, controller_size=0)
    J = np.asarray(jax.jacobian(lfads.generator_map(model))(jnp.zeros(10), jnp.zeros(1)))
    bank = slice(0, 6)
    np.testing.assert_allclose(J[bank, 6:], 0, atol=1e-7)
    np.testing.assert_allclose(J[6:, bank], 0, atol=1e-7)
    for k, f in enumerate(np.linspace(0.03, 0.25, 3)):
        eig = np.linalg.eigvals(J[2 * k:2 * k + 2, 2 * k:2 * k + 2])
        np.testing.assert_allclose(np.sort(np.abs(np.angle(eig))), 2 * np.pi * f, rtol=0.02)
        assert np.all((np.abs(eig) > 0.95) & (np.abs(eig) < 0.985))
    plain = small_model(generator_size=10, n_inputs=0, controller_size=0)
    J0 = np.asarray(jax.jacobian(lfads.generator_map(plain))(jnp.zeros(10), jnp.zeros(1)))
    np.testing.assert_allclose(J[6:, 6:], J0[6:, 6:], atol=1e-7)  # the other units are untouched


def test_g0_sequence_readout_starts_at_zero_and_adds_a_linear_map_of_every_bin():
    spikes = poisson_spikes((3, 12, 7))
    plain, reading = small_model(), small_model(g0_reads_sequence=True)
    key = jax.random.key(2)
    np.testing.assert_array_equal(run(plain, spikes, key)["log_rates"], run(reading, spikes, key)["log_rates"])
    W = np.random.default_rng(0).standard_normal((12, 7, 10)).astype(np.float32)
    reading.g0_sequence[...] = jnp.asarray(W)
    noise = lfads.draw_noise(key, reading.config, 3, 12, training=False)
    want = (np.asarray(lfads.forward(plain, jnp.asarray(spikes, jnp.float32), noise=noise)["g0_mean"])
            + np.einsum("btn,tng->bg", spikes, W) / np.sqrt(12 * 7))
    got = lfads.forward(reading, jnp.asarray(spikes, jnp.float32), noise=noise)["g0_mean"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    grads = nnx.grad(lambda m: lfads.loss_terms(m, jnp.asarray(spikes, jnp.float32), key)["recon"])(reading)
    assert float(jnp.abs(grads.g0_sequence[...]).max()) > 0
    with pytest.raises(ValueError, match="reads every bin of a trial of 12 bins"):
        lfads.forward(reading, jnp.ones((2, 10, 7)), key)


def test_coordinated_dropout_scores_only_hidden_entries():
    """Changing a count the encoder saw must not change the reconstruction term, only what it
    predicts; changing a hidden count changes the score directly."""
    model = small_model(dropout=0.0, coordinated_dropout=0.5)
    spikes = jnp.asarray(poisson_spikes((4, 12, 7)), jnp.float32)
    key = jax.random.key(5)
    noise = lfads.draw_noise(key, model.config, 4, 12, training=True)
    hidden = np.asarray(noise["hidden"])
    assert 0.3 < hidden.mean() < 0.7
    # the encoder sees zeros where entries are hidden: a hidden count can be changed without
    # changing the model's output, and the loss moves by exactly that entry's likelihood
    b, t, n = np.argwhere(hidden)[0]
    bumped = spikes.at[b, t, n].add(3.0)
    base = terms(model, spikes, key)
    after = terms(model, bumped, key)
    out = lfads.forward(model, jnp.where(noise["hidden"], 0.0, spikes / 0.5), training=True, noise=noise)
    log_rate = float(out["log_rates"][b, t, n])
    expected = -3.0 * log_rate / 0.5 / (12 * 7) / 4     # one entry, scaled by 1/cd, per entry, batch mean
    # the difference of two float32 sums: good to a few of their rounding steps
    rounding = 4 * float(np.finfo(np.float32).eps) * abs(float(base["recon"]))
    assert float(after["recon"] - base["recon"]) == pytest.approx(expected, rel=1e-3, abs=rounding)
    assert float(after["kl"]) == pytest.approx(float(base["kl"]), rel=1e-6)
    # a visible entry changes the encoder's input, and so the posterior (the KL moves)
    b, t, n = np.argwhere(~hidden)[0]
    moved = terms(model, spikes.at[b, t, n].add(3.0), key)
    assert float(moved["kl"]) != pytest.approx(float(base["kl"]), rel=1e-6)


def test_evaluation_is_deterministic_given_the_key_and_dropout_only_in_training():
    model = small_model(dropout=0.3)
    spikes = jnp.asarray(poisson_spikes((3, 12, 7)), jnp.float32)
    a = run(model, spikes, jax.random.key(1))
    b = run(model, spikes, jax.random.key(1))
    np.testing.assert_array_equal(a["log_rates"], b["log_rates"])
    c = run(model, spikes, jax.random.key(2))
    assert not np.allclose(a["log_rates"], c["log_rates"])
    noise = lfads.draw_noise(jax.random.key(0), model.config, 3, 12, training=False)
    assert all(float(noise[k]) == 1.0 for k in ("keep_input", "keep_encoding", "keep_generator"))
    noise = lfads.draw_noise(jax.random.key(0), model.config, 3, 12, training=True)
    kept = np.asarray(noise["keep_generator"])
    np.testing.assert_allclose(np.unique(kept), [0.0, 1 / 0.7], rtol=1e-6)


# ------------------------------------------------------------------------------ fit & infer
@pytest.fixture(scope="module")
def tiny_fit():
    spikes = poisson_spikes((40, 10, 5), rate=1.0)
    return spikes, lfads.fit(spikes, seed=3, n_steps=30, batch_size=16, eval_every=10,
                             progress=False, **{**SMALL, "n_factors": 3})


def test_fit_returns_model_history_and_split(tiny_fit):
    spikes, fitted = tiny_fit
    h = fitted.history
    assert len(h["train_loss"]) <= 30 and np.all(np.isfinite(h["train_loss"]))
    assert len(h["valid_loss"]) >= 1 and h["best_step"] in list(h["eval_step"])
    assert set(fitted.train_idx).isdisjoint(fitted.valid_idx)
    assert len(fitted.train_idx) + len(fitted.valid_idx) == 40


def test_fit_is_deterministic_under_a_seed(tiny_fit):
    spikes, fitted = tiny_fit
    again = lfads.fit(spikes, seed=3, n_steps=30, batch_size=16, eval_every=10, progress=False,
                      **{**SMALL, "n_factors": 3})
    np.testing.assert_array_equal(fitted.history["train_loss"], again.history["train_loss"])
    np.testing.assert_array_equal(lfads.posterior_rates(fitted, spikes[:4], n_samples=8, batch_size=2),
                                  lfads.posterior_rates(again, spikes[:4], n_samples=8, batch_size=2))


def test_posterior_rates_shape_positive_and_averaged(tiny_fit):
    spikes, fitted = tiny_fit
    rates = lfads.posterior_rates(fitted, spikes[:4], n_samples=8, batch_size=2)
    assert rates.shape == (4, 10, 5) and np.all(rates > 0)
    everything = lfads.posterior_rates(fitted, spikes[:4], n_samples=8, batch_size=2, return_all=True)
    assert everything["factors"].shape == (4, 10, 3) and everything["inputs"].shape == (4, 10, 1)
    np.testing.assert_allclose(everything["rates"], rates, rtol=1e-6)
    # the average of many samples varies less between seeds than single samples do
    one = [lfads.posterior_rates(fitted, spikes[:4], n_samples=1, batch_size=2, seed=s) for s in range(2)]
    many = [lfads.posterior_rates(fitted, spikes[:4], n_samples=8, batch_size=2, seed=s) for s in range(2)]
    assert np.abs(many[0] - many[1]).mean() < np.abs(one[0] - one[1]).mean()


@pytest.mark.parametrize("bad, message", [
    (np.full((20, 5, 3), np.nan), "NaN"),
    (-np.ones((20, 5, 3)), "negative"),
    (np.full((20, 5, 3), 0.5), "whole-number"),
    (np.ones((20, 5)), "3 dimensions"),
    (np.ones((3, 5, 3)), "at least 10"),
    (np.ones((20, 0, 3)), "empty"),
])
def test_fit_rejects_bad_spikes(bad, message):
    with pytest.raises(ValueError, match=message):
        lfads.fit(bad, n_steps=1)


def test_posterior_rates_rejects_wrong_neuron_count(tiny_fit):
    _, fitted = tiny_fit
    with pytest.raises(ValueError, match="6 neurons but the model was trained on 5"):
        lfads.posterior_rates(fitted, np.ones((2, 10, 6)))
    with pytest.raises(TypeError, match="TrainedLFADS"):
        lfads.posterior_rates("model", np.ones((2, 10, 5)))


@pytest.mark.parametrize("option", [dict(n_factors=0), dict(dropout=1.0), dict(n_inputs=2, controller_size=0),
                                    dict(learning_rate=-1.0), dict(bogus=3), dict(g0_reads_sequence="yes"),
                                    dict(generator_oscillators=40)])
def test_bad_options_are_named(option):
    with pytest.raises((ValueError, TypeError), match=list(option)[0]):
        lfads.fit(poisson_spikes((20, 5, 3)), n_steps=1, **option)


def test_random_mask_has_the_asked_probability_and_differs_by_key():
    shape = (50, 40, 30)
    a = np.asarray(lfads.random_mask(jax.random.key(0), shape, 0.3))
    b = np.asarray(lfads.random_mask(jax.random.key(1), shape, 0.3))
    assert a.shape == shape and a.dtype == bool
    n = a.size
    assert abs(a.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n)     # 4 standard errors
    assert abs((a & b).mean() - 0.09) < 0.01                      # independent across keys
    assert abs((a[:, :, 1:] & a[:, :, :-1]).mean() - 0.09) < 0.01  # and along the array
    np.testing.assert_array_equal(a, lfads.random_mask(jax.random.key(0), shape, 0.3))
    assert not np.asarray(lfads.random_mask(jax.random.key(0), shape, 0.0)).any()
    assert abs(float(lfads.random_mask(jax.random.key(2), (1000, 1000), 0.05).mean()) - 0.05) < 1e-3


def test_random_mask_part_is_that_slice_of_the_whole_mask():
    shape, key = (6, 8, 5), jax.random.key(4)
    whole = np.asarray(lfads.random_mask(key, shape, 0.4))
    for axis, start, size in [(0, 2, 3), (1, 4, 4), (2, 0, 5), (1, 0, 8)]:
        part = lfads.random_mask(key, shape, 0.4, (axis, jnp.asarray(start), size))
        np.testing.assert_array_equal(part, np.take(whole, np.arange(start, start + size), axis))


def test_noise_shards_are_slices_of_the_whole_batch_noise():
    config = small_model(dropout=0.2, coordinated_dropout=0.3).config
    key = jax.random.key(6)
    whole = lfads.draw_noise(key, config, 6, 12, training=True)
    halves = [lfads.draw_noise(key, config, 6, 12, training=True, shard=(k, 2)) for k in range(2)]
    for name, batch_axis in [("eps_g0", 0), ("eps_u", 1), ("keep_input", 1),
                             ("keep_encoding", 1), ("keep_generator", 1), ("hidden", 0)]:
        joined = np.concatenate([np.asarray(h[name]) for h in halves], axis=batch_axis)
        np.testing.assert_array_equal(joined, whole[name], err_msg=name)
    with pytest.raises(ValueError, match="7 cannot be split into 2"):
        lfads.draw_noise(key, config, 7, 12, training=True, shard=(0, 2))


@pytest.mark.skipif(len(jax.devices()) < 2 or jax.default_backend() != "cpu",
                    reason="needs JAX to see two CPU devices (runtime.use_cpu_cores, 2+ cores)")
def test_a_data_parallel_step_computes_what_one_device_does():
    """The batch split across two devices: the same loss, and the same gradients (Adam's
    first moment after one step is 0.1 times the clipped gradient)."""
    from workshop_utils import runtime
    model = small_model(dropout=0.2, coordinated_dropout=0.3)
    config = model.config
    data = jnp.asarray(poisson_spikes((20, 12, 7)), jnp.float32)
    graphdef, params = nnx.split(model, nnx.Param)
    flat, layout = lfads.flatten_params(params)
    state = (flat, lfads.make_optimizer(config).init(flat))
    mesh = runtime.data_parallel_mesh(16)
    assert mesh is not None and mesh.size == 2 and runtime.data_parallel_mesh(15) is None
    key = jax.random.key(8)
    config16 = dataclasses.replace(config, batch_size=16)
    one = lfads._train_step(graphdef, layout, config16, None, state, 3, key, data)
    both = lfads._train_step(graphdef, layout, config16, mesh,
                             jax.device_put(state, jax.sharding.NamedSharding(mesh, jax.P())),
                             3, key, jax.device_put(data, jax.sharding.NamedSharding(mesh, jax.P())))
    assert float(both[1]) == pytest.approx(float(one[1]), rel=1e-5)
    mu_one = optax.tree_utils.tree_get(one[0][1], "mu")
    mu_both = optax.tree_utils.tree_get(both[0][1], "mu")
    assert mu_one.shape == flat.shape and float(jnp.max(jnp.abs(mu_one))) > 0
    np.testing.assert_allclose(mu_both, mu_one, rtol=1e-4, atol=1e-4 * float(jnp.max(jnp.abs(mu_one))))


def test_flat_parameters_round_trip_and_adam_on_the_vector_is_adam_on_the_tree():
    """The training state holds the parameters as one vector: unflattening gives back every
    array, and an optimiser step on the vector equals the step on the pytree (Adam works
    entry by entry; gradient clipping sees the same global norm)."""
    model = small_model()
    _, params = nnx.split(model, nnx.Param)
    flat, layout = lfads.flatten_params(params)
    leaves = jax.tree.leaves(params)
    assert flat.shape == (sum(x.size for x in leaves),) and hash(layout) == hash(layout)
    for a, b in zip(jax.tree.leaves(lfads.unflatten_params(layout, flat)), leaves):
        np.testing.assert_array_equal(a, b)
    grads = jax.tree.map(lambda x: jnp.sin(3.0 * x + 1.0) * 5.0, params)  # clipped: norm > 1
    optimizer = lfads.make_optimizer(model.config)
    tree_updates, _ = optimizer.update(grads, optimizer.init(params), params)
    flat_updates, _ = optimizer.update(lfads.flatten_params(grads)[0], optimizer.init(flat), flat)
    for a, b in zip(jax.tree.leaves(lfads.unflatten_params(layout, flat_updates)),
                    jax.tree.leaves(tree_updates)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
