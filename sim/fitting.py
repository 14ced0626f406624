"""Fitting a synthetic population to published counts: whole counts that sum exactly, exact selections by a
score (a threshold model: each row is chosen with probability logistic(score - c)), and the index of dissimilarity
the neighbourhood placement is fitted to."""

from __future__ import annotations

import numpy as np


def integerise(weights, total: int, rng: np.random.Generator) -> np.ndarray:
    """Whole counts proportional to ``weights`` that sum exactly to ``total`` (largest remainders, random ties)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short:
        order = np.lexsort((rng.random(len(w)), -(exact - base)))
        base[order[:short]] += 1
    return base


def fit_table(seed, rows, columns, rng: np.random.Generator, rounds: int = 100) -> np.ndarray:
    """Whole counts of a two-way table with the given row and column totals, as close to ``seed``'s pattern as
    iterative proportional fitting makes it; each column is then made whole to its total exactly (so the rows land
    within a few counts of theirs: the population's margins report says how close)."""
    m = np.array(seed, dtype=float)
    rows, columns = np.asarray(rows, dtype=float), np.asarray(columns, dtype=float)
    empty = m.sum(axis=0) == 0
    m[:, empty] = rows[:, None]  # (a category no row has in the seed: spread as the rows are)
    for _ in range(rounds):
        m *= (rows / np.maximum(m.sum(axis=1), 1e-300))[:, None]
        m *= (columns / np.maximum(m.sum(axis=0), 1e-300))[None, :]
    return np.column_stack([integerise(m[:, j], int(columns[j]), rng) for j in range(m.shape[1])])


def choose_exact(score: np.ndarray, k: int, rng: np.random.Generator, eligible=None) -> np.ndarray:
    """Boolean mask of exactly ``k`` rows: the top ``k`` of score + logistic noise among ``eligible`` rows."""
    if eligible is None:
        return choose_exact_among(len(score), None, score, k, rng)
    idx = np.flatnonzero(eligible)
    return choose_exact_among(len(score), idx, score[idx], k, rng)


def choose_exact_among(n: int, idx, score: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """:func:`choose_exact` among rows ``idx`` of ``n`` (None: all of them), given the scores of those rows alone
    (worked out for them, when it is the same elementwise arithmetic, rather than for everyone and then picked)."""
    mask = np.zeros(n, dtype=bool)
    k = int(min(max(k, 0), n if idx is None else len(idx)))
    if k == 0:
        return mask
    key = score + rng.logistic(size=len(score))
    top = np.argpartition(-key, k - 1)[:k]
    mask[top if idx is None else idx[top]] = True
    return mask


def dissimilarity(neighbourhood: np.ndarray, in_group: np.ndarray, n_neigh: int) -> float:
    """Index of dissimilarity D = 1/2 sum |a_i/A - b_i/B| across neighbourhoods."""
    a = np.bincount(neighbourhood[in_group], minlength=n_neigh)
    b = np.bincount(neighbourhood[~in_group], minlength=n_neigh)
    return dissimilarity_of_counts(a, b)


def dissimilarity_of_counts(a: np.ndarray, b: np.ndarray) -> float:
    """The index of dissimilarity from the two groups' counts in each unit."""
    a, b = a.astype(float), b.astype(float)
    if a.sum() == 0 or b.sum() == 0:
        return 0.0
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())
