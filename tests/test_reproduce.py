"""babyaipp reproduce (train, evaluate, enter; resumable after kill -9), the per-family
policy spec, and babyaipp report (curves, table, probe) on tiny budgets."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from babyaipp import cli  # noqa: E402
from babyaipp.agents.config import PRESETS  # noqa: E402
from babyaipp.eval import evaluate, load_results, load_suite, make_suite, write_suite  # noqa: E402
from babyaipp.eval.family_checkpoints import (  # noqa: E402
    FamilyCheckpointsPolicy,
    read_manifest,
    write_manifest,
)
from babyaipp.eval.leaderboard import verify_entry  # noqa: E402
from babyaipp.eval.policies import RandomPolicy, policy_from_spec  # noqa: E402
from babyaipp.eval.report import (  # noqa: E402
    aligned,
    entry_logs,
    learning_curves,
    mean_ci,
    pooled_probe,
    probe_entries,
    probe_table,
    results_table,
    seed_counts,
    spot_check,
    suite_families,
)
from babyaipp.eval.results import make_results, write_results  # noqa: E402

FAMILY = "GoToRedBall"
BATCH = 32  # frames per iteration: 4 envs x 8 steps
TINY = {
    "num_envs": 4,
    "num_steps": 8,
    "recurrence": 4,
    "num_minibatches": 1,
    "dim": 8,
    "eval_episodes": 2,
    "eval_interval": 0,
    "checkpoint_interval": 2,
}


def tiny_suite(folder: Path, episodes: int = 3) -> Path:
    path = folder / "tiny.json"
    write_suite(make_suite("tiny", [FAMILY], ["Train", "HeldOut", "Test"], episodes=episodes), path)
    return path


def reproduce_args(suite: Path, out: Path, frames: int, models=("image",), seeds=1) -> list[str]:
    return [
        "reproduce",
        "--suite", str(suite),
        "--models", *models,
        "--seeds", str(seeds),
        "--frames", str(frames),
        "--out", str(out),
        "--env-backend", "batched-numpy",
        "--eval-num-envs", "2",
        "--config", json.dumps(TINY),
    ]  # fmt: skip


def log_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


# -- kill -9 and resume ------------------------------------------------------------------------


def test_reproduce_resumes_after_kill_9(tmp_path):
    suite = tiny_suite(tmp_path)
    out = tmp_path / "out"
    frames = 50 * BATCH
    command = [sys.executable, "-m", "babyaipp", *reproduce_args(suite, out, frames)]
    checkpoint = out / "runs" / "image" / "seed1" / FAMILY / "checkpoint.pt"
    entry = out / "leaderboard" / "entries" / "ppo-image"
    final = entry / "seed1" / f"{FAMILY}.pt"

    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, first.stderr.read().decode()[-2000:]
    assert checkpoint.exists() and not final.exists(), "killed before or after the run"

    from babyaipp.agents.checkpoint import load_checkpoint

    killed_at = load_checkpoint(checkpoint)["global_step"]
    assert killed_at >= 2 * BATCH

    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resuming from {killed_at:,} frames" in second.stderr
    progress = [line for line in second.stderr.splitlines() if f"/{frames:,} frames" in line]
    first_frames = int(progress[0].split(": ")[2].split("/")[0].replace(",", ""))
    assert first_frames == killed_at + BATCH  # not restarted from zero

    rows = log_rows(entry / "seed1" / f"{FAMILY}.csv")  # one row per iteration, none twice
    assert [int(r["iteration"]) for r in rows] == list(range(1, frames // BATCH + 1))
    assert [int(r["frames"]) for r in rows] == [BATCH * i for i in range(1, frames // BATCH + 1)]
    assert load_checkpoint(final)["global_step"] == frames
    assert "optimizer_state" not in load_checkpoint(final)

    results_path = entry / "ppo-image-seed1.json"
    results = load_results(results_path, suite=load_suite(suite))
    assert results["policy"]["spec"] == "checkpoints:seed1/manifest.json"
    assert results["policy"]["uses_text"] is False
    # one seed is not a board entry (two runs needed): re-play the run as verify does
    again = evaluate(
        policy_from_spec(results["policy"]["spec"], base_dir=entry),
        load_suite(suite),
        num_envs=results["run"]["num_envs"],
        progress=False,
    )
    assert again["episodes"] == results["episodes"]
    assert again["policy"] == results["policy"]


# -- a finished reproduction: verify, skip, git ----------------------------------------------


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """Two models x two seeds, 2 iterations each, in a git repository with --git-commit."""
    repo = tmp_path_factory.mktemp("repo")
    for args in (["init", "-q"], ["config", "user.email", "t@t"], ["config", "user.name", "t"]):
        subprocess.run(["git", *args], cwd=repo, check=True)
    suite = tiny_suite(repo)
    out = repo / "results"
    args = reproduce_args(suite, out, 2 * BATCH, ("image", "cross-attention"), seeds=2)
    assert cli.main([*args, "--git-commit", "--no-progress"]) == 0
    return {"repo": repo, "suite": suite, "out": out, "args": args}


def test_reproduce_writes_verifiable_entries(board):
    entries = board["out"] / "leaderboard" / "entries"
    assert sorted(p.name for p in entries.iterdir()) == ["ppo-cross-attention", "ppo-image"]
    suite = load_suite(board["suite"])
    for name, uses_text in (("ppo-image", False), ("ppo-cross-attention", True)):
        metadata = json.loads((entries / name / "metadata.json").read_text())
        assert metadata["uses_text"] is uses_text
        assert metadata["frames"] == 2 * BATCH
        entry = verify_entry(entries / name, suite, vectorization="sync")
        assert len(entry.runs) == 2
    manifest = read_manifest(entries / "ppo-image" / "seed2" / "manifest.json")
    assert list(manifest["checkpoints"]) == [FAMILY] and manifest["seed"] == 2


def test_reproduce_commits_each_finished_run(board):
    repo = board["repo"]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.split()
    entry = "results/leaderboard/entries/ppo-image"
    for name in (
        "metadata.json",
        "ppo-image-seed1.json",
        "seed1/manifest.json",
        f"seed1/{FAMILY}.pt",
        f"seed1/{FAMILY}.csv",
    ):
        assert f"{entry}/{name}" in tracked
    assert not [f for f in tracked if "/runs/" in f]  # trainer run dirs stay local
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert len(log) == 8  # 4 runs trained + 4 (model, seed) evaluated


def test_second_invocation_skips_everything(board, capsys):
    def head():
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=board["repo"], capture_output=True, text=True
        ).stdout

    before = head()
    assert cli.main([*board["args"], "--git-commit", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained"] == [] and summary["evaluated"] == []
    assert len(summary["skipped"]) == 4
    assert head() == before
    assert cli.main([*board["args"], "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all(": finished (64 frames)" in line for line in lines)


def test_reproduce_refuses_other_settings(board, capsys):
    args = list(board["args"])
    args[args.index("--frames") + 1] = str(4 * BATCH)
    assert cli.main([*args, "--no-progress"]) == 2
    assert "total_frames: 64 != 128" in capsys.readouterr().err


def test_preset_is_a_name_the_values_are_compared(board, capsys):
    """The board's runs were trained with the default preset (medium). The same values spelt
    as preset small plus overrides are the same runs (skipped); small alone is refused by the
    values that differ, not by the preset's name."""
    small = [*board["args"], "--preset", "small", "--no-progress"]
    spelt_out = {**TINY, "learning_rate": PRESETS["medium"]["learning_rate"]}
    assert cli.main([*small, "--config", json.dumps(spelt_out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained"] == [] and len(summary["skipped"]) == 4
    assert cli.main(small) == 2
    error = capsys.readouterr().err
    assert "learning_rate: 0.0003 != 0.001" in error and "preset" not in error


def test_runs_stored_before_grid_conv_count_as_full(tmp_path, capsys):
    """A run whose stored config and model arguments lack ``grid_conv`` (written before the
    option existed, with full convolutions) is the same run as a planned ``grid_conv: full``
    one: skipped, not refused; with today's default it is refused by name."""
    torch = pytest.importorskip("torch")
    suite, out = tiny_suite(tmp_path), tmp_path / "results"
    args = reproduce_args(suite, out, 2 * BATCH, ("cross-attention",))
    args[args.index("--config") + 1] = json.dumps({**TINY, "grid_conv": "full"})
    assert cli.main([*args, "--no-progress"]) == 0
    capsys.readouterr()
    final = out / "leaderboard" / "entries" / "ppo-cross-attention" / "seed1" / f"{FAMILY}.pt"
    payload = torch.load(final, weights_only=True)
    assert payload["config"].pop("grid_conv") == payload["model"].pop("grid_conv") == "full"
    torch.save(payload, final)

    assert cli.main([*args, "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["trained"] == [] and len(summary["skipped"]) == 1
    # the rewritten checkpoint has another sha256, so its seed's results are made again
    assert summary["evaluated"] == ["cross-attention seed 1"]
    assert cli.main([*reproduce_args(suite, out, 2 * BATCH, ("cross-attention",))]) == 2
    assert "grid_conv: 'full' != 'separable'" in capsys.readouterr().err


def test_report_on_reproduced_entries(board, tmp_path):
    entries = sorted((board["out"] / "leaderboard" / "entries").iterdir())
    table = results_table(entries)
    assert "| ppo-image | no | 2 |" in table and "| ppo-cross-attention | yes | 2 |" in table
    png = learning_curves(entries, tmp_path / "curves.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = probe_entries(entries, episodes=2)
    assert len(rows) == 4  # 2 entries x 2 runs x 1 family
    assert {r["entry"] for r in rows} == {"ppo-image", "ppo-cross-attention"}
    text = probe_table(rows)
    assert "ppo-image | no | 2 × 1 × 2" in text
    # the CLI renders the same files
    out = tmp_path / "results.md"
    board_root = str(board["out"] / "leaderboard")
    assert cli.main(["report", "table", "--board", board_root, "--out", str(out)]) == 0
    assert out.read_text() == table


def test_spot_check_replays_the_first_episodes(board, tmp_path, capsys):
    entry = board["out"] / "leaderboard" / "entries" / "ppo-cross-attention"
    # tiny suite: 3 episodes per env, 2 sub-envs -> blocks of 2 and 1 seeds: 2 per env
    assert spot_check(entry, episodes=1) == {f"{entry.name}-seed{k}.json": 6 for k in (1, 2)}
    assert cli.main(["report", "spot-check", str(entry)]) == 0
    assert "ppo-cross-attention: OK" in capsys.readouterr().out
    copy = tmp_path / entry.name
    shutil.copytree(entry, copy)
    other = copy / "seed2" / f"{FAMILY}.pt"
    shutil.copy(other, copy / "seed1" / f"{FAMILY}.pt")
    seed1 = copy / "seed1"
    write_manifest(seed1 / "manifest.json", "cross-attention", 1, {FAMILY: seed1 / f"{FAMILY}.pt"})
    with pytest.raises(ValueError, match="not the one evaluated"):
        spot_check(copy)


# -- the per-family policy -------------------------------------------------------------------


def test_family_checkpoints_policy_checks_its_files(board, tmp_path):
    seed_dir = board["out"] / "leaderboard" / "entries" / "ppo-cross-attention" / "seed1"
    policy = FamilyCheckpointsPolicy(seed_dir / "manifest.json")
    assert policy.uses_text is True and policy.families == [FAMILY]
    assert policy.for_family(FAMILY).model_name == "cross-attention"
    with pytest.raises(ValueError, match="no checkpoint for family 'GoTo'"):
        policy.for_family("GoTo")
    with pytest.raises(RuntimeError, match="for_family"):
        policy.act({}, None, np.ones(1, bool))
    # a manifest whose checkpoint changed is refused
    copy = tmp_path / "copy"
    copy.mkdir()
    data = (seed_dir / f"{FAMILY}.pt").read_bytes()
    (copy / f"{FAMILY}.pt").write_bytes(data)
    write_manifest(copy / "manifest.json", "cross-attention", 1, {FAMILY: copy / f"{FAMILY}.pt"})
    FamilyCheckpointsPolicy(copy / "manifest.json")
    (copy / f"{FAMILY}.pt").write_bytes(data + b"\0")
    with pytest.raises(ValueError, match="sha256"):
        FamilyCheckpointsPolicy(copy / "manifest.json")


# -- report on synthetic logs and results ----------------------------------------------------


def write_log(path: Path, frames, success, eval_success) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, ["iteration", "frames", "success", "eval_success"])
        writer.writeheader()
        for i, (f, s, e) in enumerate(zip(frames, success, eval_success, strict=True), 1):
            writer.writerow({"iteration": i, "frames": f, "success": s, "eval_success": e})


def fake_entry(root: Path, name: str, suite, success: dict[int, dict[str, float]]) -> Path:
    """An entry of results files whose per-(family, split) success is ``success[seed][split]``
    (episodes: the first round(success * n) of each env succeed)."""
    folder = root / name
    for seed, by_split in success.items():
        episodes = []
        for family in suite.families:
            for split in suite.splits:
                wins = round(by_split[split] * suite.episodes)
                for k, s in enumerate(suite.seeds()):
                    episodes.append(
                        {"family": family, "split": split, "seed": s, "return": 0.5 * (k < wins),
                         "length": 10 + k, "success": k < wins,
                         "failure": None if k < wins else "timeout", "held_out": False}
                    )  # fmt: skip
        policy = RandomPolicy(seed)
        write_results(
            make_results(policy, suite, episodes, num_envs=1, greedy=True),
            folder / f"{name}-seed{seed}.json",
        )
        for family in suite.families:
            write_log(
                folder / f"seed{seed}" / f"{family}.csv",
                [100, 200, 300],
                [0.1, 0.5, by_split["Train"]],
                ["", 0.2, by_split["HeldOut"]],
            )
    return folder


def test_results_table_numbers(tmp_path):
    suite = make_suite("s", ["GoToRedBall", "GoToLocal"], ["Train", "HeldOut", "Test"], episodes=4)
    entry = fake_entry(
        tmp_path,
        "a",
        suite,
        {
            0: {"Train": 1.0, "HeldOut": 0.5, "Test": 0.75},
            1: {"Train": 0.5, "HeldOut": 0.25, "Test": 0.75},
        },
    )
    table = results_table([entry])
    # Train success 0.75 ± 0.25 (std 0.354 / sqrt 2); HeldOut 0.375 ± 0.125; Test 0.75 ± 0
    row = next(line for line in table.splitlines() if line.startswith("| a "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["a", "no", "2", "0.750 ± 0.250"]
    assert cells[6] == "0.375 ± 0.125" and cells[9] == "0.750 ± 0.000"
    assert cells[5] == "11.5 ± 0.0"  # length: mean of 10..13


def test_learning_curves_from_synthetic_logs(tmp_path):
    suite = make_suite("s", ["GoToRedBall", "GoToLocal"], ["Train", "HeldOut", "Test"], episodes=2)
    split = {"Train": 1.0, "HeldOut": 0.5, "Test": 0.5}
    entries = [fake_entry(tmp_path, n, suite, {0: split, 1: split, 2: split}) for n in "ab"]
    path = learning_curves(entries, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert cli.main(["report", "curves", *map(str, entries), "--out", str(path)]) == 0


def test_curve_panels_follow_the_suite_and_count_each_entrys_seeds(tmp_path):
    # the suite's order is not alphabetical; entry b has a third seed in one family only
    suite = make_suite("s", ["GoToRedBall", "GoToLocal"], ["Train", "HeldOut", "Test"], episodes=2)
    split = {"Train": 1.0, "HeldOut": 0.5, "Test": 0.5}
    a = fake_entry(tmp_path, "a", suite, {0: split, 1: split})
    b = fake_entry(tmp_path, "b", suite, {0: split, 1: split})
    write_log(b / "seed2" / "GoToLocal.csv", [100], [0.1], [""])
    assert suite_families([a, b]) == list(suite.families) == ["GoToRedBall", "GoToLocal"]
    logs = {"a": entry_logs(a), "b": entry_logs(b)}
    assert seed_counts(logs, "GoToRedBall") == "2 seeds"
    assert seed_counts(logs, "GoToLocal") == "seeds 2, 3"
    # logs without results files (a run still training): the order they were found in
    (b / "seed2" / "Extra.csv").write_bytes((b / "seed2" / "GoToLocal.csv").read_bytes())
    for results in b.glob("*.json"):
        results.unlink()
    assert suite_families([b]) == ["GoToLocal", "GoToRedBall", "Extra"]


def test_aligned_and_mean_ci():
    logs = [
        {"frames": np.array([10.0, 20, 30]), "x": np.array([0.0, 1, 2])},
        {"frames": np.array([10.0, 20, 30, 40]), "x": np.array([np.nan, 3, 4, 5])},
    ]
    frames, values = aligned(logs, "x")
    assert frames.tolist() == [20, 30]  # the frames both logs cover
    assert values.tolist() == [[1, 2], [3, 4]]
    mean, low, high = mean_ci(values)
    assert mean.tolist() == [2, 3]
    assert np.allclose(high - mean, 12.706204736 * 1.0)  # t(0.975, 1) * std 1.414 / sqrt 2
    assert np.allclose(mean - low, high - mean)


def test_probe_with_a_plain_spec_and_pooling(tmp_path):
    suite = make_suite("s", ["GoToRedBall"], ["Train", "HeldOut"], episodes=2)
    entry = fake_entry(tmp_path, "r", suite, {0: {"Train": 1.0, "HeldOut": 0.5}})
    rows = probe_entries([entry], episodes=3)
    assert len(rows) == 1 and rows[0]["env_id"] == "BabyAIPP-GoToRedBall-HeldOut-v0"
    assert rows[0]["uses_text"] is False
    synthetic = [
        {"entry": "e", "run": "a", "family": "F", "uses_text": True,
         "success": {"full": [1, 1, 1, 0], "shuffled": [0, 0, 1, 0], "none": [1, 1, 1, 0]}},
        {"entry": "e", "run": "b", "family": "F", "uses_text": True,
         "success": {"full": [1, 1, 0, 0], "shuffled": [0, 1, 0, 0], "none": [1, 1, 0, 0]}},
    ]  # fmt: skip
    pooled = pooled_probe(synthetic)["e"]
    assert pooled["episodes"] == 8 and pooled["runs"] == 2
    assert pooled["modes"]["shuffled"]["drop"] == pytest.approx(3 / 8)
    low, high = pooled["modes"]["shuffled"]["drop_ci"]
    assert 0 < low < 3 / 8 < high
    assert pooled["modes"]["none"]["drop"] == 0 and pooled["modes"]["none"]["drop_ci"] == [0, 0]
