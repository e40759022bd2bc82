"""The trainer end to end on CPU: smoke run, logs, checkpoints and resume, CLI, examples, SB3."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
# One thread: on a busy 2-core machine OpenMP spin-waiting makes small models 10x slower.
torch.set_num_threads(1)

from babyaipp.agents import TrainConfig, load_checkpoint, load_policy, train  # noqa: E402
from babyaipp.cli import main as cli_main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    env_id="BabyAIPP-GoToRedBall-Train-v0",
    dim=8,
    num_envs=2,
    num_steps=8,
    recurrence=4,
    num_minibatches=2,
    update_epochs=2,
    eval_episodes=2,
    eval_interval=1,
    checkpoint_interval=1,
    vector_mode="sync",
    progress=False,
)


def tiny(tmp_path, iterations: int, **overrides) -> TrainConfig:
    frames = iterations * TINY["num_envs"] * TINY["num_steps"]
    return TrainConfig(**{**TINY, "total_frames": frames, "run_dir": str(tmp_path), **overrides})


def rows(run_dir) -> list[dict]:
    with open(Path(run_dir) / "progress.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_two_iterations_write_logs_and_a_checkpoint(tmp_path):
    summary = train(tiny(tmp_path, 2, run_name="smoke", model="cross-attention"))
    run_dir = Path(summary["run_dir"])
    logged = rows(run_dir)
    assert [int(r["iteration"]) for r in logged] == [1, 2]
    assert [int(r["frames"]) for r in logged] == [16, 32]
    assert all(r["eval_success"] != "" for r in logged)  # evaluated on HeldOut every iteration
    assert 0.0 <= float(logged[-1]["eval_success"]) <= 1.0
    assert list(run_dir.glob("events.out.tfevents.*")), "TensorBoard events written"
    assert json.loads((run_dir / "config.json").read_text())["model"] == "cross-attention"
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint["iteration"] == 2 and checkpoint["global_step"] == 32
    assert checkpoint["config"]["env_id"] == TINY["env_id"]
    policy = load_policy(run_dir)
    assert policy.model_name == "cross-attention" and policy.config["dim"] == 8


def test_async_vector_envs(tmp_path):
    summary = train(tiny(tmp_path, 1, run_name="async", vector_mode="async", eval_env_id="none"))
    assert summary["frames"] == 16 and "eval_success" not in summary


def test_batched_engine_backend(tmp_path, monkeypatch):
    from babyaipp.agents.trainer import make_envs
    from babyaipp.engine.numpy_env import NumpyBatchedEnv

    monkeypatch.setenv("BABYAIPP_BANK_DIR", str(tmp_path / "banks"))
    cfg = tiny(tmp_path, 2, run_name="batched", env_backend="batched", bank_size=4)
    envs = make_envs(cfg)
    assert isinstance(envs, NumpyBatchedEnv) and envs.num_envs == TINY["num_envs"]
    envs.close()
    summary = train(cfg)
    assert summary["frames"] == 32 and 0.0 <= summary["eval_success"] <= 1.0
    assert len(list((tmp_path / "banks").glob("GoToRedBall-*.npz"))) == 1
    with pytest.raises(ValueError, match="env_backend='gpu'; valid: reference, batched, batc"):
        tiny(tmp_path, 1, env_backend="gpu").validate()


def test_numba_engine_backend(tmp_path, monkeypatch):
    """batched-numba forces the numba engine; plain batched takes it on a CPU where it can."""
    pytest.importorskip("numba")
    from babyaipp.agents.trainer import make_envs
    from babyaipp.engine.numba_env import NumbaBatchedEnv
    from babyaipp.engine.numpy_env import NumpyBatchedEnv

    monkeypatch.setenv("BABYAIPP_BANK_DIR", str(tmp_path / "banks"))
    cfg = tiny(tmp_path, 2, run_name="numba", env_backend="batched-numba", bank_size=4)
    for backend, kind in [("batched-numba", NumbaBatchedEnv), ("batched", NumbaBatchedEnv)]:
        envs = make_envs(tiny(tmp_path, 1, env_backend=backend, bank_size=4))
        assert type(envs) is kind, backend
        envs.close()
    envs = make_envs(tiny(tmp_path, 1, env_backend="batched-numpy", bank_size=4))
    assert type(envs) is NumpyBatchedEnv
    envs.close()
    # where the numba engine cannot run the family, batched falls back to reference envs
    with pytest.warns(UserWarning, match="placement="):
        envs = make_envs(
            tiny(tmp_path, 1, env_backend="batched", env_kwargs={"placement": "original"})
        )
    assert not isinstance(envs, NumpyBatchedEnv)
    envs.close()
    assert train(cfg)["frames"] == 32


def test_torch_engine_backend(tmp_path, monkeypatch):
    """The torch engine (what a GPU run uses), here on CPU: tensors all the way."""
    from babyaipp.agents.trainer import make_envs
    from babyaipp.engine.torch_env import TorchBatchedEnv

    monkeypatch.setenv("BABYAIPP_BANK_DIR", str(tmp_path / "banks"))
    cfg = tiny(tmp_path, 2, run_name="torch", env_backend="batched-torch", bank_size=4)
    envs = make_envs(cfg, torch.device("cpu"))
    assert isinstance(envs, TorchBatchedEnv)
    envs.close()
    summary = train(cfg)
    assert summary["frames"] == 32
    logged = rows(summary["run_dir"])
    assert [int(r["iteration"]) for r in logged] == [1, 2]


def test_resume_continues_from_the_checkpoint_deterministically(tmp_path):
    first = train(tiny(tmp_path, 2, run_name="first", model="film"))
    saved = load_checkpoint(first["checkpoint"])

    finals = []
    for name in ("resumed-a", "resumed-b"):
        run_dir = tmp_path / name
        run_dir.mkdir()
        (run_dir / "checkpoint.pt").write_bytes(Path(first["checkpoint"]).read_bytes())
        summary = train(tiny(tmp_path, 4, run_name=name, model="film", resume=str(run_dir)))
        logged = rows(run_dir)
        assert [int(r["iteration"]) for r in logged] == [3, 4]  # starts after the checkpoint
        assert summary["frames"] == 4 * 16
        finals.append(load_checkpoint(run_dir))

    a, b = finals
    assert a["iteration"] == b["iteration"] == 4
    for key, tensor in a["model_state"].items():
        torch.testing.assert_close(tensor, b["model_state"][key])  # same checkpoint → same run
    moved = any(
        not torch.equal(tensor, saved["model_state"][key])
        for key, tensor in a["model_state"].items()
    )
    assert moved, "the resumed run trained"


def test_resume_of_a_finished_run_rewrites_nothing(tmp_path):
    first = train(tiny(tmp_path, 1, run_name="done", model="image"))
    before = Path(first["checkpoint"]).read_bytes()
    train(tiny(tmp_path, 1, run_name="done", model="image", resume=first["checkpoint"]))
    assert Path(first["checkpoint"]).read_bytes() == before
    assert len(rows(first["run_dir"])) == 1


def test_resume_with_another_model_is_refused(tmp_path):
    first = train(tiny(tmp_path, 1, run_name="img", model="image"))
    with pytest.raises(ValueError, match="checkpoint model"):
        train(tiny(tmp_path, 2, run_name="img", model="concat", resume=first["checkpoint"]))


def test_cli_train_and_its_errors(tmp_path, capsys):
    args = ["train", "--preset", "small", "--dim", "8", "--num-envs", "2", "--num-steps", "8"]
    args += ["--recurrence", "4", "--num-minibatches", "1", "--total-frames", "16"]
    args += ["--eval-episodes", "1", "--vector-mode", "sync", "--no-progress"]
    args += ["--run-dir", str(tmp_path), "--run-name", "cli", "--model", "concat"]
    assert cli_main(args) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["frames"] == 16 and Path(printed["checkpoint"]).is_file()

    # --resume takes the stored config; explicit flags override it
    assert cli_main(["train", "--resume", printed["checkpoint"], "--total-frames", "32"]) == 0
    assert load_checkpoint(printed["checkpoint"])["global_step"] == 32

    assert cli_main(["train", "--model", "transformer", "--run-dir", str(tmp_path)]) == 2
    assert "unknown model 'transformer'" in capsys.readouterr().err
    assert cli_main(["train", "--resume", str(tmp_path / "nope.pt")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_device_resolution():
    from babyaipp.agents.trainer import resolve_device

    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_train_agent(tmp_path, capsys):
    results = load_example("train_agent").main(
        ["--total-frames", "128", "--num-envs", "2", "--episodes", "2", "--run-dir", str(tmp_path)]
        + ["--no-progress"]
    )
    assert set(results) == {"seen (Train)", "held-out (HeldOut)"}
    assert "held-out (HeldOut)" in capsys.readouterr().out


def test_example_train_sb3_ppo(capsys):
    results = load_example("train_sb3_ppo").main(
        ["--timesteps", "32", "--n-envs", "2", "--episodes", "2", "--dim", "8", "--model", "film"]
    )
    assert len(results) == 2 and all(0.0 <= s <= 1.0 for s in results.values())
    assert "HeldOut" in capsys.readouterr().out


def test_sb3_extractor_refuses_scaled_images():
    import gymnasium as gym
    import numpy as np

    import babyaipp
    from babyaipp.agents.sb3 import BabyAIPPExtractor

    env = babyaipp.TokenizeText(gym.make("BabyAIPP-GoToRedBall-Train-v0"))
    extractor = BabyAIPPExtractor(env.observation_space, "cross-attention", dim=8)
    obs, _ = env.reset(seed=0)
    batch = {k: torch.as_tensor(np.asarray(v)[None]).float() for k, v in obs.items()}
    assert extractor(batch).shape == (1, 8)
    with pytest.raises(ValueError, match="normalize_images=False"):
        extractor({**batch, "image": batch["image"] / 255.0})


def test_sb3_extractor_grid_conv_is_stored_and_defaults_to_the_legacy_one():
    """SB3 rebuilds an extractor from its stored kwargs: models saved before ``grid_conv``
    existed lack it and used full convolutions, new ones store the default by name."""
    import gymnasium as gym

    import babyaipp
    from babyaipp.agents.config import DEFAULT_GRID_CONV
    from babyaipp.agents.sb3 import BabyAIPPExtractor

    space = babyaipp.TokenizeText(gym.make("BabyAIPP-GoToRedBall-Train-v0")).observation_space
    assert BabyAIPPExtractor(space, "film", dim=8).fusion.grid_conv == "full"
    kwargs = BabyAIPPExtractor.policy_kwargs("film", dim=8)["features_extractor_kwargs"]
    assert kwargs == {"model": "film", "dim": 8, "grid_conv": DEFAULT_GRID_CONV}
    assert BabyAIPPExtractor(space, **kwargs).fusion.grid_conv == "separable"
