"""Policy adapters and policy specs of babyaipp.eval (checkpoints through a fake agents module)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import babyaipp
from babyaipp.eval import (
    CallablePolicy,
    RandomPolicy,
    SB3Policy,
    load_checkpoint_policy,
    policy_from_spec,
    policy_kinds,
    register_policy_kind,
)
from babyaipp.io import file_sha256
from babyaipp.policy import Policy

EPISODE_START = np.array([True, False, True])
OBS = {"direction": np.zeros(3, dtype=np.int64)}


@pytest.mark.parametrize(
    "policy",
    [
        RandomPolicy(3),
        CallablePolicy(lambda obs: [0, 1, 2]),
        SB3Policy(types.SimpleNamespace(predict=lambda *a, **k: (np.zeros(3), None))),
    ],
)
def test_adapters_are_policies(policy):
    assert isinstance(policy, Policy)
    actions, _ = policy.act(OBS, policy.initial_state(3), EPISODE_START)
    assert actions.shape == (3,) and actions.dtype == np.int64


def test_random_policy_is_seeded():
    a = RandomPolicy(5).act(OBS, None, EPISODE_START)[0]
    assert np.array_equal(a, RandomPolicy(5).act(OBS, None, EPISODE_START)[0])
    assert ((0 <= a) & (a <= 6)).all()
    with pytest.raises(ValueError, match="seed -1"):
        RandomPolicy(-1)


def test_sb3_adapter_passes_state_episode_start_and_greedy():
    calls = []

    class Model:
        def predict(self, obs, state=None, episode_start=None, deterministic=False):
            calls.append((state, episode_start.tolist(), deterministic))
            return np.array([[1], [2], [3]]), "next-state"

    policy = SB3Policy(Model(), "m")
    actions, state = policy.act(OBS, "state", EPISODE_START, greedy=False)
    assert actions.tolist() == [1, 2, 3] and state == "next-state"
    assert calls == [("state", [True, False, True], False)]
    with pytest.raises(TypeError, match="predict"):
        SB3Policy(object())


def test_specs_build_policies():
    policy = policy_from_spec("random:seed=7")
    assert isinstance(policy, RandomPolicy) and policy.seed == 7
    assert policy.spec == "random:seed=7"
    for spec, message in [
        ("nope:x", "unknown policy kind 'nope'"),
        ("random:seed=x", "seed 'x' must be an integer"),
        ("random:speed=1", r"unknown options \['speed'\]"),
        ("random:seed", "not key=value"),
        ("checkpoint:", "needs a path"),
    ]:
        with pytest.raises(ValueError, match=message):
            policy_from_spec(spec)


def test_registered_kinds_including_lazy_import_paths(monkeypatch):
    module = types.ModuleType("fake_oracle_module")
    module.make = lambda argument, base_dir: CallablePolicy(
        lambda obs, envs: [2] * len(envs), f"oracle[{argument}]", needs_env=True
    )
    monkeypatch.setitem(sys.modules, "fake_oracle_module", module)
    register_policy_kind("fakeoracle", "fake_oracle_module:make")
    try:
        policy = policy_from_spec("fakeoracle:text=none")
        assert policy.name == "oracle[text=none]" and policy.privileged
        assert policy.spec == "fakeoracle:text=none"
        assert "fakeoracle" in policy_kinds()
        register_policy_kind("fakeoracle", "no_such_module_xyz:make")
        with pytest.raises(ImportError, match="cannot import 'no_such_module_xyz:make'"):
            policy_from_spec("fakeoracle")
    finally:
        from babyaipp.eval import policies

        policies._KINDS.pop("fakeoracle", None)


# -- checkpoints, with a fake babyaipp.agents that honours load_policy's contract ---------------


class FakeAgentPolicy:
    name = "fake-agent"
    uses_text = True
    privileged = False
    needs_env = False

    def __init__(self, vocab_hash):
        self.vocab_hash = vocab_hash
        self.checkpoint_sha256 = None
        self.model_name = "fake"
        self.config = {}

    def initial_state(self, num_envs):
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        return np.full(len(episode_start), 2, dtype=np.int64), None


@pytest.fixture
def fake_agents(monkeypatch):
    loaded = []

    def load_policy(path, device="cpu"):
        loaded.append((str(path), device))
        vocab = path.read_text().strip() or babyaipp.VOCAB_HASH
        return FakeAgentPolicy(vocab)

    agents = types.ModuleType("babyaipp.agents")
    agents.load_policy = load_policy
    monkeypatch.setitem(sys.modules, "babyaipp.agents", agents)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))  # no real import
    return loaded


def test_checkpoint_adapter(tmp_path, fake_agents):
    path = tmp_path / "agent.pt"
    path.write_text("")
    policy = load_checkpoint_policy(path)
    assert fake_agents == [(str(path), "cpu")]
    assert policy.checkpoint_sha256 == file_sha256(path)
    assert policy.spec == f"checkpoint:{path.as_posix()}"
    # A relative spec is found next to the results file (base_dir) and stays relative.
    again = policy_from_spec("checkpoint:agent.pt", base_dir=tmp_path)
    assert again.spec == "checkpoint:agent.pt"
    assert again.checkpoint_sha256 == policy.checkpoint_sha256


def test_checkpoint_from_another_vocabulary_is_refused(tmp_path, fake_agents):
    path = tmp_path / "old.pt"
    path.write_text("0123456789abcdef")
    with pytest.raises(ValueError, match="old.pt was built on vocabulary '0123456789abcdef'"):
        load_checkpoint_policy(path)


def test_checkpoint_errors_without_file_torch_or_agents(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint_policy(tmp_path / "missing.pt")
    path = tmp_path / "agent.pt"
    path.write_text("")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    with pytest.raises(ImportError, match=r"needs torch: pip install 'babyaipp\[agents\]'"):
        load_checkpoint_policy(path)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.setitem(sys.modules, "babyaipp.agents", types.ModuleType("babyaipp.agents"))
    with pytest.raises(ImportError, match="needs babyaipp.agents.load_policy"):
        load_checkpoint_policy(path)


def test_sb3_spec_with_a_fake_stable_baselines3(tmp_path, monkeypatch):
    class PPO:
        @classmethod
        def load(cls, path, device="cpu"):
            model = cls()
            model.path = path
            return model

        def predict(self, obs, state=None, episode_start=None, deterministic=False):
            return np.full(len(episode_start), 2), state

    monkeypatch.setitem(sys.modules, "stable_baselines3", types.SimpleNamespace(PPO=PPO))
    (tmp_path / "ppo.zip").write_bytes(b"weights")
    with pytest.raises(ValueError, match="ppo.zip is not a zip file"):
        policy_from_spec("sb3:PPO:ppo.zip", base_dir=tmp_path)  # the safe load reads it itself
    policy = policy_from_spec("sb3:PPO:ppo.zip", base_dir=tmp_path, trust_remote_code=True)
    assert isinstance(policy, SB3Policy) and policy.model.path == tmp_path / "ppo.zip"
    assert policy.spec == "sb3:PPO:ppo.zip"
    assert policy.checkpoint_sha256 == file_sha256(tmp_path / "ppo.zip")
    with pytest.raises(ValueError, match="no algorithm 'DQNX'"):
        policy_from_spec("sb3:DQNX:ppo.zip", base_dir=tmp_path)
    with pytest.raises(ValueError, match="must be sb3:<Algorithm>:<path>"):
        policy_from_spec("sb3:ppo.zip")
    with pytest.raises(FileNotFoundError, match="'nope.zip' not found"):
        policy_from_spec("sb3:PPO:nope.zip")
