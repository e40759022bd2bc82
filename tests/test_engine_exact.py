"""The batched engine against the reference envs: same layouts, same actions, same everything.

Each run steps the numpy engine and, beside it, one reference env per batch slot rebuilt in
the engine's episode (babyaipp.engine.reference), comparing observations, rewards,
terminations, truncations and infos at every step; the counts it returns show which rules the
run exercised, so each test also checks that it covered what it claims to.
"""

from __future__ import annotations

import numpy as np
import pytest

import babyaipp
from babyaipp.engine import backend_of, codes, make_vector_env
from babyaipp.engine.bank import build_bank
from babyaipp.engine.reference import Mismatch, differential_run

ENGINE_FAMILIES = [
    name for name, spec in babyaipp.FAMILIES.items() if backend_of(spec) == "batched"
]
RULE_EVENTS = {
    "trap": "trap", "slippery": "slide", "magic": "magic_push", "sticky": "sticky_hold",
    "fliplr": "fliplr", "flipud": "flipud",
}  # fmt: skip
BANK_SIZE = 12


@pytest.fixture(scope="module")
def banks():
    cache = {}

    def get(family: str, **kwargs):
        key = (family, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = build_bank(
                babyaipp.get_family(family), BANK_SIZE, progress=False, **kwargs
            )
        return cache[key]

    return get


def engine(banks, family, split="Test", num_envs=12, **kwargs):
    bank = banks(family, density=kwargs.get("density"))
    return make_vector_env(num_envs, family, split, backend="numpy", bank=bank, **kwargs)


def test_every_issue_family_runs_on_the_engine():
    for family in (
        "GoToRedBall",
        "GoToRedBallHard",
        "GoToRedBallMaze",
        "GoToLocal",
        "GoTo",
        "GoToHard",
        "PutNextLocal",
    ):
        assert family in ENGINE_FAMILIES


def short_max_steps(family: str) -> dict:
    """Big-map families run with max_steps=80, so that a short run sees many episodes."""
    probe = babyaipp.make_env(family, "Test")
    probe.reset(seed=0)
    return {"max_steps": 80} if probe.max_steps > 200 else {}


@pytest.mark.parametrize("family", ENGINE_FAMILIES)
def test_identical_to_reference(banks, family):
    """Test split (every property can occur), random actions plus BabyAI-bot envs."""
    spec = babyaipp.get_family(family)
    env = engine(banks, family, **short_max_steps(family))
    counts = differential_run(env, steps=120, seed=3, bot_envs=2)
    assert counts["steps"] == 1440
    assert counts["episodes"] > 12  # episodes ended and were autoreset
    fired = [p for p in spec.properties if counts[RULE_EVENTS[p]] > 0]
    assert len(fired) >= 2, counts
    if (codes.ENCODING[env.bank.cells][..., 0] == codes.T_DOOR).any():
        assert counts["door_toggle"] > 0


def test_every_rule_fires_and_matches(banks):
    """One longer run in which every rule, success, trap and timeout occur."""
    counts = differential_run(
        engine(banks, "GoToRedBallHard", num_envs=16), steps=250, seed=7, bot_envs=4
    )
    for event in (*RULE_EVENTS.values(), "success", "timeout"):
        assert counts[event] > 0, f"{event} never happened: {counts}"


@pytest.mark.parametrize(
    ("family", "split", "kwargs"),
    [
        ("GoToRedBall", "Train", {}),
        ("GoToRedBall", "HeldOut", {"text": "shuffled"}),
        ("GoToRedBallHard", "Fixed", {"text": "random", "withhold": 1}),
        ("GoToLocal", "Train", {"text": "none", "max_steps": 20}),
        ("PutNextLocal", "Fixed", {"sentence_order": "sorted"}),
        ("GoToHard", "HeldOut", {"max_steps": 40, "density": 0.2}),
    ],
)
def test_identical_across_splits_and_text(banks, family, split, kwargs):
    counts = differential_run(
        engine(banks, family, split, num_envs=8, **kwargs), steps=80, seed=5, bot_envs=2
    )
    assert counts["episodes"] > 8
    if "max_steps" in kwargs:
        assert counts["timeout"] > 0


def test_putnext_objects_are_carried_and_placed(banks):
    counts = differential_run(
        engine(banks, "PutNextLocal", "Train"), steps=120, seed=1, bot_envs=10
    )
    assert counts["pickup"] > 10 and counts["drop"] > 10 and counts["success"] > 5


def test_harness_catches_a_wrong_engine(banks, monkeypatch):
    """The comparison can fail: a one-step-late reward is reported."""
    env = engine(banks, "GoToRedBall", num_envs=8)
    step = type(env).step

    def late_reward(self, actions):
        obs, reward, term, trunc, info = step(self, actions)
        return obs, np.where(term, 0.0, reward), term, trunc, info

    monkeypatch.setattr(type(env), "step", late_reward)
    with pytest.raises(Mismatch, match="reward"):
        differential_run(env, steps=200, seed=0, bot_envs=8)


def test_harness_catches_a_wrong_observation(banks, monkeypatch):
    env = engine(banks, "GoToLocal", num_envs=4)
    observe = type(env)._observe

    def see_through_walls(self):
        obs = observe(self)
        obs["image"][:, 0, 0] = obs["image"][:, 1, 0]
        return obs

    monkeypatch.setattr(type(env), "_observe", see_through_walls)
    with pytest.raises(Mismatch, match="image"):
        differential_run(env, steps=20, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("family", ENGINE_FAMILIES)
def test_identical_every_split_long(banks, family):
    """Every split at the family's own max_steps, default text; 1200 steps per split."""
    for split in babyaipp.get_family(family).splits:
        env = engine(banks, family, split, num_envs=8)
        counts = differential_run(env, steps=150, seed=11, bot_envs=2)
        assert counts["steps"] == 1200  # (big mazes: 150 steps may end no episode)
