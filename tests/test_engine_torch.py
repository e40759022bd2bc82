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

from lockstep import ENGINE_FAMILIES, Lockstep, pair  # noqa: E402

from babyaipp.dynamics import BUILTIN_PROPERTIES  # noqa: E402
from babyaipp.engine import make_vector_env  # noqa: E402
from babyaipp.engine.reference import differential_run  # noqa: E402
from babyaipp.engine.torch_env import FAILURE_NAMES, POOL_CHECK_EVERY  # noqa: E402


class TorchLockstep(Lockstep):
    """Actions as tensors; torch's outputs (float32 rewards, coded infos) read back."""

    def actions(self, actions):
        return torch.as_tensor(actions)

    def compare(self, want, got, where):
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


@pytest.mark.parametrize("family", ENGINE_FAMILIES)
def test_torch_engine_is_the_numpy_engine(family):
    """Same bank, seed and actions (random, and BabyAI-bot envs that complete instructions)."""
    lockstep = TorchLockstep(*pair(family, 10, "torch", max_steps=None))
    steps = 8 * POOL_CHECK_EVERY
    counts = differential_run(lockstep, steps=steps, seed=7, bot_envs=4)
    assert lockstep.checked_steps == steps
    assert counts["episodes"] > 10 and counts["success"] > 0, counts


def test_same_episodes_over_many_pool_refills():
    """Hundreds of short episodes: the device pool is topped up and pruned many times."""
    numpy_env, torch_env = pair("GoToRedBall", 6, "torch", split="HeldOut", max_steps=3)
    lockstep = TorchLockstep(numpy_env, torch_env)
    lockstep.reset(seed=11)
    rng = np.random.default_rng(0)
    for _ in range(300):
        lockstep.step(rng.integers(7, size=6))
    for i in range(6):
        assert torch_env.episode_state(i) == numpy_env.episode_state(i)
    assert torch_env._pool_offset > 0  # rows were dropped from the pool


def test_reset_mask_and_text_modes():
    numpy_env, torch_env = pair("GoToLocal", 4, "torch", text="shuffled", withhold=1)
    lockstep = TorchLockstep(numpy_env, torch_env)
    lockstep.reset(seed=3)
    lockstep.step(np.array([2, 2, 0, 1]))
    mask = np.array([True, False, True, False])
    lockstep.reset(options={"reset_mask": mask})
    lockstep.step(np.array([2, 1, 2, 5]))


def test_torch_engine_errors():
    _, env = pair("GoToRedBall", 3, "torch")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(torch.zeros(3, dtype=torch.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 7; valid: integers 0-6"):
        env.step(torch.tensor([0, 7, 1]))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\)"):
        env.step(torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="integer array"):
        env.step(np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="hold a bool"):
        env.step([True, 2, 2])
    with pytest.raises(ValueError, match="device='cpu' needs backend='torch', not 'numpy'"):
        make_vector_env(2, "GoToRedBall", backend="numpy", device="cpu")
    with pytest.raises(ValueError, match="backend='torch' cannot run GoToRedBall: placement="):
        make_vector_env(2, "GoToRedBall", backend="torch", placement="original")
