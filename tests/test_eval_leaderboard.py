"""The leaderboard (entries, render, verify, compare) and the evaluate / leaderboard commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from babyaipp.cli import main
from babyaipp.eval import (
    RandomPolicy,
    evaluate,
    load_suite,
    make_suite,
    policy_from_spec,
    run_env,
    write_results,
    write_suite,
)
from babyaipp.eval.leaderboard import (
    BOARDS,
    MAIN_BOARD,
    LeaderboardError,
    add_entry,
    board_dir,
    load_entries,
    normalised_scores,
    render,
    render_index,
    render_markdown,
    verify_entry,
)
from babyaipp.eval.metrics import run_aggregates
from babyaipp.eval.results import dumps_results

NUM_ENVS = 2


@pytest.fixture(scope="module")
def suite():
    return make_suite("mini", ["GoToRedBall"], ["Train", "HeldOut"], episodes=8)


@pytest.fixture(scope="module")
def run_files(suite, tmp_path_factory):
    """Two random-policy runs (seeds 0 and 1) on the mini suite, as results files."""
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for seed in (0, 1):
        results = evaluate(
            RandomPolicy(seed), suite, num_envs=NUM_ENVS, vectorization="sync", progress=False
        )
        paths.append(write_results(results, folder / f"seed{seed}.json"))
    return paths


@pytest.fixture
def board(tmp_path, suite, run_files):
    add_entry(tmp_path, "random", run_files, suite, model="uniform random actions", frames=0)
    return tmp_path


def test_render_writes_the_table_and_a_png(board, suite):
    add_entry(
        board,
        "privileged-random",
        [p for p in sorted(board.glob("entries/random/seed*"))],
        suite,
        model="random, declared privileged",
        frames=None,
        privileged=True,
    )
    page, image = render(board, suite)
    text = page.read_text()
    assert "## Text-blind" in text and "## Privileged" in text
    assert "## Text-using\n\nNo entries yet." in text
    header = next(line for line in text.splitlines() if line.startswith("| #"))
    assert "HeldOut IQM [95% CI]" in header and "GoToRedBall" in header
    row = next(line for line in text.splitlines() if line.startswith("| 1 | random |"))
    entry = load_entries(board, suite)[1]
    summary = entry.summary("HeldOut")
    assert f"{summary['iqm']:.3f} [{summary['iqm_ci'][0]:.3f}, {summary['iqm_ci'][1]:.3f}]" in row
    data = image.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
    assert "leaderboard.png" in text


def test_oracle_normalised_success(board, suite, tmp_path):
    """0 = the random entry's mean success, 1 = the oracle's, per family."""
    oracle_run = evaluate(
        policy_from_spec("oracle"), suite, num_envs=NUM_ENVS, vectorization="sync", progress=False
    )
    oracle_file = write_results(oracle_run, tmp_path / "oracle.json")
    add_entry(board, "oracle", [oracle_file], suite, model="oracle", frames=0, privileged=True)
    random_entry, oracle_entry = load_entries(board, suite)[1], load_entries(board, suite)[0]
    assert (random_entry.name, oracle_entry.name) == ("random", "oracle")
    low = random_entry.scores("HeldOut").mean(axis=0)
    high = oracle_entry.scores("HeldOut").mean(axis=0)
    assert high[0] > low[0]
    runs = random_entry.scores("HeldOut")
    np.testing.assert_allclose(
        normalised_scores(random_entry, random_entry, oracle_entry, "HeldOut"),
        (runs - low) / (high - low),
    )
    assert normalised_scores(oracle_entry, random_entry, oracle_entry, "HeldOut").tolist() == [
        [1.0]
    ]
    text = render_markdown(load_entries(board, suite), suite)
    header = next(line for line in text.splitlines() if line.startswith("| #"))
    assert "Normalised IQM" in header
    rows = {
        line.split(" | ")[1]: line.split(" | ") for line in text.splitlines() if "| 1 |" in line
    }
    column = header.split(" | ").index("Normalised IQM")
    assert rows["random"][column] == "0.000" and rows["oracle"][column] == "1.000"
    with pytest.raises(LeaderboardError, match="random does not beat oracle on HeldOut"):
        normalised_scores(random_entry, oracle_entry, random_entry, "HeldOut")


def test_verify_passes_on_an_honest_entry(board, suite):
    entry = verify_entry(board / "entries" / "random", suite)
    assert sorted(entry.runs) == ["seed0.json", "seed1.json"]


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(dumps_results(data))


def test_verify_fails_on_an_edited_number(board, suite):
    path = board / "entries" / "random" / "seed1.json"

    def flip_one_episode(data):  # a consistent forgery: the aggregates follow the episodes
        episode = data["episodes"][0]
        episode["success"] = not episode["success"]
        episode["failure"] = None if episode["success"] else "timeout"
        data["aggregates"] = run_aggregates(data["episodes"])

    _edit(path, flip_one_episode)
    verify_entry(board / "entries" / "random", suite, rerun=False)  # the file itself is coherent
    with pytest.raises(LeaderboardError, match=r"seed1\.json: re-playing 'random:seed=1' does not"):
        verify_entry(board / "entries" / "random", suite)

    def bump(data):  # an inconsistent one is refused on load
        data["aggregates"]["envs"]["GoToRedBall/HeldOut"]["success"] += 0.125

    _edit(path, bump)
    with pytest.raises(ValueError, match=r"seed1\.json: aggregates do not follow"):
        verify_entry(board / "entries" / "random", suite, rerun=False)


def test_entry_checks(board, suite, run_files):
    meta_path = board / "entries" / "random" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "uses_text": True}))
    with pytest.raises(
        LeaderboardError, match="uses_text=False but the entry's metadata says True"
    ):
        load_entries(board, suite)
    meta_path.write_text(json.dumps({**meta, "frames": "lots"}))
    with pytest.raises(LeaderboardError, match="frames='lots' has the wrong type"):
        load_entries(board, suite)
    with pytest.raises(LeaderboardError, match="exists"):
        add_entry(board, "random", run_files, suite, model="x", frames=0)
    copy = board / "copy.json"
    copy.write_bytes(run_files[0].read_bytes())
    with pytest.raises(LeaderboardError, match="two runs share the policy spec 'random:seed=0'"):
        add_entry(board, "twice", [run_files[0], copy], suite, model="x", frames=0)
    assert not (board / "entries" / "twice").exists()  # nothing half-written
    with pytest.raises(LeaderboardError, match="1 run.*needs at least 2"):
        add_entry(board, "single", run_files[:1], suite, model="x", frames=1000)
    assert not (board / "entries" / "single").exists()
    # an untrained policy has no training seeds to vary: one run is an entry
    assert len(add_entry(board, "single", run_files[:1], suite, model="x", frames=0).runs) == 1
    other = make_suite("other", ["GoToRedBall"], ["Train", "HeldOut"], episodes=8)
    with pytest.raises(ValueError, match="results are for suite mini v1.*expected other v1"):
        add_entry(board, "elsewhere", run_files, other, model="x", frames=0)


# -- the commands -------------------------------------------------------------------------------


def test_commands_end_to_end(tmp_path, suite, capsys):
    suite_file = tmp_path / "mini.json"
    write_suite(suite, suite_file)
    runs = tmp_path / "runs"
    common = ["--suite", str(suite_file), "--num-envs", str(NUM_ENVS), "--no-progress"]
    assert main(["evaluate", "random:seed=0", "random:seed=1", "--out", str(runs), *common]) == 0
    out = capsys.readouterr().out
    assert "GoToRedBall/HeldOut" in out and "over 2 runs" in out
    files = sorted(runs.glob("*.json"))
    assert [f.name for f in files] == ["random-seed=0.json", "random-seed=1.json"]

    lb = ["leaderboard", "--root", str(tmp_path / "lb"), "--suite", str(suite_file)]
    assert main([*lb, "add", "random", *map(str, files), "--model", "random", "--frames", "0"]) == 0
    assert main([*lb, "render"]) == 0
    assert "| 1 | random |" in capsys.readouterr().out
    assert (tmp_path / "lb" / "leaderboard.png").stat().st_size > 0
    assert main([*lb, "verify", "random", "--no-progress"]) == 0
    assert "every run re-played and identical" in capsys.readouterr().out
    assert main([*lb, "compare", "random", "random"]) == 0
    assert "P(random > random) on HeldOut = 0.500" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "random:seed=0", "--suite", "nope"], "unknown suite 'nope'"),
        (["evaluate", "bogus:1"], "unknown policy kind 'bogus'"),
        (["evaluate", "random", "--num-envs", "0"], "--num-envs 0 must be >= 1"),
        (["evaluate", "random", "--families", "Nope", "--episodes", "1"], "families"),
        (["evaluate", "checkpoint:/no/such.pt"], "checkpoint '/no/such.pt' not found"),
        (["leaderboard", "--root", "/no/such/dir", "verify", "x"], "no entry 'x'"),
    ],
)
def test_command_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


# -- the shipped board --------------------------------------------------------------------------

BOARDS_ROOT = Path(__file__).resolve().parents[1] / "leaderboard"


@pytest.mark.parametrize("suite_name", list(BOARDS))
def test_shipped_board_is_coherent_and_rendered(suite_name):
    """Every committed entry passes the file checks and README.md is the rendered board."""
    suite = load_suite(suite_name)
    board = board_dir(BOARDS_ROOT, suite_name)
    entries = load_entries(board, suite)
    assert {"random", "oracle", "blind-oracle"} <= {e.name for e in entries}
    assert all(len(e.runs) >= (1 if e.metadata["frames"] == 0 else 2) for e in entries)
    assert "| Normalised IQM |" in (board / "README.md").read_text()
    assert (board / "README.md").read_text() == render_markdown(
        entries, suite, image="leaderboard.png"
    )
    assert (board / "leaderboard.png").stat().st_size > 0


def test_the_index_shows_the_main_board_and_links_the_archived_one():
    index = (BOARDS_ROOT / "README.md").read_text()
    assert index == render_index(BOARDS_ROOT, {name: load_suite(name) for name in BOARDS})
    assert MAIN_BOARD == "leaderboard-v2" and "# babyaipp leaderboard: `leaderboard-v2`" in index
    assert "## Archived boards" in index and "(leaderboard-v1/README.md)" in index


def test_render_command_writes_every_board_and_the_index(tmp_path, capsys):
    import shutil

    shutil.copytree(BOARDS_ROOT, tmp_path / "lb")
    for page in (tmp_path / "lb").rglob("README.md"):
        page.write_text("stale")
    assert main(["leaderboard", "--root", str(tmp_path / "lb"), "render"]) == 0
    for page in ("README.md", "leaderboard-v1/README.md", "leaderboard-v2/README.md"):
        assert (tmp_path / "lb" / page).read_text() == (BOARDS_ROOT / page).read_text(), page


@pytest.mark.slow
@pytest.mark.parametrize("suite_name", list(BOARDS))
@pytest.mark.parametrize("name", ["random", "oracle", "blind-oracle"])
def test_shipped_entry_replays_its_first_env(suite_name, name):
    """Re-play the suite's first env for each run of a shipped entry (the generator starts
    fresh there, so it reproduces exactly); the full re-play is `babyaipp leaderboard verify`."""
    suite = load_suite(suite_name)
    board = board_dir(BOARDS_ROOT, suite_name)
    (entry,) = [e for e in load_entries(board, suite) if e.name == name]
    family, split = suite.envs[0]
    for results in entry.runs.values():
        policy = policy_from_spec(results["policy"]["spec"])
        episodes = run_env(
            policy,
            family,
            split,
            suite.seeds(),
            num_envs=results["run"]["num_envs"],
            greedy=results["run"]["greedy"],
            vectorization="sync",
        )
        assert episodes == results["episodes"][: suite.episodes]


def test_plot_labels_of_close_points_do_not_overlap():
    from babyaipp.eval.leaderboard import _CHAR_WIDTH, _LINE_HEIGHT, _POINTS_PER_UNIT, label_offsets

    # leaderboard-v1's oracle and blind-oracle: 0.02 apart, near the top-right corner.
    points, names = (
        [(1.0, 1.0), (0.985, 0.978), (0.15, 0.126)],
        ["oracle", "blind-oracle", "random"],
    )
    offsets = label_offsets(points, names)
    boxes = []
    for (x, y), name, (dx, dy, align) in zip(points, names, offsets, strict=True):
        width = _CHAR_WIDTH * len(name)
        x0 = x * _POINTS_PER_UNIT + dx - (width if align == "right" else 0)
        boxes.append((x0, y * _POINTS_PER_UNIT + dy, width))
    (ax, ay, aw), (bx, by, bw) = boxes[0], boxes[1]
    assert ax + aw <= bx or bx + bw <= ax or abs(ay - by) >= _LINE_HEIGHT
    assert [align for _, _, align in offsets] == ["right", "right", "left"]  # none cut off
    assert offsets == label_offsets(points, names)
