"""The paired-text probe: does a policy read the description?

The same seeds are played with the description true (``text="full"``), lying
(``"shuffled"``: the properties permuted across the colours) and absent (``"none"``). The env
draws layout, map and tiles from streams that do not depend on the text mode, so episode *s*
differs across modes only in its description; the probe checks that (the map of every episode
must match across modes) and reports, per mode, the success and trap rates and, paired by seed,
the success difference to the true text with a bootstrap confidence interval. A policy that
reads loses success when the text lies; a policy that ignores the text does not.

Policies are given as specs (:func:`load_probe_policy`): ``oracle``, ``blind-oracle``,
``random:seed=N``, the path of a checkpoint, or any other spec that
:func:`babyaipp.eval.policies.policy_from_spec` knows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PROBE_MODES: tuple[str, ...] = ("full", "shuffled", "none")


def load_probe_policy(spec: str):
    """A :class:`babyaipp.policy.Policy` from ``spec``: ``oracle``, ``blind-oracle``, the path of
    a checkpoint, or any policy spec of :mod:`babyaipp.eval.policies` (``random:seed=N``,
    ``checkpoint:PATH``, …). ValueError for anything else, and when a checkpoint cannot be
    loaded (no torch, no ``babyaipp.agents``)."""
    from babyaipp.oracle.policy import OraclePolicy

    if spec in ("oracle", "blind-oracle"):
        return OraclePolicy(reads_text=spec == "oracle")
    from babyaipp.eval.policies import load_checkpoint_policy, policy_from_spec, policy_kinds

    try:
        if Path(spec).is_file() or Path(spec).is_dir():
            return load_checkpoint_policy(spec)
        if spec.partition(":")[0] in policy_kinds():
            return policy_from_spec(spec)
    except ImportError as error:
        raise ValueError(f"policy {spec!r}: {error}") from None
    raise ValueError(
        f"unknown policy {spec!r}; valid: oracle, blind-oracle, the path of a checkpoint, or a "
        f"policy spec of kind {policy_kinds()} (e.g. random:seed=0)"
    )


def play(
    policy, env_id: str, seeds: Sequence[int], text: str = "full", num_envs: int = 1
) -> list[dict[str, Any]]:
    """One greedy episode per seed of ``env_id`` with ``text=``: a dict per episode (seed,
    success, failure, return, length, floor_properties), in seed order.

    ``num_envs`` sub-envs play at once (:func:`babyaipp.eval.runner.play_seeds`). With 1, the
    default, the episodes are played one after the other, so a seeded random policy draws the
    same numbers in every text mode; a greedy agent plays the same episodes with any number.
    """
    from babyaipp.eval.runner import play_seeds

    episodes = play_seeds(
        policy,
        env_id,
        [int(seed) for seed in seeds],
        num_envs=num_envs,
        env_kwargs={"text": text},
        info_keys=("floor_properties",),
    )
    keys = ("seed", "success", "failure", "return", "length", "floor_properties")
    return [{key: episode[key] for key in keys} for episode in episodes]


def paired_interval(diff: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """A 95% bootstrap interval (scipy, BCa) of the mean of per-seed differences."""
    if len(diff) < 2 or np.ptp(diff) == 0:
        mean = float(np.mean(diff)) if len(diff) else float("nan")
        return mean, mean
    from scipy.stats import bootstrap

    result = bootstrap(
        (diff,), np.mean, confidence_level=0.95, random_state=np.random.default_rng(seed)
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def probe(
    make_policy: Callable[[], Any],
    env_id: str,
    seeds: Sequence[int],
    modes: Sequence[str] = PROBE_MODES,
    num_envs: int = 1,
) -> dict[str, Any]:
    """Play ``seeds`` in every text mode of ``modes`` (the first is the reference) and compare.

    ``make_policy()`` builds a fresh policy for each mode, so that a seeded stochastic policy
    draws the same actions in every mode and only the text differs between paired episodes
    (with ``num_envs`` > 1, :func:`play`, that holds for greedy agents only).

    Returns ``{"env_id", "policy", "seeds", "modes": {mode: {success_rate, trap_rate,
    mean_return, success_drop, success_drop_ci}}, "episodes": {mode: [...]}}``, where
    ``success_drop`` is the mean over seeds of success(reference) − success(mode).
    """
    from babyaipp.text import TEXT_MODES

    bad = [m for m in modes if m not in TEXT_MODES]
    if bad or not modes:
        raise ValueError(f"unknown text modes {bad or modes!r}; valid: {list(TEXT_MODES)}")
    if not seeds:
        raise ValueError("the probe needs at least one seed")
    policies = {mode: make_policy() for mode in modes}
    episodes = {mode: play(policies[mode], env_id, seeds, mode, num_envs) for mode in modes}
    reference = modes[0]
    for mode in modes[1:]:
        for a, b in zip(episodes[reference], episodes[mode], strict=True):
            if a["floor_properties"] != b["floor_properties"]:
                raise RuntimeError(
                    f"{env_id} seed {a['seed']}: the map differs between text={reference!r} "
                    f"and text={mode!r} ({a['floor_properties']} vs {b['floor_properties']}); "
                    "the probe needs paired episodes"
                )
    ref_success = np.array([e["success"] for e in episodes[reference]], dtype=float)
    summary = {}
    for mode in modes:
        success = np.array([e["success"] for e in episodes[mode]], dtype=float)
        drop = ref_success - success
        summary[mode] = {
            "success_rate": float(success.mean()),
            "trap_rate": float(np.mean([e["failure"] == "trap" for e in episodes[mode]])),
            "mean_return": float(np.mean([e["return"] for e in episodes[mode]])),
            "success_drop": float(drop.mean()),
            "success_drop_ci": paired_interval(drop),
        }
    return {
        "env_id": env_id,
        "policy": policies[modes[0]].name,
        "seeds": [int(s) for s in seeds],
        "reference": reference,
        "modes": summary,
        "episodes": episodes,
    }


def format_probe(result: dict[str, Any]) -> str:
    """A small text table of a :func:`probe` result."""
    lines = [
        f"{result['env_id']}  policy={result['policy']}  episodes={len(result['seeds'])}  "
        f"(paired by seed; drop = success with text={result['reference']!r} minus this mode)",
        f"{'text':10s} {'success':>8s} {'trap':>6s} {'return':>7s} {'drop':>7s}  95% CI of drop",
    ]
    for mode, row in result["modes"].items():
        low, high = row["success_drop_ci"]
        lines.append(
            f"{mode:10s} {row['success_rate']:8.3f} {row['trap_rate']:6.3f} "
            f"{row['mean_return']:7.3f} {row['success_drop']:7.3f}  [{low:.3f}, {high:.3f}]"
        )
    return "\n".join(lines)
