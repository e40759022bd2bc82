"""The prepared GPU check runs end to end (on the CPU, with --quick's tiny sizes)."""

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.slow
def test_gpu_check_quick_on_cpu(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("BABYAIPP_BANK_DIR", str(tmp_path / "banks"))
    import gpu_check

    out = tmp_path / "gpu_check.json"
    result = gpu_check.main(["--device", "cpu", "--quick", "--out", str(out)])
    assert json.loads(out.read_text()) == result
    assert set(result["engine_steps_per_s"]) == {
        "reference env (cpu)", "torch engine, 64 envs", "torch engine, 256 envs"
    }  # fmt: skip
    assert all(rate > 0 for rate in result["engine_steps_per_s"].values())
    assert set(result["train"]) == {
        f"{b}, {n} envs" for b in ("batched", "reference") for n in (4, 8)
    }
    for name, run in result["train"].items():
        n = int(name.split(", ")[1].split()[0])
        assert run["frames"] == 2 * n * 32 and run["frames_per_s"] > 0
    assert result["long_run"]["frames"] == 16 * 32 * 2
    assert 0.0 <= result["long_run"]["eval_success"] <= 1.0
