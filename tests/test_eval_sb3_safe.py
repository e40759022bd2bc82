"""Loading stable-baselines3 model files must never run code stored in them."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO  # noqa: E402

from babyaipp import TokenizeText  # noqa: E402
from babyaipp.agents.sb3 import BabyAIPPExtractor  # noqa: E402
from babyaipp.eval import make_suite  # noqa: E402
from babyaipp.eval.leaderboard import add_entry, verify_entry  # noqa: E402
from babyaipp.eval.policies import policy_from_spec  # noqa: E402
from babyaipp.eval.results import evaluate, write_results  # noqa: E402
from babyaipp.eval.sb3_safe import UntrustedModelError, load_sb3_model  # noqa: E402

ENV_ID = "BabyAIPP-GoToRedBall-Train-v0"


class Payload:
    """Unpickling this creates ``marker``: a harmless stand-in for arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _save(tmp_path: Path, name: str, policy_kwargs: dict | None = None) -> Path:
    env = TokenizeText(gym.make(ENV_ID))
    model = PPO(
        "MultiInputPolicy",
        env,
        n_steps=32,
        batch_size=32,
        policy_kwargs=policy_kwargs or BabyAIPPExtractor.policy_kwargs("image", dim=32),
        device="cpu",
        seed=0,
    )
    path = tmp_path / name
    model.save(path)
    return path


def _tamper(path: Path, out: Path, edit) -> Path:
    """A copy of the zip at ``path`` whose ``data`` JSON went through ``edit``."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            raw = source.read(item)
            if item == "data":
                data = json.loads(raw)
                edit(data)
                raw = json.dumps(data).encode()
            target.writestr(item, raw)
    return out


def _pickled(obj) -> str:
    return base64.b64encode(pickle.dumps(obj)).decode()


@pytest.fixture(scope="module")
def model_zip(tmp_path_factory) -> Path:
    return _save(tmp_path_factory.mktemp("sb3"), "ppo.zip")


def test_safe_load_acts_like_sb3_load(model_zip):
    safe = load_sb3_model("PPO", model_zip)
    trusted = PPO.load(model_zip, device="cpu")
    env = TokenizeText(gym.make(ENV_ID))
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        a, _ = safe.predict(obs, deterministic=True)
        b, _ = trusted.predict(obs, deterministic=True)
        assert a == b
    for name, tensor in trusted.policy.state_dict().items():
        assert np.array_equal(tensor.numpy(), safe.policy.state_dict()[name].numpy()), name


def test_a_payload_in_a_known_field_is_ignored_not_run(model_zip, tmp_path):
    marker = tmp_path / "pwned"

    def edit(data):
        data["policy_class"][":serialized:"] = _pickled(Payload(marker))
        data["observation_space"][":serialized:"] = _pickled(Payload(marker))

    evil = _tamper(model_zip, tmp_path / "evil.zip", edit)
    policy = policy_from_spec(f"sb3:PPO:{evil}")  # rebuilt from the plain text beside it
    assert not marker.exists()
    assert policy.model.policy_class.__name__ == "MultiInputActorCriticPolicy"
    # The payload is real: SB3's own load (trusted) runs it (and then fails on its result).
    with pytest.raises(ValueError):
        policy_from_spec(f"sb3:PPO:{evil}", trust_remote_code=True)
    assert marker.exists()


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d, p: d.update(evil={":type:": "x", ":serialized:": p}), "'evil'"),
        (
            lambda d, p: d["policy_class"].update(__init__="<function Evil.__init__ at 0x1>"),
            "policy_class",
        ),
        (
            lambda d, p: d["policy_kwargs"].update(features_extractor_class="<class 'os.X'>"),
            "policy_kwargs.features_extractor_class",
        ),
        (lambda d, p: d["observation_space"].update(spaces="{}"), "observation_space"),
        (lambda d, p: d.update(predict=1), "'predict'"),
    ],
    ids=["unknown-field", "foreign-policy", "foreign-class", "other-space", "method"],
)
def test_what_cannot_be_rebuilt_safely_is_refused(model_zip, tmp_path, edit, match):
    marker = tmp_path / "pwned"
    evil = _tamper(model_zip, tmp_path / "evil.zip", lambda d: edit(d, _pickled(Payload(marker))))
    with pytest.raises(UntrustedModelError, match=match) as info:
        policy_from_spec(f"sb3:PPO:{evil}")
    assert "--trust-remote-code" in str(info.value)
    assert not marker.exists()


def test_a_pickle_in_the_weights_is_refused(model_zip, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(model_zip) as source, zipfile.ZipFile(evil, "w") as target:
        for item in source.namelist():
            raw = pickle.dumps(Payload(marker)) if item == "policy.pth" else source.read(item)
            target.writestr(item, raw)
    with pytest.raises(UntrustedModelError, match="policy.pth is not a plain weights file"):
        load_sb3_model("PPO", evil)
    assert not marker.exists()


def test_evaluate_command_does_not_run_the_payload(model_zip, tmp_path):
    marker = tmp_path / "pwned"
    evil = _tamper(
        model_zip,
        tmp_path / "evil.zip",
        lambda d: d.update(evil={":type:": "x", ":serialized:": _pickled(Payload(marker))}),
    )
    command = [sys.executable, "-m", "babyaipp", "evaluate", f"sb3:PPO:{evil}", "--episodes", "1"]
    command += ["--families", "GoToRedBall", "--out", str(tmp_path / "r.json"), "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "refusing to unpickle 'evil'" in done.stderr and "Traceback" not in done.stderr
    assert not marker.exists() and not (tmp_path / "r.json").exists()


def test_verifying_a_submitted_entry_does_not_run_its_code(model_zip, tmp_path):
    suite = make_suite("sb3-safety", ["GoToRedBall"], ["Train"], episodes=2)
    model = tmp_path / "model.zip"
    model.write_bytes(model_zip.read_bytes())
    policy = policy_from_spec("sb3:PPO:model.zip", base_dir=tmp_path)
    write_results(evaluate(policy, suite, num_envs=1, vectorization="sync"), tmp_path / "r.json")
    entry = add_entry(
        tmp_path / "board", "sub", [tmp_path / "r.json"], suite, model="sb3 test", frames=0
    )
    shipped = entry.path / "model.zip"  # a submitted entry ships its model beside its results
    model.rename(shipped)
    verify_entry(entry.path, suite, vectorization="sync")  # the honest file verifies
    marker = tmp_path / "pwned"
    _tamper(
        model_zip,
        shipped,
        lambda d: d.update(evil={":type:": "x", ":serialized:": _pickled(Payload(marker))}),
    )
    with pytest.raises(UntrustedModelError):
        verify_entry(entry.path, suite, vectorization="sync")
    assert not marker.exists()
