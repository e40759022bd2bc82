"""benchmarks/train_speed.py runs end to end on a tiny budget and reports every trainer."""

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
