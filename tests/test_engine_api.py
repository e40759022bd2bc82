"""The batched engine as a gymnasium VectorEnv, its layout banks, its episode draws and its CLI."""

from __future__ import annotations

import collections
import itertools
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import babyaipp
from babyaipp.cli import main as cli_main
from babyaipp.engine import (
    BankError,
    LayoutBank,
    backend_of,
    build_bank,
    codes,
    make_vector_env,
    view,
)
from babyaipp.engine.bank import bank_path, load_or_build, trap_masks
from babyaipp.engine.sampling import EpisodeSampler
from babyaipp.splits import draw_floor_map
from babyaipp.text import make_sentences


@pytest.fixture(scope="module")
def bank_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("banks")


@pytest.fixture(scope="module")
def red_ball_bank(bank_dir):
    return load_or_build(babyaipp.get_family("GoToRedBall"), 8, root=bank_dir, progress=False)


def make(num_envs=4, split="Train", bank=None, **kwargs):
    return make_vector_env(num_envs, "GoToRedBall", split, backend="numpy", bank=bank, **kwargs)


# -- the view ----------------------------------------------------------------------------------


def test_view_matches_minigrid_on_random_grids():
    """Occlusion, out-of-grid walls, doors open and shut, carried objects: as gen_obs."""
    from minigrid.core.grid import Grid
    from minigrid.core.world_object import Ball, Door, Floor, Key, Wall
    from minigrid.envs.babyai.goto import GoToLocal

    rng = np.random.default_rng(0)
    env = GoToLocal(room_size=9)
    env.reset(seed=0)
    size, pad = 9, view.PAD
    offsets = view.view_offsets(size + 2 * pad)
    for _ in range(400):
        grid = Grid(size, size)
        grid.wall_rect(0, 0, size, size)
        for x, y in itertools.product(range(1, size - 1), repeat=2):
            r = rng.random()
            obj = (
                Wall()
                if r < 0.15
                else Door("red", is_open=r < 0.2)
                if r < 0.25
                else Ball("blue")
                if r < 0.3
                else Floor("green")
                if r < 0.4
                else None
            )
            grid.set(x, y, obj)
        ax, ay = (int(v) for v in rng.integers(1, size - 1, size=2))
        grid.set(ax, ay, None)
        env.grid, env.agent_pos, env.agent_dir = grid, (ax, ay), int(rng.integers(4))
        env.carrying = Key("yellow") if rng.random() < 0.3 else None
        padded = np.full((size + 2 * pad,) * 2, codes.WALL, dtype=np.uint8)
        for x, y in itertools.product(range(size), repeat=2):
            padded[y + pad, x + pad] = codes.code_of(grid.get(x, y))
        cell = np.array([(ay + pad) * padded.shape[1] + ax + pad])
        image = view.observe(
            padded.ravel(),
            cell,
            np.array([env.agent_dir]),
            np.array([codes.code_of(env.carrying)], dtype=np.uint8),
            offsets,
        )
        np.testing.assert_array_equal(image[0], env.gen_obs()["image"])


def test_cell_codes_round_trip_minigrid_encodings():
    for k in range(256):
        t, c, s = codes.ENCODING[k]
        if k in (codes.UNSEEN,) or t == 0:
            continue
        assert codes.code(int(t), int(c), int(s)) == k


# -- gymnasium API -----------------------------------------------------------------------------


def test_make_vec_builds_the_engine_and_spaces_hold(bank_dir, monkeypatch):
    monkeypatch.setenv("BABYAIPP_BANK_DIR", str(bank_dir))
    envs = gym.make_vec(
        "BabyAIPP-GoToRedBall-Train-v0",
        num_envs=5,
        vectorization_mode="vector_entry_point",
        bank_size=8,
    )
    assert type(envs.unwrapped).__name__ == "NumpyBatchedEnv"
    assert envs.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, info = envs.reset(seed=1)
    assert envs.observation_space.contains(obs)
    single = babyaipp.TokenizeText(gym.make("BabyAIPP-GoToRedBall-Train-v0")).observation_space
    assert envs.single_observation_space == single
    for _ in range(30):
        obs, reward, term, trunc, info = envs.step(envs.action_space.sample())
        assert envs.observation_space.contains(obs)
        assert reward.dtype == np.float64 and term.dtype == bool and trunc.dtype == bool
    envs.close()


def test_same_seed_same_episodes(red_ball_bank):
    runs = []
    for _ in range(2):
        env = make(6, bank=red_ball_bank)
        obs, _ = env.reset(seed=42)
        trace = [obs["image"].copy(), obs["description"].copy()]
        rng = np.random.default_rng(0)
        for _ in range(80):
            obs, reward, term, trunc, _ = env.step(rng.integers(7, size=6))
            trace += [obs["image"].copy(), obs["description"].copy(), reward, term | trunc]
        runs.append(trace)
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    other = make(6, bank=red_ball_bank).reset(seed=43)[0]
    assert not np.array_equal(other["image"], runs[0][0])


def test_reset_mask_resets_only_those_envs(red_ball_bank):
    env = make(4, bank=red_ball_bank)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        env.step(np.full(4, 2))
    before = env.step(np.full(4, 0))[0]
    mask = np.array([True, False, False, True])
    obs, info = env.reset(options={"reset_mask": mask})
    np.testing.assert_array_equal(obs["image"][~mask], before["image"][~mask])
    np.testing.assert_array_equal(info["_success"], mask)
    assert info["tile"][1] is None and not info["_tile"][1]


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.full(4, 7), "invalid action 7"),
        (np.zeros(3, dtype=int), r"shape \(4,\)"),
        (np.zeros(4) + 0.5, "integer array"),
        (np.ones(4, dtype=bool), "integer array"),
        ([True, True, True, True], "bool"),
        ([True, 2, 2, 2], "hold a bool"),
        ([np.True_, 2, 2, 2], "hold a bool"),
    ],
)
def test_bad_actions_are_named(red_ball_bank, actions, match):
    env = make(4, bank=red_ball_bank)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.step(actions)


def test_bad_arguments_are_named(red_ball_bank):
    with pytest.raises(ValueError, match="unknown backend 'gpu'"):
        make_vector_env(2, "GoToRedBall", backend="gpu")
    with pytest.raises(ValueError, match="unknown text 'loud'"):
        make(2, bank=red_ball_bank, text="loud")
    with pytest.raises(ValueError, match="num_envs=0"):
        make(0, bank=red_ball_bank)
    with pytest.raises(ValueError, match="one int seed"):
        make(2, bank=red_ball_bank).reset(seed=[1, 2])
    with pytest.raises(ValueError, match="cannot run GoToRedBall: placement='original'"):
        make_vector_env(2, "GoToRedBall", backend="numpy", placement="original")


def test_levelgen_families_run_on_the_engine_with_what_it_verifies():
    import dataclasses

    from babyaipp.engine import _unsupported_reason

    put_next = babyaipp.get_family("PutNext")
    assert _unsupported_reason(put_next, {}) is None
    sequences = dataclasses.replace(
        put_next, base_kwargs={**put_next.base_kwargs, "instr_kinds": ["action", "seq"]}
    )
    assert "instr_kinds=['action', 'seq']" in _unsupported_reason(sequences, {})
    with pytest.raises(ValueError, match="sequences of go-tos only"):
        make_vector_env(2, sequences, backend="numpy")


@pytest.fixture
def uncovered(monkeypatch):
    """GoToSeq as a family the engine does not cover (every built-in family is covered)."""
    import babyaipp.engine as engine

    base = babyaipp.get_family("GoToSeq").base
    monkeypatch.setattr(engine, "ENGINE_BASES", engine.ENGINE_BASES - {base})
    return "GoToSeq"


def test_goto_sequences_become_two_groups_of_go_tos():
    from minigrid.envs.babyai.core.verifier import (
        AfterInstr,
        AndInstr,
        BeforeInstr,
        GoToInstr,
        ObjDesc,
        PickupInstr,
    )

    from babyaipp.engine.bank import goto_program

    def go():
        return GoToInstr(ObjDesc("ball", "red"))

    assert goto_program(go())[1] == (1, 0)
    assert goto_program(AndInstr(go(), go()))[1] == (3, 0)
    assert goto_program(BeforeInstr(go(), AndInstr(go(), go())))[1] == (1, 6)
    assert goto_program(AfterInstr(go(), AndInstr(go(), go())))[1] == (6, 1)
    leaves, groups = goto_program(AfterInstr(AndInstr(go(), go()), AndInstr(go(), go())))
    assert len(leaves) == 4 and groups == (12, 3)
    assert goto_program(PickupInstr(ObjDesc("ball", "red"))) is None
    assert goto_program(BeforeInstr(go(), PickupInstr(ObjDesc("ball", "red")))) is None


def test_unsupported_families_fall_back_to_reference_envs(uncovered):
    assert backend_of(uncovered) == "reference"
    assert backend_of("GoToRedBall") == "batched"
    assert backend_of("GoToRedBall", placement="original") == "reference"
    envs = gym.make_vec(
        "BabyAIPP-GoToSeq-Train-v0", num_envs=2, vectorization_mode="vector_entry_point"
    )
    assert isinstance(envs.unwrapped, gym.vector.SyncVectorEnv)
    with pytest.warns(UserWarning, match="GoToRedBall: using reference envs .placement='orig"):
        gym.make_vec(
            "BabyAIPP-GoToRedBall-Train-v0",
            2,
            vectorization_mode="vector_entry_point",
            placement="original",
        ).close()
    obs, _ = envs.reset(seed=0)
    assert obs["mission"].shape == (2, 48) and obs["description"].shape == (2, 6, 4)
    envs.close()


@pytest.mark.parametrize("heavy", ["torch", "numba"])
def test_import_never_pulls_optional_backends(heavy):
    code = (
        "import sys, babyaipp, babyaipp.engine, babyaipp.engine.numpy_env, babyaipp.engine.cli;"
        f"print({heavy!r} in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- layout banks ------------------------------------------------------------------------------


def test_bank_buckets_cover_every_drawable_trap_set():
    assert trap_masks(babyaipp.get_family("GoToRedBall")) == [0, 1, 2, 3]
    assert trap_masks(babyaipp.get_family("GoTo2x2Partial")) == [0]  # no trap property
    spec = babyaipp.get_family("GoToRedBallHard")
    rng = np.random.default_rng(0)
    for split in spec.splits:
        for _ in range(200):
            fmap = draw_floor_map(spec, split, rng)
            mask = sum(1 << k for k, p in enumerate(fmap.values()) if p == "trap")
            assert mask in trap_masks(spec)


def test_bank_is_cached_versioned_and_checked(bank_dir, red_ball_bank):
    spec = babyaipp.get_family("GoToRedBall")
    path = bank_path(spec, 8, root=bank_dir)
    assert path.exists() and path.name.startswith("GoToRedBall-")
    assert bank_path(spec, 8, seed=1, root=bank_dir) != path
    assert bank_path(spec, 8, density=0.2, root=bank_dir) != path
    again = LayoutBank.load(path, expect_key=red_ball_bank.key)
    assert again.content_hash() == red_ball_bank.content_hash()
    assert len(again.seeds) == 8 * 4 and again.buckets == [0, 1, 2, 3]
    assert not list(bank_dir.glob("*.tmp"))  # atomic write left nothing behind
    with pytest.raises(BankError, match="another key"):
        LayoutBank.load(path, expect_key={**red_ball_bank.key, "size": 9})
    corrupt = bank_dir / "corrupt.npz"
    data = dict(np.load(path))
    data["cells"] = data["cells"].copy()
    data["cells"][0, 1, 1] ^= 1
    np.savez(corrupt, **data)
    with pytest.raises(BankError, match="hash mismatch"):
        LayoutBank.load(corrupt)
    with pytest.raises(ValueError, match="bank size 0"):
        build_bank(spec, 0)


def test_bank_entries_are_the_reference_layouts(red_ball_bank):
    """Every entry regenerates from its recorded seed (the differential tests step them)."""
    from babyaipp.engine.bank import encode_layout
    from babyaipp.engine.reference import forced_map_env
    from babyaipp.placement import Reachability

    spec = babyaipp.get_family("GoToRedBall")
    for e in range(0, len(red_ball_bank.seeds), 5):
        env = forced_map_env(spec, int(red_ball_bank.trap_mask[e]))
        env.reset(seed=int(red_ball_bank.seeds[e]))
        layout = encode_layout(env)
        np.testing.assert_array_equal(layout["cells"], red_ball_bank.cells[e])
        np.testing.assert_array_equal(layout["tags"], red_ball_bank.tags[e])
        # the entry's trap slots are exactly its bucket, and they keep every object reachable
        mask = int(red_ball_bank.trap_mask[e])
        slots = {c: k for k, c in enumerate(env.floor_map)}
        traps = {(x, y) for x, y, c in env.tiles if mask >> slots[c] & 1}
        assert traps == {(x, y) for x, y, c in env.tiles if env.floor_map[c] == "trap"}
        assert Reachability(env.grid, env.agent_pos).traps_keep_solvable(traps)


# -- per-episode draws: the reference's distribution -------------------------------------------


@pytest.mark.parametrize(
    ("family", "split", "text", "order", "withhold"),
    [
        ("GoToRedBallHard", "Fixed", "full", "shuffled", 0),
        ("GoToRedBallHard", "Test", "shuffled", "sorted", 1),
        ("GoToRedBall", "HeldOut", "full", "sorted", 0),
        ("GoTo2x2Partial", "Train", "full", "shuffled", 1),
    ],
)
def test_maps_and_text_are_drawn_like_the_reference(family, split, text, order, withhold):
    """Frequencies within 5 binomial sigmas of draw_floor_map + make_sentences'."""
    spec = babyaipp.get_family(family)
    n = 6000
    rng = np.random.default_rng(1)
    reference = collections.Counter()
    for _ in range(n):
        fmap = draw_floor_map(spec, split, rng)
        sentences = make_sentences(fmap, rng, mode=text, order=order, withhold=withhold)
        reference[(tuple(fmap.items()), tuple(sentences))] += 1
    eps = EpisodeSampler(spec, split, text, order, withhold).draw(np.random.default_rng(2), n)
    engine = collections.Counter(
        (tuple(eps.floor_map(i).items()), tuple(eps.sentences(i))) for i in range(n)
    )
    for key in reference.keys() | engine.keys():
        p = (reference[key] + engine[key]) / (2 * n)
        sigma = np.sqrt(2 * p * (1 - p) / n)
        assert abs(reference[key] - engine[key]) / n <= 5 * sigma + 1e-9, key


# -- CLI ---------------------------------------------------------------------------------------


def test_bank_commands(bank_dir, capsys, uncovered):
    assert (
        cli_main(["bank", "build", "GoToRedBall", "--size", "8", "--dir", str(bank_dir), "--quiet"])
        == 0
    )
    assert "32 layouts in 4 trap sets" in capsys.readouterr().out
    assert cli_main(["bank", "list", "--dir", str(bank_dir)]) == 0
    assert "family=GoToRedBall size=8" in capsys.readouterr().out
    assert cli_main(["bank", "build", "GoToSeq", "--dir", str(bank_dir)]) == 2
    assert "runs on reference envs" in capsys.readouterr().err
    assert (
        cli_main(
            [
                "bank",
                "check",
                "BabyAIPP-GoToRedBall-Test-v0",
                "--envs",
                "4",
                "--steps",
                "30",
                "--size",
                "8",
                "--dir",
                str(bank_dir),
            ]
        )
        == 0
    )
    assert "identical over 120 steps" in capsys.readouterr().out


def test_list_shows_the_backend(capsys, uncovered):
    assert cli_main(["list", "--family", "GoTo"]) == 0
    out = capsys.readouterr().out
    assert "backend" in out.splitlines()[0] and "batched" in out
    assert cli_main(["list", "--family", "GoToSeq"]) == 0
    assert "reference" in capsys.readouterr().out
