"""The torch engine against the numpy engine, and through it against the reference envs.

The differential harness (babyaipp.engine.reference.differential_run) drives a lockstep pair:
the numpy engine, checked against one reference env per slot as in test_engine_exact, and the
torch engine (on CPU here; the same code runs on CUDA), checked against the numpy engine at
every reset and step: observations, rewards, terminations, truncations, the info fields and
each env's episode (bank entry, map, text).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import babyaipp  # noqa: E402
from babyaipp.dynamics import BUILTIN_PROPERTIES  # noqa: E402
from babyaipp.engine import backend_of, make_vector_env  # noqa: E402
from babyaipp.engine.bank import build_bank  # noqa: E402
from babyaipp.engine.reference import differential_run  # noqa: E402
from babyaipp.engine.torch_env import FAILURE_NAMES, POOL_CHECK_EVERY  # noqa: E402

ENGINE_FAMILIES = [
    name for name, spec in babyaipp.FAMILIES.items() if backend_of(spec) == "batched"
]


class Lockstep:
    """Looks like the numpy engine to the harness; steps the torch engine beside it."""

    def __init__(self, numpy_env, torch_env):
        self.numpy_env, self.torch_env = numpy_env, torch_env
        self.checked_steps = 0
        self._ended = np.zeros(numpy_env.num_envs, bool)  # these start an episode next step

    def __getattr__(self, name):
        return getattr(self.numpy_env, name)

    def reset(self, *, seed=None, options=None):
        starting = np.ones(self.numpy_env.num_envs, bool)
        if options and "reset_mask" in options:
            starting = np.asarray(options["reset_mask"])
        out = self.numpy_env.reset(seed=seed, options=options)
        self._compare(out, self.torch_env.reset(seed=seed, options=options), starting, "reset")
        self._ended &= ~starting
        return out

    def step(self, actions):
        out = self.numpy_env.step(actions)
        got = self.torch_env.step(torch.as_tensor(actions))
        self._compare(out, got, self._ended, f"step {self.checked_steps}")
        self._ended = out[2] | out[3]
        self.checked_steps += 1
        return out

    def _compare(self, want, got, starting, where):
        obs, info = want[0], want[-1]
        for key, value in obs.items():
            np.testing.assert_array_equal(got[0][key].numpy(), value, err_msg=f"{where} {key}")
        if len(want) == 5:  # a step: reward (float32 on torch), terminated, truncated
            np.testing.assert_array_equal(got[1].numpy(), want[1].astype(np.float32), where)
            np.testing.assert_array_equal(got[2].numpy(), want[2], where)
            np.testing.assert_array_equal(got[3].numpy(), want[3], where)
        t_info = got[-1]
        for key in ("success", "held_out"):
            np.testing.assert_array_equal(t_info[key].numpy(), info[key], f"{where} {key}")
        failures = [FAILURE_NAMES[c] for c in t_info["failure"].tolist()]
        assert failures == list(info["failure"]), where
        tiles = [None if c < 0 else BUILTIN_PROPERTIES[c] for c in t_info["tile"].tolist()]
        assert tiles == list(info["tile"]), where
        for i in np.flatnonzero(starting):  # the same new episode: entry, map, text
            assert self.torch_env.episode_state(i) == self.numpy_env.episode_state(i), where


@pytest.fixture(scope="module")
def banks():
    cache = {}

    def get(family):
        if family not in cache:
            cache[family] = build_bank(babyaipp.get_family(family), 12, progress=False)
        return cache[family]

    return get


def pair(banks, family, num_envs, split="Test", **kwargs):
    bank = banks(family)
    kwargs.setdefault("max_steps", 60)
    if kwargs["max_steps"] is None:  # the family's own limit, shortened on big maps
        probe = babyaipp.make_env(family, split)
        probe.reset(seed=0)
        kwargs["max_steps"] = min(probe.max_steps, 100)
    numpy_env = make_vector_env(num_envs, family, split, backend="numpy", bank=bank, **kwargs)
    torch_env = make_vector_env(num_envs, family, split, backend="torch", bank=bank, **kwargs)
    return numpy_env, torch_env


@pytest.mark.parametrize("family", ENGINE_FAMILIES)
def test_torch_engine_is_the_numpy_engine(banks, family):
    """Same bank, seed and actions (random, and BabyAI-bot envs that complete instructions)."""
    lockstep = Lockstep(*pair(banks, family, num_envs=10, max_steps=None))
    steps = 8 * POOL_CHECK_EVERY
    counts = differential_run(lockstep, steps=steps, seed=7, bot_envs=4)
    assert lockstep.checked_steps == steps
    assert counts["episodes"] > 10 and counts["success"] > 0, counts


def test_same_episodes_over_many_pool_refills(banks):
    """Hundreds of short episodes: the device pool is topped up and pruned many times."""
    numpy_env, torch_env = pair(banks, "GoToRedBall", num_envs=6, split="HeldOut", max_steps=3)
    lockstep = Lockstep(numpy_env, torch_env)
    lockstep.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(300):
        lockstep.step(rng.integers(7, size=6))
    for i in range(6):
        assert torch_env.episode_state(i) == numpy_env.episode_state(i)
    assert torch_env._pool_offset > 0  # rows were dropped from the pool


def test_reset_mask_and_text_modes(banks):
    numpy_env, torch_env = pair(banks, "GoToLocal", num_envs=4, text="shuffled", withhold=1)
    lockstep = Lockstep(numpy_env, torch_env)
    lockstep.reset(seed=3)
    lockstep.step(np.array([2, 2, 0, 1]))
    mask = np.array([True, False, True, False])
    lockstep.reset(options={"reset_mask": mask})
    lockstep.step(np.array([2, 1, 2, 5]))


def test_torch_engine_errors(banks):
    _, env = pair(banks, "GoToRedBall", num_envs=3)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(torch.zeros(3, dtype=torch.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 7; valid: integers 0-6"):
        env.step(torch.tensor([0, 7, 1]))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\)"):
        env.step(torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="device='cpu' needs backend='torch', not 'numpy'"):
        make_vector_env(2, "GoToRedBall", backend="numpy", device="cpu")
    with pytest.raises(ValueError, match="backend='torch' cannot run GoToRedBall: placement="):
        make_vector_env(2, "GoToRedBall", backend="torch", placement="original")
