"""Value of information from PSA draws: EVPI, and EVPPI by Gaussian-process regression.

EVPI = E[max_d NB_d] − max_d E[NB_d] over the draws (net benefit NB_d = λ·QALYs_d − costs_d per
patient). EVPPI of a parameter (or group) φ follows Strong, Oakley & Brennan (Med Decis Making
2014;34:311-26): regress each strategy's incremental net benefit on φ across the draws with a
Gaussian process (scikit-learn, RBF + white-noise kernel, inputs standardised), then
EVPPI = mean_draws max_d ĝ_d(φ) − max_d mean_draws ĝ_d(φ), capped at the EVPI of the same draws
(partial information is worth at most perfect information). Its standard error is the spread of
that estimate over draws from the Gaussian process posterior of the fitted values (their
regression uncertainty). The population EVPI multiplies the per-patient value by the patients
affected over the decision horizon, discounted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evppi:
    """EVPPI per patient (currency units) with its standard error, and the EVPI of the same draws."""

    parameters: tuple[str, ...]
    evppi: float
    se: float
    evpi: float


def evpi(net_benefit: np.ndarray) -> float:
    """EVPI per patient from a (draws, strategies) net-benefit matrix."""
    nb = np.asarray(net_benefit, dtype=float)
    return float(nb.max(axis=1).mean() - nb.mean(axis=0).max())


def population_evpi(per_patient: float, patients_per_year: float, years: int, discount: float) -> float:
    """Per-patient value × patients affected over ``years``, discounted at ``discount`` a year."""
    return float(per_patient * patients_per_year * sum((1 + discount) ** -t for t in range(years)))


def evppi(net_benefit: np.ndarray, phi: np.ndarray, names: tuple[str, ...] = (), *, posterior_draws: int = 200,
          seed: int = 0) -> Evppi:
    """EVPPI of the parameter(s) ``phi`` (draws, k) from a (draws, strategies) net-benefit matrix."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    nb = np.asarray(net_benefit, dtype=float)
    x = np.asarray(phi, dtype=float).reshape(nb.shape[0], -1)
    x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    inb = nb[:, 1:] - nb[:, :1]                 # incremental to the first strategy (EVPPI is unchanged)
    fitted = np.zeros_like(inb)
    samples = np.zeros((posterior_draws,) + inb.shape)
    for j in range(inb.shape[1]):
        y = inb[:, j]
        scale = y.std() if y.std() > 0 else 1.0
        kernel = ConstantKernel(1.0) * RBF(length_scale=np.ones(x.shape[1])) + WhiteKernel(0.1)
        gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False, random_state=seed)
        with warnings.catch_warnings():      # a bound reached (e.g. a flat fit: no value of information)
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, (y - y.mean()) / scale)
        noise = gp.kernel_.k2.noise_level
        mean, cov = gp.predict(x, return_cov=True)
        cov = cov - noise * np.eye(len(y))      # the regression function, without the residual noise
        fitted[:, j] = y.mean() + scale * mean
        rng = np.random.default_rng(seed + j)
        w, v = np.linalg.eigh((cov + cov.T) / 2)
        root = v * np.sqrt(np.clip(w, 0, None))
        samples[:, :, j] = y.mean() + scale * (mean + rng.standard_normal((posterior_draws, len(y))) @ root.T)

    def value(g: np.ndarray) -> float:
        full = np.concatenate([np.zeros(g.shape[:-1] + (1,)), g], axis=-1)
        return float(full.max(axis=-1).mean() - full.mean(axis=-2).max())

    full_evpi = evpi(nb)
    est = min(value(fitted), full_evpi)         # partial information is worth at most perfect information
    se = float(np.std([value(s) for s in samples], ddof=1)) if posterior_draws > 1 else 0.0
    return Evppi(tuple(names), est, se, full_evpi)


def psa_evppi(outcomes, parameters, groups: list[list[str]], wtp: float) -> list[Evppi]:
    """EVPPI of each parameter group from a PSA folder's ``outcomes`` and ``parameters`` tables
    (pandas frames), at willingness to pay ``wtp`` per QALY."""
    o = outcomes.assign(nb=wtp * outcomes["qalys"] - outcomes["costs"])
    nb = o.pivot(index="draw", columns="arm", values="nb")
    arms = list(dict.fromkeys(outcomes["arm"]))
    nb = nb[arms].sort_index()
    par = parameters.set_index("draw").loc[nb.index]
    out = []
    for g in groups:
        missing = [n for n in g if n not in par.columns]
        if missing:
            raise KeyError(", ".join(missing))
        out.append(evppi(nb.to_numpy(), par[g].to_numpy(), tuple(g)))
    return out
