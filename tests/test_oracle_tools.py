"""The oracle as a Policy, its demonstrations file, the paired-text probe and the CLI."""

import json
import sys

import gymnasium as gym
import numpy as np
import pytest

import babyaipp
from babyaipp.cli import main
from babyaipp.oracle import demos
from babyaipp.oracle.policy import OraclePolicy, from_spec
from babyaipp.oracle.probe import load_probe_policy, play, probe
from babyaipp.policy import Policy

TEXT_MODES = ("full", "none", "shuffled", "random")


# -- the env guarantee the probe relies on ---------------------------------------------------


@pytest.mark.parametrize("env_id", ["BabyAIPP-GoToHard-Test-v0", "BabyAIPP-PutNextLocal-Fixed-v0"])
def test_same_seed_same_episode_in_every_text_mode(env_id):
    for seed in range(5):
        episodes = {}
        for mode in TEXT_MODES:
            env = gym.make(env_id, text=mode)
            obs, info = env.reset(seed=seed)
            u = env.unwrapped
            episodes[mode] = (
                u.grid.encode().tobytes(),
                tuple(int(v) for v in u.agent_pos),
                u.agent_dir,
                obs["mission"],
                info["floor_properties"],
                u.tiles,
                u.description,
            )
        full = episodes["full"]
        for mode in TEXT_MODES[1:]:
            assert episodes[mode][:6] == full[:6], (env_id, seed, mode)
        assert episodes["none"][6] == ""
        if len(set(full[4].values())) > 1:  # a map with two properties can be falsified
            assert episodes["shuffled"][6] != full[6]


# -- Policy ----------------------------------------------------------------------------------


def test_oracle_policy_follows_the_protocol_in_a_vector_env():
    policy = OraclePolicy()
    assert isinstance(policy, Policy)
    assert (policy.name, policy.privileged, policy.needs_env, policy.uses_text) == (
        "oracle",
        True,
        True,
        True,
    )
    blind = OraclePolicy(reads_text=False)
    assert (blind.name, blind.uses_text) == ("blind-oracle", False)

    n = 3
    vec = gym.make_vec(
        "BabyAIPP-GoToRedBallHard-Train-v0",
        n,
        vectorization_mode="sync",
        wrappers=[babyaipp.TokenizeText],
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.DISABLED},
    )
    obs, _ = vec.reset(seed=[10, 11, 12])
    envs = [e.unwrapped for e in vec.envs]
    state = policy.initial_state(n)
    start = np.ones(n, dtype=bool)
    finished = np.zeros(n, dtype=bool)
    success = np.zeros(n, dtype=bool)
    for _ in range(200):
        actions, state = policy.act(obs, state, start, greedy=True, envs=envs)
        assert actions.shape == (n,) and actions.dtype == np.int64
        obs, _, terminated, truncated, info = vec.step(actions)
        done = terminated | truncated
        success |= done & ~finished & info["success"]
        finished |= done
        start = np.zeros(n, dtype=bool)
        if finished.all():
            break
        if done.any():  # finished rows replay a fresh episode until all are done
            obs, _ = vec.reset(seed=[10, 11, 12], options={"reset_mask": done})
            start = done
    vec.close()
    assert success.all()


def test_oracle_policy_needs_the_envs():
    with pytest.raises(ValueError, match="needs envs"):
        OraclePolicy().act({}, None, np.ones(1, dtype=bool))


def test_policy_specs():
    assert from_spec("").name == "oracle" and from_spec("blind").name == "blind-oracle"
    with pytest.raises(ValueError, match="oracle:blind"):
        from_spec("nonsense")
    assert load_probe_policy("blind-oracle").name == "blind-oracle"
    assert load_probe_policy("random:seed=3").name == "random"
    with pytest.raises(ValueError, match="unknown policy 'nope'"):
        load_probe_policy("nope")


class FakeAgentPolicy:
    """What ``babyaipp.agents.load_policy`` returns, minus torch: always forward."""

    name = "fake-agent"
    uses_text = True
    privileged = False
    needs_env = False
    vocab_hash = babyaipp.VOCAB_HASH

    def initial_state(self, num_envs):
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        return np.full(len(episode_start), 2, dtype=np.int64), None


def test_probe_loads_a_checkpoint_path_through_babyaipp_agents(tmp_path, monkeypatch, capsys):
    import babyaipp.agents

    monkeypatch.setattr(
        babyaipp.agents, "load_policy", lambda path, device="cpu": FakeAgentPolicy()
    )
    path = tmp_path / "agent.pt"
    path.write_bytes(b"weights")
    assert load_probe_policy(str(path)).name == "fake-agent"
    argv = ["probe", "BabyAIPP-GoToRedBall-Test-v0", "--policy", str(path), "--episodes", "2"]
    assert main(argv) == 0
    assert "policy=fake-agent" in capsys.readouterr().out


def test_probe_checkpoint_without_agents_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "babyaipp.agents", None)  # its import fails
    path = tmp_path / "agent.pt"
    path.write_bytes(b"weights")
    with pytest.raises(ValueError, match="babyaipp.agents"):
        load_probe_policy(str(path))


# -- demonstrations --------------------------------------------------------------------------


def test_demos_file_loads_with_numpy_alone_and_replays(tmp_path):
    env_id = "BabyAIPP-GoToRedBallHard-Test-v0"
    arrays = demos.record(env_id, [4, 5, 6])
    path = demos.save(tmp_path / "d.npz", arrays)
    assert [p.name for p in tmp_path.iterdir()] == ["d.npz"]  # no temp file left behind

    with np.load(path, allow_pickle=False) as data:
        files = set(data.files)
        offsets, actions = data["offsets"], data["action"]
        images, seeds = data["image"], data["seed"]
        assert str(data["env_id"]) == env_id and str(data["format"]) == "babyaipp-demos"
    assert files >= {"image", "direction", "action", "reward", "mission", "description"}
    assert offsets[0] == 0 and offsets[-1] == len(actions) == len(images)
    assert images.shape[1:] == (7, 7, 3) and images.dtype == np.uint8
    assert list(seeds) == [4, 5, 6]

    loaded = demos.load(path)
    assert loaded["success"].all()
    # Replaying the actions from the seed gives back the observations and rewards.
    env = gym.make(env_id)
    for i in range(3):
        ep = demos.episode(loaded, i)
        obs, info = env.reset(seed=int(ep["seed"]))
        assert obs["description"] == ep["description"] and obs["mission"] == ep["mission"]
        assert json.loads(str(ep["floor_properties"])) == info["floor_properties"]
        for t, action in enumerate(ep["action"]):
            assert np.array_equal(obs["image"], ep["image"][t])
            obs, reward, *_ = env.step(int(action))
            assert np.isclose(reward, ep["reward"][t])


def test_demos_rejects_bad_files(tmp_path):
    with pytest.raises(ValueError, match=r"\.npz"):
        demos.save(tmp_path / "d.txt", {})
    np.savez(tmp_path / "other.npz", x=np.zeros(2))
    with pytest.raises(ValueError, match="not a babyaipp demonstrations file"):
        demos.load(tmp_path / "other.npz")
    with pytest.raises(IndexError, match="out of range"):
        demos.episode(demos.record("BabyAIPP-GoToRedBall-Train-v0", [0]), 3)


# -- probe -----------------------------------------------------------------------------------


def test_probe_oracle_loses_success_with_a_lying_text_and_the_blind_twin_does_not():
    env_id, seeds = "BabyAIPP-GoToRedBallHard-Test-v0", range(30)
    reader = probe(OraclePolicy, env_id, seeds)
    assert reader["modes"]["full"]["success_rate"] == 1.0
    assert reader["modes"]["shuffled"]["success_rate"] < 1.0
    assert reader["modes"]["shuffled"]["trap_rate"] > 0
    assert reader["modes"]["shuffled"]["success_drop"] > 0
    blind = probe(lambda: OraclePolicy(reads_text=False), env_id, seeds)
    rates = {m: blind["modes"][m]["success_rate"] for m in ("full", "shuffled", "none")}
    assert len(set(rates.values())) == 1  # it never reads, so the text changes nothing
    assert blind["modes"]["shuffled"]["success_drop_ci"] == (0.0, 0.0)


def test_probe_plays_the_same_episodes_one_at_a_time_or_batched():
    # a greedy policy's episode depends only on its seed, so sub-envs change nothing; and
    # floor_properties, batched key by key in the vector env's info, comes back per episode
    env_id, seeds = "BabyAIPP-GoToRedBallHard-Test-v0", list(range(7))
    one = play(OraclePolicy(), env_id, seeds, "shuffled")
    batched = play(OraclePolicy(), env_id, seeds, "shuffled", num_envs=3)
    assert batched == one and [e["seed"] for e in one] == seeds
    env = gym.make(env_id, text="shuffled")
    for episode in one:
        _, info = env.reset(seed=episode["seed"])
        assert episode["floor_properties"] == info["floor_properties"]
    assert {e["failure"] for e in one} <= {None, "trap", "timeout"}


def test_probe_rejects_bad_modes():
    with pytest.raises(ValueError, match="unknown text modes"):
        probe(OraclePolicy, "BabyAIPP-GoToRedBall-Train-v0", [0], ["full", "lies"])


# -- CLI -------------------------------------------------------------------------------------


def test_cli_demos_and_probe(tmp_path, capsys):
    out = tmp_path / "demos.npz"
    assert main(["demos", "BabyAIPP-GoToLocal-Train-v0", "--episodes", "2", "--out", str(out)]) == 0
    assert "2 episodes" in capsys.readouterr().out
    assert len(demos.load(out)["seed"]) == 2

    report = tmp_path / "probe.json"
    code = main(
        ["probe", "BabyAIPP-GoToRedBall-Test-v0", "--policy", "random", "--episodes", "2",
         "--modes", "full,none", "--json", str(report)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "policy=random" in printed and "none" in printed
    result = json.loads(report.read_text())
    assert set(result["modes"]) == {"full", "none"}
    # A seeded random policy is rebuilt for each mode: it does not read, so the paired
    # episodes end alike and the drop is exactly 0.
    assert result["modes"]["none"]["success_drop"] == 0.0
    full, none = result["episodes"]["full"], result["episodes"]["none"]
    assert [e["length"] for e in full] == [e["length"] for e in none]


LOCAL = "BabyAIPP-GoToLocal-Train-v0"


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["demos", "BabyAIPP-Nope-Train-v0", "--episodes", "1", "--out", "x.npz"],
            "unknown family",
        ),
        (["demos", LOCAL, "--episodes", "0", "--out", "x.npz"], "--episodes"),
        (["demos", LOCAL, "--episodes", "1", "--out", "x.txt"], ".npz"),
        (["probe", LOCAL, "--policy", "nope"], "unknown policy"),
        (["probe", LOCAL, "--modes", "full,lies"], "unknown text modes"),
    ],
)
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_oracle_specs_evaluate_through_the_eval_registry(tmp_path):
    from babyaipp.eval.policies import policy_from_spec

    oracle, blind = policy_from_spec("oracle"), policy_from_spec("oracle:blind")
    assert oracle.privileged and oracle.needs_env and oracle.uses_text
    assert blind.privileged and not blind.uses_text and blind.name == "blind-oracle"
    code = main(
        ["evaluate", "oracle", "--episodes", "2", "--families", "GoToRedBall", "--num-envs", "2",
         "--no-progress", "--out", str(tmp_path / "oracle.json")]
    )  # fmt: skip
    assert code == 0
    results = json.loads((tmp_path / "oracle.json").read_text())
    assert len(results["episodes"]) == 6  # 2 episodes x Train, HeldOut, Test
    assert all(e["success"] for e in results["episodes"]), results["episodes"]
