"""babyaipp.eval: suites, the runner, metrics, statistics and results files."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import babyaipp
from babyaipp.eval import (
    EVAL_SEED_START,
    CallablePolicy,
    RandomPolicy,
    ResultsError,
    SuiteError,
    assign_seeds,
    check_results,
    evaluate,
    iqm,
    load_results,
    load_suite,
    make_suite,
    probability_of_improvement,
    run_env,
    run_suite,
    score_aggregates,
    write_results,
    write_suite,
)
from babyaipp.eval.metrics import env_metrics, run_aggregates
from babyaipp.eval.results import dumps_results
from babyaipp.eval.suites import content_hash

FORWARD = 2


@pytest.fixture(scope="module")
def mini_suite():
    """Two envs: GoToRedBall on Train and HeldOut, 12 episodes each."""
    return make_suite("mini", ["GoToRedBall"], ["Train", "HeldOut"], episodes=12)


@pytest.fixture(scope="module")
def mini_results(mini_suite):
    return evaluate(RandomPolicy(0), mini_suite, num_envs=3, vectorization="sync", progress=False)


def forward_policy() -> CallablePolicy:
    return CallablePolicy(lambda obs: np.full(len(obs["direction"]), FORWARD), "forward")


# -- suites ---------------------------------------------------------------------------------------


def test_leaderboard_suite_is_shipped_and_meets_the_issue():
    suite = load_suite("leaderboard-v1")
    required = {"GoToRedBall", "GoToRedBallHard", "GoToLocal", "PutNextLocal", "GoTo", "GoToHard"}
    assert required <= set(suite.families)
    assert set(suite.splits) == {"Train", "HeldOut", "Test"}
    assert suite.episodes >= 500
    assert min(suite.seeds()) >= EVAL_SEED_START
    assert suite.sha256 == content_hash(suite.content())


def test_suite_round_trip(tmp_path, mini_suite):
    write_suite(mini_suite, tmp_path / "mini.json")
    assert load_suite(tmp_path / "mini.json") == mini_suite


def test_tampered_suite_is_refused_naming_the_file(tmp_path, mini_suite):
    path = tmp_path / "mini.json"
    write_suite(mini_suite, path)
    data = json.loads(path.read_text())
    data["episodes"] = 11
    path.write_text(json.dumps(data))
    with pytest.raises(SuiteError, match=r"mini\.json.*content hash mismatch"):
        load_suite(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"families": ["NoSuchFamily"]}, "unknown family 'NoSuchFamily'"),
        ({"splits": ["Fixed"]}, "no split 'Fixed'"),
        ({"seed_start": 5}, "must be >= 1000000000"),
        ({"episodes": 0}, "must be >= 1"),
    ],
)
def test_bad_suites_are_refused(tmp_path, mini_suite, change, message):
    content = {**mini_suite.content(), **change}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**content, "sha256": content_hash(content)}))
    with pytest.raises(SuiteError, match=message) as error:
        load_suite(path)
    assert "bad.json" in str(error.value)


def test_malformed_and_unknown_suites(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(SuiteError, match="broken.json: malformed JSON"):
        load_suite(path)
    with pytest.raises(SuiteError, match="unknown suite 'nope'.*leaderboard-v1"):
        load_suite("nope")


# -- the runner -----------------------------------------------------------------------------------


def test_assign_seeds_gives_fixed_contiguous_quotas():
    seeds = list(range(100, 111))
    blocks = assign_seeds(seeds, 4)
    assert [len(b) for b in blocks] == [3, 3, 3, 2]
    assert sum(blocks, []) == seeds
    with pytest.raises(ValueError, match="num_envs=0"):
        assign_seeds(seeds, 0)


def test_each_episode_is_its_seed_whatever_the_sub_env():
    """A deterministic policy gives the same episode for a seed in any sub-env, and the same
    as a plain env reset with that seed: episodes are explicitly seeded, quotas are exact."""
    seeds = list(range(EVAL_SEED_START, EVAL_SEED_START + 7))
    one = run_env(forward_policy(), "GoToRedBall", "Test", seeds, num_envs=1, vectorization="sync")
    three = run_env(
        forward_policy(), "GoToRedBall", "Test", seeds, num_envs=3, vectorization="sync"
    )
    assert one == three
    assert [e["seed"] for e in three] == seeds
    env = gym.make("BabyAIPP-GoToRedBall-Test-v0")
    for episode in three[:3]:
        _, info = env.reset(seed=episode["seed"])
        total, length, done = 0.0, 0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(FORWARD)
            total, length, done = total + reward, length + 1, terminated or truncated
        assert (length, info["success"], info["failure"]) == (
            episode["length"],
            episode["success"],
            episode["failure"],
        )
        assert episode["held_out"] == info["held_out"]


def test_privileged_policy_gets_the_unwrapped_envs_row_by_row():
    seen = []

    def act(obs, envs):
        assert len(envs) == len(obs["direction"])
        for row, env in enumerate(envs):
            assert isinstance(env, babyaipp.DynamicsLevel)
            assert obs["direction"][row] == env.agent_dir  # row i is sub-env i
        seen.append(len(envs))
        return np.full(len(envs), FORWARD)

    policy = CallablePolicy(act, "peeker", needs_env=True)
    assert policy.privileged
    seeds = list(range(EVAL_SEED_START, EVAL_SEED_START + 4))
    episodes = run_env(policy, "GoToRedBall", "Train", seeds, num_envs=2, vectorization="async")
    assert seen and set(seen) == {2}
    assert episodes == run_env(forward_policy(), "GoToRedBall", "Train", seeds, num_envs=2)


def test_bad_actions_are_refused():
    policy = CallablePolicy(lambda obs: np.full(len(obs["direction"]), 9), "bad")
    with pytest.raises(ValueError, match="policy 'bad' returned actions.*valid: 0-6"):
        run_env(policy, "GoToRedBall", "Train", [EVAL_SEED_START], num_envs=1)


# -- results --------------------------------------------------------------------------------------


def test_results_schema(mini_results, mini_suite):
    r = mini_results
    assert r["schema_version"] == 1
    assert r["babyaipp_version"] == babyaipp.__version__
    assert r["vocab_hash"] == babyaipp.VOCAB_HASH
    assert r["suite"]["sha256"] == mini_suite.sha256
    assert r["policy"] == {
        "spec": "random:seed=0",
        "name": "random",
        "uses_text": False,
        "privileged": False,
        "checkpoint_sha256": None,
        "vocab_hash": None,
    }
    assert r["run"] == {"num_envs": 3, "greedy": True}
    # Quotas: every env has exactly the suite's seeds, once each.
    for family, split in mini_suite.envs:
        seeds = [e["seed"] for e in r["episodes"] if (e["family"], e["split"]) == (family, split)]
        assert seeds == mini_suite.seeds()
    envs = r["aggregates"]["envs"]
    assert set(envs) == {"GoToRedBall/Train", "GoToRedBall/HeldOut"}
    held = envs["GoToRedBall/HeldOut"]
    assert held["episodes"] == 12 and held["held_out_fraction"] == 1.0
    assert envs["GoToRedBall/Train"]["held_out_fraction"] == 0.0
    assert r["aggregates"]["families"]["GoToRedBall"]["gap"] == pytest.approx(
        envs["GoToRedBall/Train"]["success"] - held["success"], abs=1e-6
    )
    for split in ("Train", "HeldOut"):
        s = r["aggregates"]["splits"][split]
        assert s["mean_ci"][0] <= s["mean"] <= s["mean_ci"][1]


def test_same_inputs_give_byte_identical_results(tmp_path, mini_results, mini_suite):
    again = evaluate(RandomPolicy(0), mini_suite, num_envs=3, vectorization="async", progress=False)
    assert dumps_results(again) == dumps_results(mini_results)
    other = evaluate(RandomPolicy(1), mini_suite, num_envs=3, vectorization="sync", progress=False)
    assert other["episodes"] != mini_results["episodes"]
    path = write_results(mini_results, tmp_path / "r.json")
    assert load_results(path, suite=mini_suite) == json.loads(dumps_results(mini_results))
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def _write(tmp_path, data, name="r.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def test_edited_or_malformed_results_are_refused(tmp_path, mini_results, mini_suite):
    data = json.loads(dumps_results(mini_results))
    edited = json.loads(json.dumps(data))
    edited["aggregates"]["envs"]["GoToRedBall/Train"]["success"] += 0.25
    with pytest.raises(ResultsError, match=r"r\.json: aggregates do not follow.*Train\.success"):
        load_results(_write(tmp_path, edited))

    dropped = json.loads(json.dumps(data))
    dropped["episodes"].pop()
    with pytest.raises(ResultsError, match="episodes do not match suite.*missing"):
        load_results(_write(tmp_path, dropped))

    old = {**data, "schema_version": 0}
    with pytest.raises(ResultsError, match="schema_version 0"):
        load_results(_write(tmp_path, old))

    tampered = json.loads(json.dumps(data))
    tampered["suite"]["episodes"] = 3
    with pytest.raises(ResultsError, match="embedded suite: content hash mismatch"):
        load_results(_write(tmp_path, tampered))

    other = make_suite("mini", ["GoToRedBall"], ["Train", "HeldOut"], episodes=12, version=2)
    with pytest.raises(ResultsError, match="results are for suite mini v1.*expected mini v2"):
        load_results(_write(tmp_path, data), suite=other)

    with pytest.raises(ResultsError, match="must be a JSON object"):
        load_results(_write(tmp_path, "x"))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ResultsError, match="bad.json: malformed JSON"):
        load_results(tmp_path / "bad.json")

    bad_type = json.loads(json.dumps(data))
    bad_type["episodes"][0]["success"] = 1
    with pytest.raises(ResultsError, match=r"episodes\[0\]\.success has the wrong type"):
        check_results(bad_type)


# -- metrics and statistics -----------------------------------------------------------------------


def _episode(split="Test", success=False, failure="timeout", held_out=False, length=10):
    return {
        "family": "F",
        "split": split,
        "seed": 0,
        "return": 0.5 * success,
        "length": length,
        "success": success,
        "failure": None if success else failure,
        "held_out": held_out,
    }


def test_env_metrics_by_hand():
    episodes = [
        _episode(success=True, held_out=True, length=4),
        _episode(failure="trap", held_out=True, length=6),
        _episode(failure="trap", length=10),
        _episode(failure="timeout", length=20),
    ]
    m = env_metrics(episodes)
    assert m["episodes"] == 4
    assert m["success"] == 0.25 and m["return"] == 0.125 and m["length"] == 10.0
    assert (m["trap"], m["timeout"], m["mission"]) == (0.5, 0.25, 0.0)
    assert m["with_held_out"] == {"episodes": 2, "success": 0.5}
    assert m["without_held_out"] == {"episodes": 2, "success": 0.0}
    assert "with_held_out" not in env_metrics([_episode(split="Train")])


def test_run_aggregates_gap():
    episodes = [_episode("Train", success=True), _episode("Train"), _episode("HeldOut")]
    agg = run_aggregates(episodes)
    assert agg["families"]["F"]["gap"] == 0.5


def test_iqm_is_the_mean_of_the_middle_half():
    scores = np.array([0.0, 10.0, 1.0, 2.0, 3.0, 100.0, 4.0, 5.0])
    assert iqm(scores) == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))


def test_bootstrap_intervals_contain_the_estimate_and_shrink_with_more_runs():
    rng = np.random.default_rng(1)
    families = 6
    widths = []
    for runs in (3, 10, 40):
        scores = rng.beta(2.0, 5.0, size=(runs, families))
        agg = score_aggregates(scores)
        for key in ("mean", "iqm"):
            low, high = agg[f"{key}_ci"]
            assert low <= agg[key] <= high
        assert agg["mean"] == pytest.approx(scores.mean(), abs=1e-6)
        widths.append(agg["iqm_ci"][1] - agg["iqm_ci"][0])
    assert widths[0] > widths[1] > widths[2] > 0
    assert score_aggregates(scores) == score_aggregates(scores)  # seeded: reproducible


def test_one_run_has_a_zero_width_interval():
    agg = score_aggregates([[0.2, 0.4, 0.6]])
    assert agg["runs"] == 1 and agg["iqm_ci"] == [agg["iqm"], agg["iqm"]]


def test_probability_of_improvement():
    low = np.array([[0.1, 0.2], [0.15, 0.25], [0.12, 0.22]])
    high = low + 0.5
    assert probability_of_improvement(high, low)["probability"] == 1.0
    assert probability_of_improvement(low, high)["probability"] == 0.0
    same = probability_of_improvement(low, low)
    assert same["probability"] == 0.5
    assert same["ci"][0] <= 0.5 <= same["ci"][1]
    assert probability_of_improvement(high[:1], low)["probability"] == 1.0  # one run vs three
    with pytest.raises(ValueError, match="equal families"):
        probability_of_improvement(low, low[:, :1])


def test_importing_eval_does_not_import_torch():
    code = "import sys, babyaipp.eval, babyaipp.eval.leaderboard; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_progress_bar_shows_episodes_and_success(capsys):
    suite = make_suite("tiny", ["GoToRedBall"], ["Train"], episodes=10)
    run_suite(forward_policy(), suite, num_envs=2, vectorization="sync", progress=True)
    err = capsys.readouterr().err
    assert "10/10" in err and "success=" in err
