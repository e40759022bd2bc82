"""benchmarks/update_profile.py runs end to end on tiny sizes and names the heavy operators."""

from pathlib import Path

import pytest

pytest.importorskip("torch")
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_update_profile_tiny(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import update_profile

    update_profile.main(["--sequences", "4", "--recurrence", "2", "--dim", "8", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "width 8 (separable grid conv), 1 thread(s): minibatch of 8 frames" in out
    assert "aten::" in out  # the profiler's operator table
