"""Results files: one evaluated run (every episode and its aggregates) as checked JSON.

A results file holds ``schema_version``, ``babyaipp_version``, ``vocab_hash``, the whole
``suite`` (with its hash), the ``policy`` (spec, name, uses_text, privileged, checkpoint
hash), the ``run`` settings (``num_envs``, ``greedy``), the ``aggregates``
(:func:`babyaipp.eval.metrics.run_aggregates`) and every episode. It holds no time stamps:
the same inputs give a byte-identical file.

:func:`load_results` refuses (``ResultsError``, naming the file) a file that is malformed,
from another schema version, from a tampered or unexpected suite, with missing, extra or
duplicate episodes, or whose aggregates do not follow from its episodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babyaipp.eval.metrics import run_aggregates
from babyaipp.eval.policies import policy_record
from babyaipp.eval.runner import run_suite
from babyaipp.eval.suites import Suite, SuiteError, suite_from_dict
from babyaipp.io import atomic_write_text
from babyaipp.policy import Policy

SCHEMA_VERSION = 1
TOP_KEYS = ("schema_version", "babyaipp_version", "vocab_hash", "suite", "policy", "run")
EPISODE_TYPES = {
    "family": str,
    "split": str,
    "seed": int,
    "return": (int, float),
    "length": int,
    "success": bool,
    "failure": (str, type(None)),
    "held_out": bool,
}


class ResultsError(ValueError):
    """A results file that cannot be used; the message names the file and the problem."""


def make_results(
    policy: Policy, suite: Suite, episodes: list[dict[str, Any]], *, num_envs: int, greedy: bool
) -> dict[str, Any]:
    """The results dict of ``episodes`` (played by ``policy`` on ``suite``)."""
    from babyaipp import __version__
    from babyaipp.vocab import VOCAB_HASH

    return {
        "schema_version": SCHEMA_VERSION,
        "babyaipp_version": __version__,
        "vocab_hash": VOCAB_HASH,
        "suite": suite.to_dict(),
        "policy": policy_record(policy),
        "run": {"num_envs": int(num_envs), "greedy": bool(greedy)},
        "aggregates": run_aggregates(episodes),
        "episodes": episodes,
    }


def evaluate(
    policy: Policy,
    suite: Suite,
    *,
    num_envs: int = 8,
    greedy: bool = True,
    vectorization: str = "async",
    progress: bool = True,
) -> dict[str, Any]:
    """Play ``suite`` with ``policy`` and return its results dict (see :func:`make_results`)."""
    episodes = run_suite(
        policy,
        suite,
        num_envs=num_envs,
        greedy=greedy,
        vectorization=vectorization,
        progress=progress,
    )
    return make_results(policy, suite, episodes, num_envs=num_envs, greedy=greedy)


def dumps_results(results: dict[str, Any]) -> str:
    """Stable JSON text: the header indented, then one episode per line."""
    head = {k: v for k, v in results.items() if k != "episodes"}
    text = json.dumps(head, indent=2, ensure_ascii=True)
    lines = [json.dumps(e, separators=(",", ":"), ensure_ascii=True) for e in results["episodes"]]
    return text[:-2] + ',\n  "episodes": [\n    ' + ",\n    ".join(lines) + "\n  ]\n}\n"


def write_results(results: dict[str, Any], path: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``results`` to ``path`` atomically; returns the path. With ``overwrite=False``
    an existing file is kept and FileExistsError raised (also if another run wrote it
    meanwhile)."""
    path = Path(path)
    atomic_write_text(path, dumps_results(results), overwrite=overwrite)
    return path


def diff(a: Any, b: Any, where: str = "") -> list[str]:
    """Every leaf where ``a`` and ``b`` differ, as ``"key.path: a != b"`` lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            sub = f"{where}.{key}" if where else str(key)
            if key not in a or key not in b:
                out.append(
                    f"{sub}: {'missing' if key not in a else a[key]!r} != "
                    f"{'missing' if key not in b else b[key]!r}"
                )
            else:
                out += diff(a[key], b[key], sub)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in diff(x, y, f"{where}[{i}]")
        ]
    if type(a) is not type(b) or a != b:
        return [f"{where}: {a!r} != {b!r}"]
    return []


def check_results(data: Any, source: str = "<results>", suite: Suite | None = None) -> dict:
    """Validate a results dict (see the module doc); returns it. ``suite``: the one expected."""

    def fail(message: str) -> ResultsError:
        return ResultsError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail(f"a results file must be a JSON object, got {type(data).__name__}")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise fail(
            f"schema_version {data.get('schema_version')!r} is not the {SCHEMA_VERSION} this "
            "babyaipp reads"
        )
    missing = [k for k in (*TOP_KEYS, "aggregates", "episodes") if k not in data]
    if missing:
        raise fail(f"missing keys {missing}")
    try:
        embedded = suite_from_dict(data["suite"], source="embedded suite")
    except SuiteError as error:
        raise fail(str(error)) from None
    if suite is not None and embedded.sha256 != suite.sha256:
        raise fail(f"results are for suite {embedded.ref()}, expected {suite.ref()}")
    for key, kind in (("policy", dict), ("run", dict), ("aggregates", dict), ("episodes", list)):
        if not isinstance(data[key], kind):
            raise fail(f"{key} must be a JSON {'object' if kind is dict else 'array'}")
    run = data["run"]
    if not isinstance(run.get("num_envs"), int) or not isinstance(run.get("greedy"), bool):
        raise fail(f"run {run!r} must hold num_envs (integer) and greedy (true/false)")
    _check_episodes(data["episodes"], embedded, fail)
    expected = run_aggregates(data["episodes"])
    differences = diff(data["aggregates"], expected)
    if differences:
        raise fail(
            f"aggregates do not follow from the episodes ({len(differences)} differences, "
            f"first: aggregates.{differences[0]} (file != recomputed))"
        )
    return data


def _check_episodes(episodes: list, suite: Suite, fail) -> None:
    for i, episode in enumerate(episodes):
        if not isinstance(episode, dict) or set(episode) != set(EPISODE_TYPES):
            raise fail(f"episodes[{i}] must have exactly the keys {sorted(EPISODE_TYPES)}")
        for key, kind in EPISODE_TYPES.items():
            value = episode[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise fail(f"episodes[{i}].{key} has the wrong type: {value!r}")
    expected = [(f, s, seed) for f, s in suite.envs for seed in suite.seeds()]
    found = [(e["family"], e["split"], e["seed"]) for e in episodes]
    if found != expected:
        found_set, expected_set = set(found), set(expected)
        extra = sorted(found_set - expected_set)[:3]
        lacking = sorted(expected_set - found_set)[:3]
        duplicates = len(found) - len(found_set)
        raise fail(
            f"episodes do not match suite {suite.ref()}: {len(found)} found, {len(expected)} "
            f"expected; not in the suite: {extra}; missing: {lacking}; duplicates: {duplicates}"
            + ("; or out of order" if not (extra or lacking or duplicates) else "")
        )


def load_results(path: str | Path, suite: Suite | None = None) -> dict[str, Any]:
    """Read and validate a results file (see :func:`check_results`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"{path}: cannot read results file ({error})") from None
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: malformed JSON ({error})") from None
    return check_results(data, source=str(path), suite=suite)


def results_suite(results: dict[str, Any]) -> Suite:
    """The (already validated) suite embedded in a results dict."""
    return suite_from_dict(results["suite"], source="embedded suite")
