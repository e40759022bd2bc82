"""``babyaipp reproduce``: train every (model, seed, family) of a suite, evaluate, write entries.

For each training seed, each model and each family of the suite, one agent is trained with
the project's trainer (:func:`babyaipp.agents.trainer.train`) on the family's Train split.
When every family of a (model, seed) has its agent, the agents are evaluated on the suite
behind one policy spec, ``checkpoints:seed<k>/manifest.json``
(:mod:`babyaipp.eval.family_checkpoints`), and the results file becomes one run of the
leaderboard entry ``<prefix><model>``. Layout::

    <out>/runs/<model>/seed<k>/<Family>/      trainer run dirs: checkpoint.pt (with the
                                              optimizer, to resume), progress.csv, TensorBoard
    <board>/entries/<prefix><model>/          the entry (<board> defaults to <out>/leaderboard)
        metadata.json
        <prefix><model>-seed<k>.json          results on the suite, one per training seed
        seed<k>/manifest.json                 family -> checkpoint file and sha256
        seed<k>/<Family>.pt                   the final weights (no optimizer state)
        seed<k>/<Family>.csv                  the training log (progress.csv)

Resuming: a run whose ``seed<k>/<Family>.pt`` exists is finished and skipped; a run whose
trainer checkpoint exists continues from it (losing at most one checkpoint interval); a
(model, seed) whose results file exists and matches its manifest is not evaluated again. So a
kill at any point loses at most the run in progress since its last checkpoint, and with
``git_commit`` each finished run's small files are committed as soon as they are written
(the trainer run dirs under ``runs/`` are ignored by git and never committed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from babyaipp.agents.checkpoint import CHECKPOINT_NAME, load_checkpoint
from babyaipp.agents.config import PRESETS, TrainConfig, with_legacy_values
from babyaipp.eval.family_checkpoints import write_manifest
from babyaipp.eval.suites import Suite
from babyaipp.io import atomic_write_bytes, atomic_write_text, file_sha256

RUNS_DIR = "runs"
MANIFEST_NAME = "manifest.json"
HEADER_KEYS = ("format", "babyaipp_version", "vocab_hash")
WEIGHT_KEYS = ("model", "spaces", "config", "iteration", "global_step", "model_state")
"""What an evaluation needs from a trainer checkpoint (no optimizer or RNG state)."""
FIXED_KEYS = ("model", "seed", "env_id", "total_frames", "run_dir", "run_name", "resume")
"""Config fields that reproduce sets itself (``overrides`` may not)."""
LOCAL_KEYS = (
    "run_dir",
    "run_name",
    "resume",
    "progress",
    "device",
    "amp",
    "torch_threads",
    "preset",
)
"""Config fields that may differ between the run that was killed and the one that resumes
(``preset`` is only a name: the values it sets are compared field by field)."""


@dataclass(frozen=True)
class Run:
    """One training run: a model, a training seed and a family of the suite."""

    model: str
    seed: int
    family: str

    def __str__(self) -> str:
        return f"{self.model} seed {self.seed} {self.family}"


@dataclass
class Reproduction:
    """The plan of a reproduction and the code that carries it out (:meth:`run`)."""

    suite: Suite
    models: list[str]
    seeds: list[int]
    frames: int
    out: Path
    board: Path | None = None
    prefix: str = "ppo-"
    preset: str = "medium"
    overrides: dict[str, Any] = field(default_factory=dict)
    env_backend: str = "batched"
    eval_num_envs: int = 16
    vectorization: str = "sync"
    git_commit: bool = False
    progress: bool = True
    progress_interval: float = 10.0
    stream: TextIO = sys.stderr

    def __post_init__(self) -> None:
        from babyaipp.agents.fusion import MODELS

        self.out = Path(self.out)
        self.board = Path(self.board) if self.board is not None else self.out / "leaderboard"
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(f"unknown models {unknown or self.models}; valid: {list(MODELS)}")
        if len(set(self.models)) != len(self.models) or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"models {self.models} and seeds {self.seeds} must not repeat")
        if not self.seeds or min(self.seeds) < 0:
            raise ValueError(f"seeds {self.seeds} must be one or more integers >= 0")
        if self.frames < 1:
            raise ValueError(f"frames={self.frames} must be at least 1")
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; valid: {list(PRESETS)}")
        fixed = sorted(set(self.overrides) & set(FIXED_KEYS))
        if fixed:
            raise ValueError(f"overrides may not set {fixed}: reproduce sets them per run")
        for model in self.models:
            name = self.entry_name(model)
            if not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
                raise ValueError(f"entry name {name!r} must use letters, digits, '-', '_', '.'")
        for run in self.runs:  # every config is valid before anything is trained
            self.train_config(run)
        if self.git_commit:
            self._check_git()
        self._pending = self.pending()

    # -- the plan --------------------------------------------------------------------------

    @property
    def runs(self) -> list[Run]:
        """Every training run, seed by seed (so all models get a first seed early)."""
        return [
            Run(model, seed, family)
            for seed in self.seeds
            for model in self.models
            for family in self.suite.families
        ]

    def entry_name(self, model: str) -> str:
        return f"{self.prefix}{model}"

    def entry_dir(self, model: str) -> Path:
        return self.board / "entries" / self.entry_name(model)

    def seed_dir(self, model: str, seed: int) -> Path:
        return self.entry_dir(model) / f"seed{seed}"

    def final_checkpoint(self, run: Run) -> Path:
        return self.seed_dir(run.model, run.seed) / f"{run.family}.pt"

    def log_copy(self, run: Run) -> Path:
        return self.seed_dir(run.model, run.seed) / f"{run.family}.csv"

    def results_path(self, model: str, seed: int) -> Path:
        return self.entry_dir(model) / f"{self.entry_name(model)}-seed{seed}.json"

    def run_dir(self, run: Run) -> Path:
        return self.out / RUNS_DIR / run.model / f"seed{run.seed}" / run.family

    def spec(self, seed: int) -> str:
        return f"checkpoints:seed{seed}/{MANIFEST_NAME}"

    def train_config(self, run: Run) -> TrainConfig:
        """The trainer's config of ``run``: the preset, the overrides, then the run's own."""
        from babyaipp import get_family

        values = {
            **PRESETS[self.preset],
            "env_backend": self.env_backend,
            **self.overrides,
            "preset": self.preset,
            "model": run.model,
            "seed": run.seed,
            "env_id": get_family(run.family).env_id("Train"),
            "total_frames": self.frames,
            "run_dir": str(self.run_dir(run).parent),
            "run_name": run.family,
            "progress": False,
        }
        try:
            return TrainConfig(**values).validate()
        except TypeError as error:
            raise ValueError(f"overrides {self.overrides}: {error}") from None

    def run_frames(self, run: Run) -> int:
        """The frames the trainer really runs (whole iterations)."""
        cfg = self.train_config(run)
        return cfg.num_iterations * cfg.batch_size

    def pending(self) -> list[Run]:
        return [run for run in self.runs if not self.final_checkpoint(run).is_file()]

    # -- carrying it out -------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Train what is missing, evaluate what is trained, write the entries; a summary."""
        summary = {"trained": [], "skipped": [], "evaluated": [], "entries": []}
        self._pending = self.pending()
        self._log(
            f"{len(self.runs)} runs ({len(self.models)} models x {len(self.seeds)} seeds x "
            f"{len(self.suite.families)} families), {len(self.runs) - len(self._pending)} "
            f"finished; entries under {self.board / 'entries'}"
        )
        for seed in self.seeds:
            for model in self.models:
                for family in self.suite.families:
                    run = Run(model, seed, family)
                    done = self.train_run(run)
                    summary["trained" if done else "skipped"].append(str(run))
                if self.finish_seed(model, seed):
                    summary["evaluated"].append(f"{model} seed {seed}")
        summary["entries"] = [str(self.entry_dir(m)) for m in self.models]
        self._log(
            f"done: {len(summary['trained'])} runs trained, {len(summary['skipped'])} skipped, "
            f"{len(summary['evaluated'])} (model, seed) evaluated"
        )
        return summary

    def train_run(self, run: Run) -> bool:
        """Train ``run`` unless finished; True if it trained (or finished a trained run)."""
        from babyaipp.agents.trainer import train

        final = self.final_checkpoint(run)
        cfg = self.train_config(run)
        if final.is_file():
            self._check_config(final, cfg)
            # committed already, unless the last process stopped between writing and committing
            self._commit([self.log_copy(run), final], self._message(run))
            return False
        checkpoint = self.run_dir(run) / CHECKPOINT_NAME
        index = self.runs.index(run) + 1
        total = self.run_frames(run)
        if checkpoint.is_file():
            payload = load_checkpoint(checkpoint)
            self._check_config(checkpoint, cfg, payload["config"])
            if payload["iteration"] < cfg.num_iterations:
                self._log(
                    f"[{index}/{len(self.runs)}] {run}: resuming from {payload['global_step']:,} "
                    f"frames (iteration {payload['iteration']})"
                )
                cfg.resume = str(self.run_dir(run))
                train(cfg, on_iteration=self._progress(run, index, total))
        else:
            self._log(f"[{index}/{len(self.runs)}] {run}: training {total:,} frames")
            train(cfg, on_iteration=self._progress(run, index, total))
        self._keep(run, checkpoint)
        self._pending = [r for r in self._pending if r != run]
        return True

    def _keep(self, run: Run, checkpoint: Path) -> None:
        """Copy the log, then the final weights (whose presence marks the run finished)."""
        log = self.log_copy(run)
        atomic_write_bytes(log, (self.run_dir(run) / "progress.csv").read_bytes())
        final = self.final_checkpoint(run)
        atomic_write_bytes(final, weights_only(checkpoint))
        size = final.stat().st_size
        self._log(f"{run}: finished; kept {final} ({size / 1e6:.2f} MB) and {log.name}")
        self._commit([log, final], self._message(run))

    def _message(self, run: Run) -> str:
        return f"reproduce: {self.entry_name(run.model)} {run} trained"

    def finish_seed(self, model: str, seed: int) -> bool:
        """Evaluate the agents of (model, seed) unless their results are current."""
        from babyaipp.eval.policies import policy_from_spec
        from babyaipp.eval.results import evaluate, write_results

        folder = self.seed_dir(model, seed)
        manifest = write_manifest(
            folder / MANIFEST_NAME,
            model,
            seed,
            {f: folder / f"{f}.pt" for f in self.suite.families},
        )
        results_path = self.results_path(model, seed)
        message = f"reproduce: {self.entry_name(model)} seed {seed} evaluated on {self.suite.name}"
        if self._results_current(results_path, manifest, self.spec(seed)):
            metadata = self._write_metadata(model)
            self._commit([manifest, results_path, metadata], message)
            return False
        self._log(f"{model} seed {seed}: evaluating on {self.suite.name} ({self.suite.ref()})")
        policy = policy_from_spec(self.spec(seed), base_dir=self.entry_dir(model))
        results = evaluate(
            policy,
            self.suite,
            num_envs=self.eval_num_envs,
            greedy=True,
            vectorization=self.vectorization,
            # a bar redrawn with \r is for a terminal; in a log file it is one endless line
            progress=self.progress and sys.stderr.isatty(),
        )
        write_results(results, results_path)
        metadata = self._write_metadata(model)
        held = results["aggregates"]["splits"].get("HeldOut", {}).get("mean")
        self._log(f"{model} seed {seed}: wrote {results_path} (HeldOut mean success {held})")
        self._commit([manifest, results_path, metadata], message)
        return True

    def _results_current(self, path: Path, manifest: Path, spec: str) -> bool:
        from babyaipp.eval.results import ResultsError, load_results

        if not path.is_file():
            return False
        try:
            results = load_results(path, suite=self.suite)
        except (ResultsError, ValueError) as error:
            self._log(f"{path}: not usable ({error}); evaluating again")
            return False
        policy = results["policy"]
        return policy["spec"] == spec and policy["checkpoint_sha256"] == file_sha256(manifest)

    def _write_metadata(self, model: str) -> Path:
        """The entry's metadata.json (``uses_text`` from its results files)."""
        from babyaipp.eval.leaderboard import METADATA_FILE

        uses_text = set()
        for seed in self.seeds:
            path = self.results_path(model, seed)
            if path.is_file():
                uses_text.add(json.loads(path.read_text(encoding="utf-8"))["policy"]["uses_text"])
        if len(uses_text) != 1:
            raise ValueError(f"{self.entry_dir(model)}: the runs disagree on uses_text")
        families = self.suite.families
        overrides = f", overrides {json.dumps(self.overrides, sort_keys=True)}"
        metadata = {
            "name": self.entry_name(model),
            "model": f"{model} + LSTM, recurrent PPO (babyaipp trainer), one agent per family",
            "frames": sum(self.run_frames(Run(model, self.seeds[0], f)) for f in families),
            "uses_text": uses_text.pop(),
            "privileged": False,
            "notes": (
                f"babyaipp reproduce: one agent per family of {self.suite.name}, "
                f"--frames {self.frames:,} each (frames = the total over {len(families)} "
                f"families), preset {self.preset!r}, env backend {self.env_backend!r}"
                f"{overrides if self.overrides else ''}; each run's policy spec is "
                f"checkpoints:seed<k>/{MANIFEST_NAME} (family -> checkpoint and sha256)."
            ),
        }
        path = self.entry_dir(model) / METADATA_FILE
        atomic_write_text(path, json.dumps(metadata, indent=2) + "\n")
        return path

    def _check_config(self, path: Path, cfg: TrainConfig, stored: dict | None = None) -> None:
        """ValueError if the run in ``path`` was trained with other settings than ``cfg``."""
        if stored is None:
            stored = load_checkpoint(path)["config"]
        stored = with_legacy_values(stored)
        planned = cfg.to_dict()
        differ = sorted(
            key
            for key in set(planned) | set(stored)
            if key not in LOCAL_KEYS and planned.get(key) != stored.get(key)
        )
        if differ:
            shown = ", ".join(f"{k}: {stored.get(k)!r} != {planned.get(k)!r}" for k in differ)
            raise ValueError(
                f"{path} was trained with other settings ({shown}; stored != planned); "
                "reproduce with the same settings, or use another --out / --board"
            )

    # -- progress and git ------------------------------------------------------------------

    def _log(self, line: str) -> None:
        if self.progress:
            print(f"reproduce: {line}", file=self.stream, flush=True)

    def _progress(self, run: Run, index: int, total: int):
        later = sum(self.run_frames(r) for r in self._pending if r != run)
        shown = [-float("inf")]  # when the last line was printed

        def show(row: dict[str, Any]) -> None:
            frames, fps = int(row["frames"]), float(row["fps"])
            now = time.monotonic()
            if now - shown[0] < self.progress_interval and frames < total:
                return  # the first, the last, and one line every progress_interval seconds
            shown[0] = now
            left = max(total - frames, 0)
            success = row.get("success")
            held = row.get("eval_success")
            self._log(
                f"[{index}/{len(self.runs)}] {run}: {frames:,}/{total:,} frames "
                f"({100 * frames / total:.0f}%), {fps:,.0f} fps"
                + (f", success {success:.2f}" if isinstance(success, float) else "")
                + (f", HeldOut {held:.2f}" if isinstance(held, float) else "")
                + f", ETA {_duration(left / fps if fps else 0)}"
                f" (all training: {_duration((left + later) / fps if fps else 0)})"
            )

        return show

    def _git(self, *args: str) -> subprocess.CompletedProcess:
        self.board.mkdir(parents=True, exist_ok=True)
        for _ in range(40):  # another process may hold the index for a moment
            done = subprocess.run(
                ["git", *args], cwd=self.board, capture_output=True, text=True, check=False
            )
            if "index.lock" not in done.stderr:
                return done
            time.sleep(0.5)
        return done

    def _check_git(self) -> None:
        inside = self._git("rev-parse", "--is-inside-work-tree")
        if inside.returncode or inside.stdout.strip() != "true":
            raise ValueError(f"--git-commit: {self.board} is not inside a git work tree")
        probe = self.entry_dir(self.models[0]) / "seed0" / "x.pt"
        if self._git("check-ignore", "-q", str(probe.resolve())).returncode == 0:
            raise ValueError(f"--git-commit: git ignores {probe.parent}; pick another --board")

    def _commit(self, files: list[Path], message: str) -> None:
        if not self.git_commit:
            return
        paths = [str(Path(f).resolve()) for f in files]
        done = self._git("add", "--", *paths)
        if done.returncode:
            raise RuntimeError(f"git add failed: {done.stderr.strip()}")
        if self._git("diff", "--cached", "--quiet", "--", *paths).returncode == 0:
            return  # nothing new (a run committed before)
        done = self._git("commit", "-q", "-m", message, "--", *paths)
        if done.returncode:
            raise RuntimeError(f"git commit failed: {done.stderr.strip() or done.stdout.strip()}")
        self._log(f"committed {len(paths)} files: {message}")


def weights_only(checkpoint: str | Path) -> bytes:
    """A trainer checkpoint without its optimizer and RNG state, as the bytes of a checkpoint
    file (:func:`babyaipp.agents.checkpoint.load_checkpoint` reads it; about a third of the
    size). The same weights always give the same bytes (``torch.save`` to a file would name
    the archive after the file, here a random temporary name)."""
    import io

    import torch

    payload = load_checkpoint(checkpoint)
    weights = {key: payload[key] for key in HEADER_KEYS + WEIGHT_KEYS}
    weights["config"] = {**payload["config"], "resume": ""}
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    return buffer.getvalue()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
