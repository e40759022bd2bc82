"""benchmarks/train_speed.py runs end to end on a tiny budget and reports every trainer."""

import statistics
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_train_speed_tiny_with_a_baseline_grid_conv(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import train_speed

    medians = train_speed.main(
        [
            "--env-id", "BabyAIPP-GoToRedBall-Train-v1",
            "--frames", "32", "--num-envs", "2", "--num-steps", "16", "--recurrence", "4",
            "--epochs", "1", "--minibatches", "1", "--rounds", "1", "--dim", "8",
            "--vector-mode", "sync", "--env-backend", "batched",
            "--grid-conv", "separable", "--baseline-grid-conv", "full",
        ]
    )  # fmt: skip
    baseline = "ours (LSTM, full grid conv)"
    assert set(medians) == {"ours (LSTM)", "ours (no memory)", "sb3", baseline}
    assert all(fps > 0 for fps in medians.values())
    out = capsys.readouterr().out
    assert "cross-attention dim 8 (separable grid conv)" in out
    assert f"{baseline}: {medians[baseline]:.0f} frames/s; ours (LSTM) is" in out


@pytest.mark.parametrize("warmup", [True, False])
def test_train_speed_warms_every_trainer_up_on_one_rollout_untimed(monkeypatch, warmup):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import train_speed

    calls = []  # (trainer, frames asked for)
    fps = iter(range(1, 100))

    def fake_ours(args, memory, run_dir, grid_conv):
        calls.append((f"ours {memory} {grid_conv}", args.frames))
        return float(next(fps))

    def fake_sb3(args):
        calls.append(("sb3", args.frames))
        return float(next(fps))

    monkeypatch.setattr(train_speed, "ours", fake_ours)
    monkeypatch.setattr(train_speed, "sb3", fake_sb3)
    argv = ["--frames", "4096", "--num-envs", "4", "--num-steps", "8", "--rounds", "2"]
    medians = train_speed.main(argv + ([] if warmup else ["--no-warmup"]))
    default = train_speed.DEFAULT_GRID_CONV
    trainers = [f"ours True {default}", "sb3", f"ours False {default}"]
    warm = [(name, 4 * 8) for name in trainers] if warmup else []
    assert calls == warm + [(name, 4096) for name in trainers] * 2
    # the medians are of the timed rounds only
    first = len(warm) + 1
    assert medians["ours (LSTM)"] == statistics.median([first, first + 3])
