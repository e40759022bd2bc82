"""The leaderboard: entries of results files, rendered to a table and a plot, and verified.

A *board* is a folder of entries on one suite::

    <board>/README.md            rendered table (do not edit by hand)
    <board>/leaderboard.png      rendered plot
    <board>/entries/<name>/metadata.json
    <board>/entries/<name>/<run>.json   one results file per training seed

The repository's ``leaderboard/`` holds one board per built-in leaderboard suite
(:data:`BOARDS`), in a folder named after it, and an index page, ``leaderboard/README.md``,
that shows the main board (:data:`MAIN_BOARD`) and links the archived ones
(:func:`render_boards`)::

    leaderboard/README.md                    the main board, then the archived boards
    leaderboard/leaderboard-v2/...           the main board (the reading-necessary design)
    leaderboard/leaderboard-v1/...           archived: frozen, still verifiable

``metadata.json`` holds ``name`` (the folder name), ``model`` (one line), ``frames``
(training frames, an integer, or null for none/unknown), ``uses_text`` and ``privileged``
(true/false; they pick the category: privileged, else text-using or text-blind) and ``notes``.
``uses_text`` must match what the runs' policies say; an entry whose policy is privileged must
say so. Every run must be on the board's suite; an entry has at least :data:`MIN_RUNS` runs
with distinct policy specs (and checkpoints), except an untrained one (``frames`` 0: random,
oracle), which has no training seeds to vary and may have a single run.

The score is HeldOut success: IQM over runs × families, with a 95% stratified bootstrap
interval (:func:`babyaipp.eval.metrics.score_aggregates`). When the board has the reference
entries :data:`FLOOR_ENTRY` and :data:`CEILING_ENTRY`, it also shows the oracle-normalised
score (:func:`normalised_scores`: 0 = the random policy, 1 = the oracle, per family).
:func:`verify_entry` re-plays every run from its policy spec and fails if any episode or
aggregate differs.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from babyaipp.eval.metrics import iqm, score_aggregates
from babyaipp.eval.results import diff, evaluate, load_results
from babyaipp.eval.suites import Suite
from babyaipp.io import atomic_write_bytes, atomic_write_text

HEADLINE_SPLIT = "HeldOut"
CATEGORIES = ("text-using", "text-blind", "privileged")
MIN_RUNS = 2  # one run gives no interval across training seeds
FLOOR_ENTRY, CEILING_ENTRY = "random", "oracle"  # normalised success: 0 and 1
METADATA_FILE = "metadata.json"
METADATA_KEYS = {
    "name": str,
    "model": str,
    "frames": (int, type(None)),
    "uses_text": bool,
    "privileged": bool,
    "notes": str,
}


class LeaderboardError(ValueError):
    """An entry that cannot be shown or does not verify; the message names it and why."""


@dataclass
class Entry:
    """A validated entry: its metadata and its runs (results dicts), sorted by file name."""

    path: Path
    metadata: dict[str, Any]
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.metadata["name"]

    @property
    def category(self) -> str:
        if self.metadata["privileged"]:
            return "privileged"
        return "text-using" if self.metadata["uses_text"] else "text-blind"

    def scores(self, split: str) -> np.ndarray:
        """Success rates, shape (runs, families), families in suite order."""
        rows = []
        for results in self.runs.values():
            suite = results["suite"]
            envs = results["aggregates"]["envs"]
            rows.append([envs[f"{f}/{split}"]["success"] for f in suite["families"]])
        return np.array(rows, dtype=np.float64)

    def summary(self, split: str) -> dict[str, Any]:
        return score_aggregates(self.scores(split))


BOARDS: dict[str, str] = {
    "leaderboard-v2": "the main board: the reading-necessary design (the v1 ids; "
    "docs/benchmark-v2.md)",
    "leaderboard-v1": "archived: the first design (the v0 ids), frozen and verifiable. Its "
    "text-blind oracle scores 0.978 on HeldOut, so it cannot tell reading from not reading",
}
"""The built-in boards, main first: suite name -> one line about it."""
MAIN_BOARD = next(iter(BOARDS))


def entries_dir(root: str | Path) -> Path:
    return Path(root) / "entries"


def board_dir(root: str | Path, suite_name: str) -> Path:
    """Where the board of suite ``suite_name`` lives under a boards folder ``root``: its own
    folder for a built-in board (:data:`BOARDS`), ``root`` itself for any other suite."""
    return Path(root) / suite_name if suite_name in BOARDS else Path(root)


def check_metadata(data: Any, source: str) -> dict[str, Any]:
    """Validate an entry's metadata dict; errors name ``source``."""
    if not isinstance(data, dict):
        raise LeaderboardError(f"{source}: metadata must be a JSON object")
    missing = sorted(set(METADATA_KEYS) - set(data))
    unknown = sorted(set(data) - set(METADATA_KEYS))
    if missing or unknown:
        raise LeaderboardError(
            f"{source}: missing keys {missing}, unknown keys {unknown}; "
            f"valid: {sorted(METADATA_KEYS)}"
        )
    for key, kind in METADATA_KEYS.items():
        value = data[key]
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise LeaderboardError(f"{source}: {key}={value!r} has the wrong type")
    if data["frames"] is not None and data["frames"] < 0:
        raise LeaderboardError(f"{source}: frames={data['frames']} must be >= 0 or null")
    return data


def load_entry(path: str | Path, suite: Suite) -> Entry:
    """Load and validate the entry in folder ``path`` (every run must be on ``suite``)."""
    path = Path(path)
    meta_path = path / METADATA_FILE
    if not meta_path.is_file():
        raise LeaderboardError(f"{path}: not an entry (no {METADATA_FILE})")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise LeaderboardError(f"{meta_path}: malformed JSON ({error})") from None
    check_metadata(metadata, str(meta_path))
    if metadata["name"] != path.name:
        raise LeaderboardError(f"{meta_path}: name {metadata['name']!r} != folder {path.name!r}")
    run_files = sorted(p for p in path.glob("*.json") if p.name != METADATA_FILE)
    if not run_files:
        raise LeaderboardError(f"{path}: entry has no results files")
    entry = Entry(path, metadata, {p.name: load_results(p, suite=suite) for p in run_files})
    _check_consistency(entry)
    return entry


def _check_consistency(entry: Entry) -> None:
    untrained = entry.metadata["frames"] == 0
    if len(entry.runs) < (1 if untrained else MIN_RUNS):
        raise LeaderboardError(
            f"{entry.path}: {len(entry.runs)} run(s); a trained entry needs at least "
            f"{MIN_RUNS} (one results file per training seed; only frames=0 allows one)"
        )
    specs, checkpoints = set(), set()
    for name, results in entry.runs.items():
        policy = results["policy"]
        where = f"{entry.path / name}"
        if policy["uses_text"] != entry.metadata["uses_text"]:
            raise LeaderboardError(
                f"{where}: the policy says uses_text={policy['uses_text']} but the entry's "
                f"metadata says {entry.metadata['uses_text']}"
            )
        if policy["privileged"] and not entry.metadata["privileged"]:
            raise LeaderboardError(f"{where}: the policy is privileged; the entry must say so")
        for value, seen, what in (
            (policy["spec"], specs, "policy spec"),
            (policy["checkpoint_sha256"], checkpoints, "checkpoint"),
        ):
            if value is not None and value in seen:
                raise LeaderboardError(
                    f"{where}: two runs share the {what} {value!r}; runs are training seeds"
                )
            seen.add(value)


def load_entries(root: str | Path, suite: Suite) -> list[Entry]:
    """Every entry under ``root/entries``, validated; sorted by name."""
    missing = [s for s in ("Train", HEADLINE_SPLIT) if s not in suite.splits]
    if missing:
        raise LeaderboardError(
            f"a board's suite needs the splits {missing}; {suite.ref()} lacks them"
        )
    folder = entries_dir(root)
    if not folder.is_dir():
        return []
    return [load_entry(p, suite) for p in sorted(folder.iterdir()) if p.is_dir()]


def normalised_scores(entry: Entry, floor: Entry, ceiling: Entry, split: str) -> np.ndarray:
    """(runs, families) success of ``entry`` rescaled per family so that the mean success of
    ``floor`` is 0 and that of ``ceiling`` is 1 (above 1 beats the ceiling).

    Raises LeaderboardError for a family where floor and ceiling score the same (no scale).
    """
    low, high = floor.scores(split).mean(axis=0), ceiling.scores(split).mean(axis=0)
    flat = np.flatnonzero(high - low <= 0)
    if flat.size:
        families = [floor.runs[next(iter(floor.runs))]["suite"]["families"][i] for i in flat]
        raise LeaderboardError(
            f"{ceiling.name} does not beat {floor.name} on {split} in {families}: "
            "normalised success is undefined there"
        )
    return (entry.scores(split) - low) / (high - low)


def _normaliser(entries: list[Entry]):
    """A function entry -> its normalised HeldOut IQM, or None without both references."""
    by_name = {e.name: e for e in entries}
    floor, ceiling = by_name.get(FLOOR_ENTRY), by_name.get(CEILING_ENTRY)
    if floor is None or ceiling is None:
        return None
    return lambda entry: iqm(normalised_scores(entry, floor, ceiling, HEADLINE_SPLIT))


def _ci(summary: dict[str, Any], key: str) -> str:
    value, (low, high) = summary[key], summary[f"{key}_ci"]
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"


def ranked(entries: list[Entry]) -> list[tuple[Entry, dict[str, Any]]]:
    """Entries with their headline summary, best HeldOut IQM first (ties by name)."""
    rows = [(e, e.summary(HEADLINE_SPLIT)) for e in entries]
    return sorted(rows, key=lambda row: (-row[1]["iqm"], row[0].name))


def render_markdown(entries: list[Entry], suite: Suite, image: str | None = None) -> str:
    """The leaderboard page: one table per category, sorted by HeldOut IQM."""
    lines = [
        f"# babyaipp leaderboard: `{suite.name}`",
        "",
        "Generated by `babyaipp leaderboard render` from `entries/`; do not edit by hand.",
        f"Suite `{suite.name}` v{suite.version} (sha256 `{suite.sha256[:16]}…`): "
        f"{', '.join(suite.families)}; {', '.join(suite.splits)}; {suite.episodes} episodes "
        f"per family and split, seeds from {suite.seed_start}.",
        "",
        f"Score: success rate on **{HEADLINE_SPLIT}** (colour–property pairs never drawn in "
        "training), IQM over runs × families with a 95% stratified bootstrap interval (runs "
        "resampled within each family). Train and Test are IQMs too; gap = Train − HeldOut "
        f"success (mean over runs and families); family columns: mean {HEADLINE_SPLIT} "
        "success over runs. Check an entry with `babyaipp leaderboard verify <entry>`.",
        "",
    ]
    normaliser = _normaliser(entries)
    if normaliser:
        lines += [
            f"Normalised IQM: {HEADLINE_SPLIT} success rescaled per family so that the "
            f"`{FLOOR_ENTRY}` entry scores 0 and the `{CEILING_ENTRY}` entry (the privileged "
            "planner that reads the description) scores 1, then the IQM over runs × families.",
            "",
        ]
    by_category = {c: [] for c in CATEGORIES}
    for entry, summary in ranked(entries):
        by_category[entry.category].append((entry, summary))
    headers = [
        "#",
        "Entry",
        "Model",
        "Frames",
        "Runs",
        f"{HEADLINE_SPLIT} IQM [95% CI]",
        *(["Normalised IQM"] if normaliser else []),
        "Train IQM",
        "Test IQM",
        "Gap",
        *suite.families,
    ]
    for category in CATEGORIES:
        lines += [f"## {category.capitalize()}", ""]
        rows = by_category[category]
        if not rows:
            lines += ["No entries yet.", ""]
            continue
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join("---" for _ in headers) + "|")
        for rank, (entry, summary) in enumerate(rows, 1):
            frames = entry.metadata["frames"]
            held = entry.scores(HEADLINE_SPLIT).mean(axis=0)
            gap = entry.scores("Train").mean() - entry.scores(HEADLINE_SPLIT).mean()
            cells = [
                str(rank),
                entry.name,
                entry.metadata["model"],
                "—" if frames is None else f"{frames:,}",
                str(summary["runs"]),
                _ci(summary, "iqm"),
                *([f"{normaliser(entry):.3f}"] if normaliser else []),
                f"{entry.summary('Train')['iqm']:.3f}",
                f"{entry.summary('Test')['iqm']:.3f}" if "Test" in suite.splits else "—",
                f"{gap:+.3f}",
                *(f"{v:.3f}" for v in held),
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    if image:
        lines += [f"![{HEADLINE_SPLIT} vs Train success]({image})", ""]
    return "\n".join(lines)


# Label geometry of render_plot, in points on its 6.4 x 5.6 inch axes at fontsize 8.
_CHAR_WIDTH, _LINE_HEIGHT, _POINTS_PER_UNIT = 4.8, 10.0, 400.0


def label_offsets(
    points: list[tuple[float, float]], names: list[str]
) -> list[tuple[float, float, str]]:
    """Where each point's name goes: ``(dx, dy, horizontal alignment)`` in offset points.

    A name sits above-right of its point (left of it near the right edge, where it would be
    cut off); when that box would overlap a name placed before it, it moves down a line at a
    time until it does not. Greedy and deterministic: same points, same picture.
    """
    placed: list[tuple[float, float, float, float]] = []  # boxes (x0, y0, x1, y1) in points
    offsets = []
    for (x, y), name in zip(points, names, strict=True):
        width = _CHAR_WIDTH * len(name)
        align = "right" if x > 0.7 else "left"
        dx = -5.0 if align == "right" else 5.0
        px, py = x * _POINTS_PER_UNIT, y * _POINTS_PER_UNIT
        dy = 5.0
        while True:
            x0 = px + dx - (width if align == "right" else 0.0)
            box = (x0, py + dy, x0 + width, py + dy + _LINE_HEIGHT)
            if not any(_overlap(box, other) for other in placed):
                break
            dy -= _LINE_HEIGHT
        placed.append(box)
        offsets.append((dx, dy, align))
    return offsets


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render_plot(entries: list[Entry], path: str | Path) -> Path:
    """PNG: per entry, HeldOut IQM against Train IQM with their 95% intervals."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 5.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="0.7", linestyle="--", linewidth=1, label="no gap")
    colors = dict(zip(CATEGORIES, ("tab:blue", "tab:orange", "tab:green"), strict=True))
    shown = set()
    points, names = [], []
    for entry, held in ranked(entries):
        train = entry.summary("Train")
        points.append((train["iqm"], held["iqm"]))
        names.append(entry.name)
        xerr = [[train["iqm"] - train["iqm_ci"][0]], [train["iqm_ci"][1] - train["iqm"]]]
        yerr = [[held["iqm"] - held["iqm_ci"][0]], [held["iqm_ci"][1] - held["iqm"]]]
        label = None if entry.category in shown else entry.category
        shown.add(entry.category)
        ax.errorbar(
            train["iqm"],
            held["iqm"],
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            capsize=3,
            color=colors[entry.category],
            label=label,
        )
    for name, point, (dx, dy, align) in zip(
        names, points, label_offsets(points, names), strict=True
    ):
        ax.annotate(name, point, textcoords="offset points", xytext=(dx, dy), ha=align, fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("Train success (IQM, 95% CI)")
    ax.set_ylabel(f"{HEADLINE_SPLIT} success (IQM, 95% CI)")
    ax.set_title("babyaipp leaderboard: generalisation to held-out dynamics")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def render(root: str | Path, suite: Suite) -> tuple[Path, Path]:
    """Write the board ``root``'s ``README.md`` and ``leaderboard.png``; returns both paths."""
    root = Path(root)
    entries = load_entries(root, suite)
    image = render_plot(entries, root / "leaderboard.png")
    page = root / "README.md"
    atomic_write_text(page, render_markdown(entries, suite, image=image.name))
    return page, image


def render_index(root: str | Path, suites: dict[str, Suite]) -> str:
    """The index page of a boards folder: the main board's table, then the archived boards."""
    main = suites[MAIN_BOARD]
    page = render_markdown(
        load_entries(board_dir(root, MAIN_BOARD), main),
        main,
        image=f"{MAIN_BOARD}/leaderboard.png",
    )
    lines = [
        page.replace(
            "from `entries/`;",
            f"from `{MAIN_BOARD}/entries/` ({BOARDS[MAIN_BOARD]});",
            1,
        ),
        "## Archived boards",
        "",
    ]
    lines += [f"- [`{name}`]({name}/README.md): {about}." for name, about in BOARDS.items()][1:]
    return "\n".join(lines) + "\n"


def render_boards(root: str | Path) -> list[Path]:
    """Render every built-in board under ``root`` and the index ``root/README.md``."""
    from babyaipp.eval.suites import load_suite

    suites = {name: load_suite(name) for name in BOARDS}
    written = []
    for name, suite in suites.items():
        written += render(board_dir(root, name), suite)
    index = Path(root) / "README.md"
    atomic_write_text(index, render_index(root, suites))
    return [index, *written]


def verify_entry(
    path: str | Path,
    suite: Suite,
    *,
    rerun: bool = True,
    vectorization: str = "async",
    progress: bool = False,
    trust_remote_code: bool = False,
) -> Entry:
    """Check an entry; with ``rerun``, re-play every run from its policy spec.

    Model files are loaded without running code from them unless ``trust_remote_code``
    (see :func:`babyaipp.eval.policies.policy_from_spec`): never set it for others' entries.

    Runs are re-played with the ``num_envs`` and ``greedy`` they record (``vectorization``
    does not change results, only speed).

    Raises LeaderboardError naming the run and the first differences if any episode,
    aggregate or policy hash differs from the submitted file.
    """
    entry = load_entry(path, suite)
    if not rerun:
        return entry
    from babyaipp.eval.policies import policy_from_spec

    for name, results in entry.runs.items():
        where = entry.path / name
        spec = results["policy"]["spec"]
        if not spec:
            raise LeaderboardError(f"{where}: no policy spec, so the run cannot be re-played")
        policy = policy_from_spec(spec, base_dir=entry.path, trust_remote_code=trust_remote_code)
        run = results["run"]
        again = evaluate(
            policy,
            suite,
            num_envs=run["num_envs"],
            greedy=run["greedy"],
            vectorization=vectorization,
            progress=progress,
        )
        differences = diff(
            {k: results[k] for k in ("policy", "aggregates", "episodes")},
            {k: again[k] for k in ("policy", "aggregates", "episodes")},
        )
        if differences:
            shown = "; ".join(differences[:5])
            raise LeaderboardError(
                f"{where}: re-playing {spec!r} does not reproduce the file "
                f"({len(differences)} differences; file != re-played: {shown})"
            )
    return entry


def add_entry(
    root: str | Path,
    name: str,
    results_paths: list[str | Path],
    suite: Suite,
    *,
    model: str,
    frames: int | None,
    privileged: bool = False,
    notes: str = "",
    overwrite: bool = False,
) -> Entry:
    """Create ``root/entries/<name>/`` from results files (validated first; nothing is
    written if any file fails). ``uses_text`` comes from the runs' policies."""
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise LeaderboardError(f"entry name {name!r} must use letters, digits, '-', '_', '.'")
    folder = entries_dir(root) / name
    if folder.exists() and not overwrite:
        raise LeaderboardError(f"entry {folder} exists (pass overwrite to replace it)")
    loaded = {}
    for path in map(Path, results_paths):
        if path.name in loaded or path.name == METADATA_FILE or path.suffix != ".json":
            raise LeaderboardError(
                f"{path}: two runs named {path.name!r} (or a reserved name or not .json)"
            )
        loaded[path.name] = (path.read_bytes(), load_results(path, suite=suite))
    uses_text = {r["policy"]["uses_text"] for _, r in loaded.values()}
    if len(uses_text) != 1:
        raise LeaderboardError(f"entry {name}: some runs use text and some do not")
    metadata = {
        "name": name,
        "model": model,
        "frames": frames,
        "uses_text": uses_text.pop(),
        "privileged": privileged or any(r["policy"]["privileged"] for _, r in loaded.values()),
        "notes": notes,
    }
    check_metadata(metadata, f"entry {name}")
    _check_consistency(Entry(folder, metadata, {k: r for k, (_, r) in loaded.items()}))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.json"):  # an overwritten entry keeps none of its old runs
        stale.unlink()
    for file_name, (data, _) in loaded.items():
        atomic_write_bytes(folder / file_name, data)
    atomic_write_text(folder / METADATA_FILE, json.dumps(metadata, indent=2) + "\n")
    return load_entry(folder, suite)
