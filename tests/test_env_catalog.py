"""Family specs: validation, user-defined families, the CLI, installation and import hygiene."""

import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import babyaipp
from babyaipp import FamilySpec, SpecError, TokenizeText
from babyaipp.catalog import parse_env_id
from babyaipp.cli import main as cli_main

REPO = Path(__file__).resolve().parents[1]

VALID = {
    "name": "MyRoom",
    "base": "minigrid.envs.babyai.goto:GoToLocal",
    "base_kwargs": {"room_size": 7, "num_dists": 2},
    "properties": ["trap", "sticky"],
    "floor_colors": ["red", "yellow"],
    "held_out": {"red": ["sticky"]},
}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"properties": ["trap", "lava"]}, r"unknown property 'lava'; valid: \['magic'"),
        ({"floor_colors": ["red", "pink"]}, r"unknown colour 'pink'; valid: \['blue'"),
        ({"held_out": {"green": ["trap"]}}, r"held-out colour 'green' is not a floor colour"),
        ({"held_out": {"red": ["magic"]}}, r"held-out pair \(red, magic\) names a property"),
        ({"held_out": {"red": ["trap", "sticky"]}}, "holds out every property"),
        ({"fixed": {"red": "trap", "blue": "fliplr"}}, r"fixed pair \(blue, fliplr\)"),
        ({"withhold": 3}, r"withhold 3 must be an integer in \[0, 2\]"),
        ({"density": 2}, "density 2 must be a number"),
        ({"colour": "red"}, r"unknown keys \['colour'\]"),
        ({"name": "my-room"}, "name 'my-room' must be a CamelCase"),
        ({"base": "GoToLocal"}, "base 'GoToLocal' must be 'module:ClassName'"),
    ],
)
def test_bad_specs_name_the_problem(change, match):
    with pytest.raises(SpecError, match=match):
        FamilySpec.from_dict({**VALID, **change}, source="my.toml")


def test_missing_keys_and_malformed_toml(tmp_path):
    with pytest.raises(SpecError, match=r"missing required keys \['floor_colors'\]"):
        FamilySpec.from_dict({k: v for k, v in VALID.items() if k != "floor_colors"})
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "X"\nproperties = [trap]\n')
    with pytest.raises(SpecError, match=r"bad.toml: malformed TOML"):
        FamilySpec.from_file(bad)
    with pytest.raises(SpecError, match="cannot read spec file"):
        FamilySpec.from_file(tmp_path / "missing.toml")


def test_unimportable_base_is_reported():
    spec = FamilySpec.from_dict({**VALID, "base": "minigrid.envs.babyai.goto:NoSuchLevel"})
    with pytest.raises(SpecError, match="cannot import base level"):
        spec.base_class()


def test_unknown_names_are_reported():
    with pytest.raises(ValueError, match="unknown family 'Nope'; known: "):
        babyaipp.get_family("Nope")
    with pytest.raises(ValueError, match="unknown split 'Fixed' for family GoToRedBall"):
        babyaipp.make_env("GoToRedBall", "Fixed")
    with pytest.raises(ValueError, match="is not a babyaipp id"):
        parse_env_id("BabyAI-GoToLocal-v0")
    assert parse_env_id("babyaipp:BabyAIPP-GoTo-HeldOut-v0") == ("GoTo", "HeldOut")


USER_SPEC = textwrap.dedent(
    """
    name = "CornerRoom"
    base = "minigrid.envs.babyai.goto:GoToLocal"
    base_kwargs = { room_size = 7, num_dists = 2 }
    properties = ["trap", "sticky", "magic"]
    floor_colors = ["red", "yellow"]
    held_out = { red = ["magic"] }
    """
)


@pytest.fixture(scope="module")
def user_family(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "corner_room.toml"
    path.write_text(USER_SPEC)
    ids = babyaipp.register_family(path)
    yield ids
    for env_id in ids:
        gym.registry.pop(env_id)
    babyaipp.FAMILIES.pop("CornerRoom")


def test_user_family_registers_with_one_call(user_family):
    assert user_family == [f"BabyAIPP-CornerRoom-{s}-v0" for s in ("Train", "HeldOut", "Test")]
    env = gym.make("BabyAIPP-CornerRoom-HeldOut-v0")
    obs, info = env.reset(seed=0)
    assert info["floor_properties"]["red"] == "magic" and info["held_out"]
    assert env.observation_space.contains(obs)
    with pytest.raises(ValueError, match="already registered"):
        babyaipp.register_family(babyaipp.FAMILIES["CornerRoom"])


def test_user_family_works_in_vector_worker_processes(user_family):
    envs = gym.make_vec(user_family[0], 2, vectorization_mode="async", wrappers=[TokenizeText])
    try:
        obs, _ = envs.reset(seed=[0, 1])
        assert obs["image"].shape == (2, 7, 7, 3)
        envs.step(np.array([2, 2]))
    finally:
        envs.close()


def run_cli(capsys, *argv):
    code = cli_main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:6] == ["id", "family", "split", "grid", "colours", "properties"]
    assert len(lines) == 2 + len(babyaipp.registered_ids())
    row = next(line for line in lines if line.startswith("BabyAIPP-GoTo-Train-v0 "))
    assert "31x31" in row and "blue,green" in row and "trap,fliplr,slippery" in row


def test_cli_describe(capsys):
    code, out, _ = run_cli(capsys, "describe", "BabyAIPP-GoToRedBall-Test-v0", "--seed", "2")
    env = gym.make("BabyAIPP-GoToRedBall-Test-v0")
    obs, info = env.reset(seed=2)
    assert code == 0
    assert f"instruction: {obs['mission']}" in out
    assert f"description: {obs['description']}" in out
    assert "AR" in out  # the red ball in the picture
    picture = [line for line in out.splitlines() if line.startswith("WW") or line.startswith("WG")]
    assert len(picture) == 8 and all(len(line) == 16 for line in picture)


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["describe", "BabyAIPP-Nope-Train-v0"], "'BabyAIPP-Nope-Train-v0': unknown family 'Nope'"),
        (["describe", "BabyAIPP-GoToRedBall-Train-v3"], "GoToRedBall has no version v3"),
        (["describe", "GoToRedBall"], "is not a babyaipp id"),
        (["describe", "BabyAIPP-GoToRedBall-Train-v0", "--text", "poetry"], "unknown text"),
        (["list", "--family", "Nope"], "unknown family 'Nope'"),
    ],
)
def test_cli_errors_are_one_line(capsys, argv, match):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and match in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_import_is_torch_free_and_registers_without_import():
    code = (
        "import sys, gymnasium as gym\n"
        "env = gym.make('babyaipp:BabyAIPP-GoToRedBall-Train-v0')\n"
        "env.reset(seed=0)\n"
        "assert 'torch' not in sys.modules, 'import babyaipp pulled in torch'\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_quickstart_example_runs():
    sys.path.insert(0, str(REPO / "examples"))
    try:
        import quickstart
    finally:
        sys.path.pop(0)
    rates = quickstart.main(["--episodes", "5"])
    assert abs(sum(rates.values()) - 1.0) < 1e-9


@pytest.mark.slow
def test_non_editable_install_in_a_fresh_venv(tmp_path):
    """`pip install .` (a real wheel, not editable) serves the ids from any directory."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(REPO)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-2000:]
    code = (
        "import gymnasium as gym\n"
        "env = gym.make('babyaipp:BabyAIPP-GoToRedBall-Train-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "import babyaipp\n"
        "assert 'site-packages' in babyaipp.__file__, babyaipp.__file__\n"
        "env = gym.make('BabyAIPP-PutNextLocal-Fixed-v0'); env.reset(seed=1)\n"
        "print(len(babyaipp.registered_ids()))\n"
    )
    run = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(len(babyaipp.registered_ids()))
