"""Evaluation suites: frozen, versioned, hashed lists of (family, split, seeds) to score on.

A suite file (JSON, the built-in ones in ``levels/suites/``) holds::

    {
      "name": "leaderboard-v1",          # the file is levels/suites/<name>.json
      "version": 1,                      # bump on any change; results record it
      "doc": "one line",
      "families": ["GoToRedBall", ...],  # each must be a known family
      "splits": ["Train", "HeldOut", "Test"],
      "episodes": 500,                   # per (family, split)
      "seed_start": 1000000000,          # episode k of every env uses seed seed_start + k
      "sha256": "…"                      # of the canonical JSON of every other key
    }

Seed convention: training uses reset seeds below :data:`EVAL_SEED_START` (10^9); evaluation
seeds start at it, so the two never share an episode seed. Every split of a family uses the
same seeds, and since the layout has its own random stream (see :mod:`babyaipp.env`), episode
k has the same layout in Train, HeldOut and Test: split comparisons are paired.

A suite whose ``sha256`` does not match its content is refused (:class:`SuiteError`, naming the
file): suites are frozen, and a changed suite needs a new name or version.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EVAL_SEED_START = 10**9
"""Evaluation seeds are >= this; training seeds must stay below it."""
MAX_SEED = 2**63 - 1
SUITE_KEYS = ("name", "version", "doc", "families", "splits", "episodes", "seed_start")


class SuiteError(ValueError):
    """A suite that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Suite:
    """A validated suite. Build with :func:`load_suite` or :func:`make_suite`."""

    name: str
    version: int
    doc: str
    families: tuple[str, ...]
    splits: tuple[str, ...]
    episodes: int
    seed_start: int
    sha256: str

    @property
    def envs(self) -> list[tuple[str, str]]:
        """Every (family, split) of the suite, families outer, in file order."""
        return [(f, s) for f in self.families for s in self.splits]

    def seeds(self) -> list[int]:
        """The episode seeds of every env of the suite."""
        return list(range(self.seed_start, self.seed_start + self.episodes))

    @property
    def total_episodes(self) -> int:
        return len(self.envs) * self.episodes

    def content(self) -> dict[str, Any]:
        """The hashed content: every key but ``sha256``."""
        return {
            "name": self.name,
            "version": self.version,
            "doc": self.doc,
            "families": list(self.families),
            "splits": list(self.splits),
            "episodes": self.episodes,
            "seed_start": self.seed_start,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.content(), "sha256": self.sha256}

    def ref(self) -> str:
        return f"{self.name} v{self.version} ({self.sha256[:12]})"


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of ``content``."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def make_suite(
    name: str,
    families: list[str] | tuple[str, ...],
    splits: list[str] | tuple[str, ...] = ("Train", "HeldOut", "Test"),
    *,
    episodes: int,
    seed_start: int = EVAL_SEED_START,
    version: int = 1,
    doc: str = "",
) -> Suite:
    """A new suite with its hash computed (validated like a loaded one)."""
    content = {
        "name": name,
        "version": version,
        "doc": doc,
        "families": list(families),
        "splits": list(splits),
        "episodes": episodes,
        "seed_start": seed_start,
    }
    return suite_from_dict({**content, "sha256": content_hash(content)}, source=f"suite {name!r}")


def suite_from_dict(data: Any, source: str = "<dict>") -> Suite:
    """Validate ``data`` (hash included) and build a :class:`Suite`; errors name ``source``."""
    import babyaipp

    def fail(message: str) -> SuiteError:
        return SuiteError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail(f"a suite must be a JSON object, got {type(data).__name__}")
    missing = [k for k in (*SUITE_KEYS, "sha256") if k not in data]
    if missing:
        raise fail(f"missing keys {missing}")
    unknown = sorted(set(data) - {*SUITE_KEYS, "sha256"})
    if unknown:
        raise fail(f"unknown keys {unknown}; valid: {[*SUITE_KEYS, 'sha256']}")
    content = {k: data[k] for k in SUITE_KEYS}
    expected = content_hash(content)
    if data["sha256"] != expected:
        raise fail(
            f"content hash mismatch: the file says sha256={data['sha256']!r} but its content "
            f"hashes to {expected!r}; the suite was edited (suites are frozen: make a new "
            "version instead)"
        )
    name, version, episodes, seed_start = (
        data[k] for k in ("name", "version", "episodes", "seed_start")
    )
    if not isinstance(name, str) or not name:
        raise fail(f"name {name!r} must be a non-empty string")
    for key, value in (("version", version), ("episodes", episodes), ("seed_start", seed_start)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise fail(f"{key} {value!r} must be an integer")
    if version < 1 or episodes < 1:
        raise fail(f"version ({version}) and episodes ({episodes}) must be >= 1")
    if not EVAL_SEED_START <= seed_start <= MAX_SEED - episodes:
        raise fail(
            f"seed_start {seed_start} must be >= {EVAL_SEED_START} (evaluation seeds are disjoint "
            "from training seeds, which stay below it)"
        )
    for key in ("families", "splits"):
        value = data[key]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail(f"{key} must be a non-empty list of strings, got {value!r}")
        if len(set(value)) != len(value):
            raise fail(f"{key} {value} has duplicates")
    for family in data["families"]:
        if family not in babyaipp.FAMILIES:
            raise fail(f"unknown family {family!r}; known: {sorted(babyaipp.FAMILIES)}")
        spec = babyaipp.FAMILIES[family]
        for split in data["splits"]:
            if split not in spec.splits:
                raise fail(f"family {family} has no split {split!r}; valid: {list(spec.splits)}")
    if not isinstance(data["doc"], str):
        raise fail(f"doc must be a string, got {data['doc']!r}")
    return Suite(
        name=name,
        version=version,
        doc=data["doc"],
        families=tuple(data["families"]),
        splits=tuple(data["splits"]),
        episodes=episodes,
        seed_start=seed_start,
        sha256=expected,
    )


def builtin_suites() -> list[str]:
    """Names of the suites shipped in ``levels/suites/``."""
    root = importlib.resources.files("babyaipp.levels").joinpath("suites")
    return sorted(p.name[: -len(".json")] for p in root.iterdir() if p.name.endswith(".json"))


def suite_path(name_or_path: str | Path) -> Path:
    """The file of a built-in suite name, or ``name_or_path`` itself if it is a path."""
    text = str(name_or_path)
    if text.endswith(".json") or "/" in text or "\\" in text:
        return Path(text)
    path = Path(str(importlib.resources.files("babyaipp.levels").joinpath(f"suites/{text}.json")))
    if not path.is_file():
        raise SuiteError(f"unknown suite {text!r}; built-in suites: {builtin_suites()} (or a path)")
    return path


def load_suite(name_or_path: str | Path) -> Suite:
    """Load and validate a suite by built-in name (``"leaderboard-v1"``) or file path."""
    path = suite_path(name_or_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise SuiteError(f"{path}: cannot read suite file ({error})") from None
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: malformed JSON ({error})") from None
    return suite_from_dict(data, source=str(path))


def write_suite(suite: Suite, path: str | Path) -> None:
    """Write ``suite`` as a suite file (atomically)."""
    from babyaipp.io import atomic_write_text

    atomic_write_text(Path(path), json.dumps(suite.to_dict(), indent=2) + "\n")
