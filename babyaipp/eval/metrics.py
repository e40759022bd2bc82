"""Metrics and aggregate statistics (the rliable recipe, on scipy).

- Per (family, split) of one run: success rate, mean return, mean length, trap-death rate
  (and the other failure rates); on Test also success with and without a held-out pair.
- Per family: the generalisation gap, Train success − HeldOut success.
- Across families of one run (:func:`run_aggregates`): mean and IQM of the per-family success,
  with 95% intervals from a bootstrap over episodes stratified by family.
- Across runs (training seeds) and families (:func:`score_aggregates`): mean and IQM of
  success with 95% stratified bootstrap intervals (runs resampled independently within each
  family), and the probability of improvement (:func:`probability_of_improvement`).

IQM is the mean of the middle 50% of the scores (``scipy.stats.trim_mean(x, 0.25)`` over
every run × family score). Intervals are percentile bootstrap intervals from
``scipy.stats.bootstrap`` with a fixed generator seed, so the same scores give the same
intervals. Floats are rounded to :data:`DIGITS` decimals so files compare exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

try:
    from scipy import stats
except ImportError as error:  # scipy is in the `eval` extra, not a core dependency
    raise ModuleNotFoundError(
        "babyaipp.eval needs scipy, which is in the 'eval' extra: "
        "pip install 'babyaipp[eval]' (or 'babyaipp[all]')",
        name="scipy",
    ) from error

DIGITS = 6
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
FAILURES = ("trap", "timeout", "mission")


def _r(x: float) -> float:
    return round(float(x), DIGITS)


def iqm(scores: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Interquartile mean: the mean after cutting the lowest and highest 25%."""
    scores = np.asarray(scores, dtype=np.float64)
    if axis is None:
        return stats.trim_mean(scores.reshape(-1), 0.25)
    return stats.trim_mean(scores, 0.25, axis=axis)


def env_metrics(episodes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics of the episodes of one (family, split)."""
    if not episodes:
        raise ValueError("no episodes to score")
    success = np.array([e["success"] for e in episodes], dtype=np.float64)
    held_out = np.array([e["held_out"] for e in episodes], dtype=bool)
    out: dict[str, Any] = {
        "episodes": len(episodes),
        "success": _r(success.mean()),
        "return": _r(np.mean([e["return"] for e in episodes])),
        "length": _r(np.mean([e["length"] for e in episodes])),
    }
    for failure in FAILURES:
        out[failure] = _r(np.mean([e["failure"] == failure for e in episodes]))
    out["held_out_fraction"] = _r(held_out.mean())
    if episodes[0]["split"] == "Test":
        for key, mask in (("with_held_out", held_out), ("without_held_out", ~held_out)):
            out[key] = {
                "episodes": int(mask.sum()),
                "success": _r(success[mask].mean()) if mask.any() else None,
            }
    return out


def _bootstrap(samples: list[np.ndarray], statistic) -> list[float]:
    """95% percentile interval of ``statistic`` under a stratified bootstrap of ``samples``.

    Each sample (stratum) is resampled independently: scipy's multi-sample bootstrap.
    """
    if all(len(s) < 2 or np.ptp(s) == 0 for s in samples):
        value = statistic(*[s[None, :] for s in samples], axis=-1)[0]
        return [_r(value), _r(value)]  # nothing to resample: a zero-width interval
    result = stats.bootstrap(
        tuple(samples),
        statistic,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return [_r(result.confidence_interval.low), _r(result.confidence_interval.high)]


def _episode_mean_of_families(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.stack([s.mean(axis=axis) for s in samples], axis=-1).mean(axis=-1)


def _episode_iqm_of_families(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return iqm(np.stack([s.mean(axis=axis) for s in samples], axis=-1), axis=-1)


def run_aggregates(episodes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every aggregate of one run: per env, per family (gap) and per split (over families)."""
    by_env: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for episode in episodes:
        by_env.setdefault((episode["family"], episode["split"]), []).append(episode)
    envs = {f"{f}/{s}": env_metrics(eps) for (f, s), eps in by_env.items()}
    families = {}
    for family in dict.fromkeys(f for f, _ in by_env):
        train, held = envs.get(f"{family}/Train"), envs.get(f"{family}/HeldOut")
        gap = _r(train["success"] - held["success"]) if train and held else None
        families[family] = {"gap": gap}
    splits = {}
    for split in dict.fromkeys(s for _, s in by_env):
        samples = [
            np.array([e["success"] for e in eps], dtype=np.float64)
            for (_, s), eps in by_env.items()
            if s == split
        ]
        scores = np.array([s.mean() for s in samples])
        splits[split] = {
            "families": len(samples),
            "mean": _r(scores.mean()),
            "mean_ci": _bootstrap(samples, _episode_mean_of_families),
            "iqm": _r(iqm(scores)),
            "iqm_ci": _bootstrap(samples, _episode_iqm_of_families),
        }
    return {"envs": envs, "families": families, "splits": splits}


# -- across runs -------------------------------------------------------------------------------


def _run_mean(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.concatenate(samples, axis=axis).mean(axis=axis)


def _run_iqm(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    return iqm(np.concatenate(samples, axis=axis), axis=axis)


def score_aggregates(scores: np.ndarray) -> dict[str, Any]:
    """Mean and IQM of a (runs, families) score matrix, with stratified bootstrap intervals.

    Each family's column of runs is resampled independently (rliable's stratified bootstrap).
    With a single run the intervals have zero width: they measure variation across runs.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.size == 0:
        raise ValueError(f"scores must be a non-empty (runs, families) matrix, got {scores.shape}")
    samples = [scores[:, f] for f in range(scores.shape[1])]
    return {
        "runs": scores.shape[0],
        "mean": _r(scores.mean()),
        "mean_ci": _bootstrap(samples, _run_mean),
        "iqm": _r(iqm(scores)),
        "iqm_ci": _bootstrap(samples, _run_iqm),
    }


def _poi(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
    """Probability of improvement; samples are x_1, y_1, x_2, y_2, … (one pair per family)."""
    values = []
    for x, y in zip(samples[0::2], samples[1::2], strict=True):
        greater = (x[..., :, None] > y[..., None, :]).mean(axis=(-1, -2))
        ties = (x[..., :, None] == y[..., None, :]).mean(axis=(-1, -2))
        values.append(greater + 0.5 * ties)
    return np.mean(values, axis=0)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """P(X > Y): the chance that a run of X beats a run of Y on a random family.

    ``x`` and ``y`` are (runs, families) score matrices with the same families. Per family it
    is the Mann–Whitney statistic U / (m n) (ties count half), averaged over families; the
    interval resamples the runs of x and of y independently within each family.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or x.size == 0 or y.size == 0:
        raise ValueError(
            f"x {x.shape} and y {y.shape} must be (runs, families) with equal families"
        )
    # scipy resamples only samples of >= 2 values; [a, a] resamples exactly like [a] here.
    x, y = (np.repeat(m, 2, axis=0) if len(m) == 1 else m for m in (x, y))
    samples = [s for f in range(x.shape[1]) for s in (x[:, f], y[:, f])]
    value = _poi(*[s[None, :] for s in samples])[0]
    return {"probability": _r(value), "ci": _bootstrap(samples, _poi)}
