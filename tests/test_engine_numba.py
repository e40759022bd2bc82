"""The numba engine against the numpy engine, and through it against the reference envs.

The differential harness (babyaipp.engine.reference.differential_run) drives a lockstep pair
(tests/lockstep.py): the numpy engine, checked against one reference env per slot as in
test_engine_exact, and the numba engine, which must return exactly what the numpy engine
returns at every reset and step: every observation array, reward, termination, truncation and
info field (values, dtypes, key order), and each env's episode (bank entry, map, text).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("numba")

from lockstep import ENGINE_FAMILIES, Lockstep, pair  # noqa: E402

import babyaipp  # noqa: E402
from babyaipp.engine import make_vector_env  # noqa: E402
from babyaipp.engine.reference import _same, differential_run  # noqa: E402


class NumbaLockstep(Lockstep):
    """The numba engine's outputs must be the numpy engine's, dtypes and info order included."""

    def compare(self, want, got, where):
        assert len(got) == len(want), where
        for key, value in want[0].items():
            assert got[0][key].dtype == value.dtype, f"{where} {key} dtype"
            np.testing.assert_array_equal(got[0][key], value, err_msg=f"{where} {key}")
        for k, (w, g) in enumerate(zip(want[1:-1], got[1:-1], strict=True)):
            assert g.dtype == w.dtype, f"{where} output {k + 1} dtype"
            np.testing.assert_array_equal(g, w, err_msg=f"{where} output {k + 1}")
        assert _same(got[-1], want[-1], ordered=True), f"{where} info\n{got[-1]}\n{want[-1]}"


@pytest.mark.parametrize("family", ENGINE_FAMILIES)
def test_numba_engine_is_the_numpy_engine(family):
    """Same bank, seed and actions (random, and BabyAI-bot envs that complete instructions)."""
    lockstep = NumbaLockstep(*pair(family, 10, "numba", max_steps=None))
    counts = differential_run(lockstep, steps=100, seed=7, bot_envs=4)
    assert lockstep.checked_steps == 100
    assert counts["episodes"] > 10 and counts["success"] > 0, counts


def test_every_family_and_split_random_actions():
    """Every split of every engine family (Fixed maps included), 64 envs, random actions."""
    rng = np.random.default_rng(2)
    for family in ENGINE_FAMILIES:
        for split in babyaipp.get_family(family).splits:
            lockstep = NumbaLockstep(*pair(family, 64, "numba", split=split, max_steps=12))
            lockstep.reset(seed=4)
            for _ in range(40):
                lockstep.step(rng.integers(7, size=64))


@pytest.mark.parametrize("family", ["GoToRedBallHard", "PutNextLocal"])
def test_fixed_split_maps_and_their_info_order(family):
    """Fixed maps hold a subset of the fixed colours: floor_properties keys vary per env."""
    lockstep = NumbaLockstep(*pair(family, 8, "numba", split="Fixed", max_steps=20))
    counts = differential_run(lockstep, steps=60, seed=3, bot_envs=2)
    assert counts["episodes"] > 16, counts


def test_many_restarts_per_step_and_pool_refills():
    """256 envs, short episodes: several restarts every step, the pool refilled and pruned."""
    numpy_env, numba_env = pair("GoToLocal", 256, "numba", split="Train", max_steps=8)
    lockstep = NumbaLockstep(numpy_env, numba_env)
    lockstep.reset(seed=5)
    rng = np.random.default_rng(1)
    restarts = 0
    for _ in range(80):
        restarts += int(lockstep._ended.sum())
        lockstep.step(rng.integers(7, size=256))
    assert restarts > 8 * 256  # many chunks of 256 episodes consumed...
    assert len(numba_env._pool_entry) <= 3 * 256  # ...and the rows no env uses dropped
    for i in range(256):
        assert numba_env.episode_state(i) == numpy_env.episode_state(i)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"text": "shuffled", "withhold": 1},
        {"text": "random", "sentence_order": "sorted"},
        {"text": "none"},
    ],
)
def test_reset_mask_reseed_and_text_modes(kwargs):
    numpy_env, numba_env = pair("GoToLocal", 4, "numba", **kwargs)
    lockstep = NumbaLockstep(numpy_env, numba_env)
    lockstep.reset(seed=3)
    lockstep.step(np.array([2, 2, 0, 1]))
    mask = np.array([True, False, True, False])
    lockstep.reset(options={"reset_mask": mask})
    lockstep.step(np.array([2, 1, 2, 5]))
    # a new seed for two envs: the others keep their episodes (and what describes them)
    lockstep.reset(seed=9, options={"reset_mask": ~mask})
    for _ in range(30):
        lockstep.step(np.array([2, 2, 1, 2]))
    for i in range(4):
        assert numba_env.episode_state(i) == numpy_env.episode_state(i)


def test_outputs_are_fresh_arrays():
    _, env = pair("GoToRedBall", 3, "numba")
    first = env.reset(seed=0)
    second = env.step(np.array([2, 2, 2]))
    third = env.step(np.array([1, 1, 1]))
    for key in first[0]:
        assert not np.shares_memory(second[0][key], third[0][key]), key
        assert not np.shares_memory(first[0][key], third[0][key]), key
    assert not np.shares_memory(second[1], third[1])
    assert second[0]["image"].flags.c_contiguous


def test_numba_engine_errors():
    _, env = pair("GoToRedBall", 3, "numba")
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(np.zeros(3, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action 7; valid: integers 0-6"):
        env.step(np.array([0, 7, 1]))
    with pytest.raises(ValueError, match="invalid action -1; valid: integers 0-6"):
        env.step(np.array([0, 1, -1]))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\), got float64"):
        env.step(np.zeros(3))
    with pytest.raises(ValueError, match=r"integer array of shape \(3,\)"):
        env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match="backend='numba' cannot run GoToRedBall: placement="):
        make_vector_env(2, "GoToRedBall", backend="numba", placement="original")
    with pytest.raises(ValueError, match="device='cpu' needs backend='torch', not 'numba'"):
        make_vector_env(2, "GoToRedBall", backend="numba", device="cpu")


def test_missing_numba_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # import numba now fails
    monkeypatch.delitem(sys.modules, "babyaipp.engine.numba_env", raising=False)
    need = r'backend="numba" needs numba, which is not installed: pip install "babyaipp\[numba\]"'
    with pytest.raises(ModuleNotFoundError, match=need):
        make_vector_env(2, "GoToRedBall", backend="numba", bank_size=2, bank_dir="/nonexistent")
