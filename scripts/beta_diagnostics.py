"""Why stitched LFADS loses the LFP's beta rhythm: two checks that need no LFADS training.

    python scripts/beta_diagnostics.py [--seed 0] [--steps 600]

On `reaching.reaching_sessions(seed, **FIRST_DATA)`, notebook 05's data until 2026-12-02 (a
rhythm of random phase on every trial, beta_modulation 0.5; the notebook's data now reset the
rhythm's phase by the reach direction and make it three times stronger):

1. An oracle for the spikes. Every trial's rhythm is beta(t) = (1 - 0.8 CIS(t)) R(omega t) (A, B):
   two numbers per trial. Given everything else true (the other latents, the loadings), the
   posterior of (A, B) from one trial's Poisson spikes (Laplace approximation about the MAP,
   prior of the simulation's variance) says how well the phase can be inferred at all, what
   encoding it is worth to the ELBO (expected log-likelihood gain minus the KL), and how much
   beta the rates rebuilt from the MAP keep in the LFP cross-correlogram (the measure of
   scripts/train_stitched.py: 15 Hz amplitude, condition means removed, median over neurons).
2. Capacity of the generator. An autonomous GRU of the stitched core's size, started as
   `lfads.GRU` starts (update-gate bias +1), with g0 a linear map of the true (A, B), trained
   by least squares for `--steps` Adam steps to output the true beta latents: can that
   generator carry a 15 Hz rhythm over a trial at all, once it is told the phase?

Measured (seed 0, 2026-12-01, 2-core CPU, load 2, 109 s): phase recovered per trial with
r = 0.85-0.97 (by session), beta amplitude of the oracle rates 0.355 (true rates 0.384, smoothed
spikes 0.015, the committed stitched checkpoint 0.004); encoding the rhythm is worth 4.9 nats
per trial to the ELBO (6.8 of log-likelihood, 2.0 of KL), 0.0014 nats per data entry, about
0.3% of the loss (0.445); the generator reaches R^2 0.855 after 100 steps, 0.957 after 300 and
0.996 after 600. So the spikes carry the rhythm and the generator can hold it: what fails is
the unsupervised fit finding it (see scripts/train_stitched.py's docstring).
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from workshop_utils import lfads, oscillations, reaching, smoothing, stitched_lfads
from workshop_utils.reaching import BETA, CIS

BETA_HZ, MAX_LAG_S = 15.0, 0.2
BETA_SUPPRESSION = 0.8      # reaching_sessions' default
FIRST_DATA = {"beta_modulation": 0.5, "beta_phase_jitter_deg": None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=600)
    args = parser.parse_args()
    sessions = reaching.reaching_sessions(args.seed, **FIRST_DATA)
    oracle(sessions)
    capacity(sessions, args.steps, args.seed)


def _rates(drive, bin_size, low=2.0, high=60.0):     # reaching_sessions' default rate range
    return (low + (high - low) / (1 + np.exp(-drive))) * bin_size


def _beta_amplitude(s, signals):
    max_lag = int(round(MAX_LAG_S / s.bin_size))
    lags, cc = oscillations.lfp_cross_correlation(s.lfp, signals, max_lag, conditions=s.conditions)
    return oscillations.oscillation_amplitude(cc, lags, s.bin_size, BETA_HZ)


def oracle(sessions):
    """MAP and Laplace posterior of each trial's (A, B), everything else known."""
    amplitude = []
    gain, kl, entries, r = [], [], 0, []
    for s in sessions:
        lat = s.latents
        omega_t = 2 * np.pi * BETA_HZ * s.bin_size * np.arange(s.n_bins)
        envelope = 1 - BETA_SUPPRESSION * lat[..., CIS]
        cos, sin = np.cos(omega_t)[None, :, None], np.sin(omega_t)[None, :, None]
        l_cos, l_sin = s.loadings[BETA.start], s.loadings[BETA.start + 1]
        # drive = d0 + A J_A + B J_B, the rhythm rotated from its start (A, B)
        J = np.stack([envelope[..., None] * (cos * l_cos + sin * l_sin),
                      envelope[..., None] * (-sin * l_cos + cos * l_sin)], -1)    # (trials, T, N, 2)
        rest = lat.copy()
        rest[..., BETA] = 0
        d0 = s.baselines + rest @ s.loadings
        truth = lat[:, 0, BETA] / envelope[:, :1]
        prior_var = float(np.mean(truth ** 2))
        theta = np.zeros((s.n_trials, 2))
        for _ in range(30):                                       # Newton on the log posterior
            d = d0 + np.einsum("atnk,ak->atn", J, theta)
            sig = 1 / (1 + np.exp(-d))
            rate = _rates(d, s.bin_size)
            d_rate = (60.0 - 2.0) * s.bin_size * sig * (1 - sig)
            grad = np.einsum("atn,atnk->ak", (s.spikes / rate - 1) * d_rate, J) - theta / prior_var
            fisher = np.einsum("atn,atnk,atnl->akl", d_rate ** 2 / rate, J, J)
            H = fisher + np.eye(2) / prior_var
            theta = theta + np.linalg.solve(H, grad[..., None])[..., 0]
        r.append(np.corrcoef(theta[:, 0], truth[:, 0])[0, 1])
        fitted = _rates(d0 + np.einsum("atnk,ak->atn", J, theta), s.bin_size)
        amplitude.append(_beta_amplitude(s, fitted))
        log_lik = lambda rate: (s.spikes * np.log(rate) - rate).sum(axis=(1, 2))
        cov = np.linalg.inv(H)
        gain.append(log_lik(fitted) - 0.5 * np.einsum("akl,alk->a", fisher, cov) - log_lik(_rates(d0, s.bin_size)))
        kl.append(0.5 * (np.einsum("akk->a", cov) / prior_var + (theta ** 2).sum(1) / prior_var - 2
                         + np.log(prior_var ** 2 / np.linalg.det(cov))))
        entries += s.spikes.size
    gain, kl = np.concatenate(gain), np.concatenate(kl)
    smoothed = np.concatenate([_beta_amplitude(s, smoothing.gaussian_smooth(s.spikes, 0.02 / s.bin_size))
                               for s in sessions])
    true = np.concatenate([_beta_amplitude(s, s.rates) for s in sessions])
    print(f"oracle: per-trial phase recovered with r {np.round(r, 2).tolist()} (by session)")
    print(f"oracle: beta amplitude median {np.median(np.concatenate(amplitude)):.3f} (true rates "
          f"{np.median(true):.3f}, smoothed spikes 20 ms {np.median(smoothed):.3f})")
    print(f"oracle: encoding the rhythm is worth {np.mean(gain - kl):.1f} nats per trial to the ELBO "
          f"(log-likelihood {np.mean(gain):.1f}, KL {np.mean(kl):.1f}), {np.sum(gain - kl) / entries:.4f} per "
          f"data entry", flush=True)


def capacity(sessions, steps, seed):
    """Train a default-initialised autonomous GRU generator to output the beta latents from g0 =
    a linear map of the true (A, B)."""
    start = time.perf_counter()

    def report(i, r2):
        if i in (100, 300, steps):
            print(f"capacity: generator (update-gate bias +1) after {i} steps, R^2 of the beta latents "
                  f"{r2:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)

    train_beta_generator(sessions, steps, seed, report)


def train_beta_generator(sessions, steps, seed, report=None):
    """An autonomous GRU of the stitched core's size, started as `lfads.GRU` starts, trained by
    least squares for `steps` Adam steps to output the true beta latents from g0 = a linear map
    of the true (A, B). `report(i, r2)` is called after every step. Returns the parameters
    ("W_h", "b_x", "b_h", and the maps "W_0", "W_out") and the final R^2."""
    lat = np.concatenate([s.latents for s in sessions])
    envelope = 1 - BETA_SUPPRESSION * lat[..., CIS]
    x = jnp.asarray(lat[:, 0, BETA] / envelope[:, :1])
    y = jnp.asarray(lat[..., BETA])
    G, T = stitched_lfads.CORE_DEFAULTS["generator_size"], y.shape[1]
    gru = lfads.GRU(1, G, nnx.Rngs(seed))        # lfads' own start
    k0, k1 = jax.random.split(jax.random.key(seed))
    params = {"W_h": gru.W_h[...], "b_x": gru.b_x[...], "b_h": gru.b_h[...],
              "W_0": 0.1 * jax.random.normal(k0, (2, G)), "W_out": 0.1 * jax.random.normal(k1, (G, 2)) / np.sqrt(G)}

    def loss(p):
        g = lfads.gru_sequence(jnp.broadcast_to(p["b_x"], (T, x.shape[0], 3 * G)), p["W_h"], p["b_h"], x @ p["W_0"])
        return jnp.mean((jnp.swapaxes(g @ p["W_out"], 0, 1) - y) ** 2)

    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(4e-3))

    @jax.jit
    def step(p, state):
        value, grads = jax.value_and_grad(loss)(p)
        updates, state = opt.update(grads, state, p)
        return optax.apply_updates(p, updates), state, value

    state, var, value = opt.init(params), float(jnp.var(y)), float("nan")
    for i in range(1, steps + 1):
        params, state, value = step(params, state)
        if report is not None:
            report(i, 1 - float(value) / var)
    return params, 1 - float(value) / var


if __name__ == "__main__":
    main()
