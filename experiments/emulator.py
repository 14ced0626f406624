"""History matching's emulators: one Gaussian process per target over the unit box of parameters (scikit-learn;
ARD RBF kernel plus a white-noise term for the model's own randomness), the implausibility of a point, and the
screening of the box for what no wave's emulators rule out, from which :mod:`experiments.calibrate` draws each next
wave's points and the ensemble's candidates."""

from __future__ import annotations

import warnings

import numpy as np

from experiments import targets as T


class Emulator:
    """One Gaussian process per target over the unit box: mean and standard deviation of the model's output."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, seed: int):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        d = X.shape[1]
        self.models, self.centre, self.spread = [], [], []
        for j in range(Y.shape[1]):
            y = Y[:, j]
            ok = np.isfinite(y)
            c, s = float(np.mean(y[ok])), float(np.std(y[ok]) or 1.0)
            kernel = (ConstantKernel(1.0, (1e-3, 1e2)) * RBF(np.full(d, 0.5), (0.02, 50.0))
                      + WhiteKernel(0.1, (1e-6, 1.0)))
            gp = GaussianProcessRegressor(kernel, normalize_y=False, n_restarts_optimizer=1, random_state=seed)
            with warnings.catch_warnings():  # hyperparameters at a bound are expected (an inactive input)
                warnings.simplefilter("ignore", ConvergenceWarning)
                gp.fit(X[ok], (y[ok] - c) / s)
            self.models.append(gp)
            self.centre.append(c)
            self.spread.append(s)

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean, emulator sd, run-to-run sd) per point and target, in the targets' units."""
        mean, sd, noise = [], [], []
        for gp, c, s in zip(self.models, self.centre, self.spread):
            m, v = gp.predict(X, return_std=True)
            white = float(gp.kernel_.k2.noise_level)
            var_f = np.maximum(v**2 - white, 0.0)  # predict's sd includes the white noise; split it off
            mean.append(c + s * m)
            sd.append(s * np.sqrt(var_f))
            noise.append(np.full(len(X), s * np.sqrt(white)))
        return np.array(mean).T, np.array(sd).T, np.array(noise).T


def implausibility(targets: list[T.Target], mean: np.ndarray, var: np.ndarray, discrepancy: float) -> np.ndarray:
    """|z - E[f(x)]| / sqrt(Var_obs + Var_md + var) per point and target; Var_md = (discrepancy x obs sd)^2."""
    z = np.array([t.value for t in targets])
    obs = np.array([t.sd for t in targets]) ** 2
    return np.abs(z - mean) / np.sqrt(obs * (1 + discrepancy**2) + var)


def unit(X, bounds):
    b = np.asarray(bounds, float)
    return (np.asarray(X, float) - b[:, 0]) / (b[:, 1] - b[:, 0])


def scaled(U, bounds):
    b = np.asarray(bounds, float)
    return b[:, 0] + np.asarray(U, float) * (b[:, 1] - b[:, 0])


def not_ruled_out(emulators, targets, U, cutoff, discrepancy, diagnose=False):
    """Mask of points in the unit box that no wave's emulators rule out; with ``diagnose``, also for each target
    the share of the points the latest wave's emulator of that target alone would keep (which targets rule out
    most)."""
    keep = np.ones(len(U), dtype=bool)
    alone = np.full(len(targets), np.nan)
    for w, em in enumerate(emulators):
        last = w == len(emulators) - 1
        rows = np.arange(len(U)) if (last and diagnose) else np.flatnonzero(keep)
        if len(rows) == 0:
            break
        mean, sd, noise = em.predict(U[rows])
        imp = implausibility(targets, mean, sd**2 + noise**2, discrepancy)
        if last and diagnose:
            alone = (imp <= cutoff).mean(axis=0)
            imp, rows = imp[keep[rows]], rows[keep[rows]]
        keep[rows[imp.max(axis=1) > cutoff]] = False
    return keep, alone


def sample_not_ruled_out(emulators, targets, wanted: int, d: int, rng, study) -> tuple[np.ndarray, float, np.ndarray]:
    """Points the emulators do not rule out, by screening Latin hypercube batches of ``study.candidates`` points
    until ``wanted`` are found or ``study.max_candidates`` are screened: (points, share of the box kept, share
    each target alone keeps)."""
    from scipy.stats import qmc

    kept, drawn, alone = [], 0, None
    while drawn < int(study["max_candidates"]) and sum(len(k) for k in kept) < wanted:
        U = qmc.LatinHypercube(d=d, seed=rng).random(int(study["candidates"]))
        keep, a = not_ruled_out(emulators, targets, U, float(study["cutoff"]), float(study["discrepancy"]),
                         diagnose=alone is None)
        alone = a if alone is None else alone
        kept.append(U[keep])
        drawn += len(U)
    pool = np.concatenate(kept) if kept else np.zeros((0, d))
    return pool, len(pool) / max(drawn, 1), alone


def spread(pool: np.ndarray, n: int, rng) -> np.ndarray:
    """Indices of ``n`` points of ``pool`` chosen one at a time as far as possible from those already chosen."""
    if n >= len(pool):
        return np.arange(len(pool))
    sub = rng.choice(len(pool), size=min(len(pool), 20 * n), replace=False)
    P = pool[sub]
    chosen = [int(rng.integers(len(P)))]
    d = np.linalg.norm(P - P[chosen[0]], axis=1)
    for _ in range(n - 1):
        j = int(np.argmax(d))
        chosen.append(j)
        d = np.minimum(d, np.linalg.norm(P - P[j], axis=1))
    return sub[np.array(chosen)]
