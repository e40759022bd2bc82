"""Bad input on purpose (issue 16): one-line errors naming the value and what is valid, exit
code 2, nothing left behind; quiet shutdown on Ctrl-C; text that survives async vector envs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import babyaipp  # noqa: F401  (registers the ids)
from babyaipp.cli import main
from babyaipp.io import atomic_path, atomic_write_text, remove_stale_temp_files

ENV_ID = "BabyAIPP-GoToRedBall-Train-v0"
# Small training flags: a refusal must come before any of this is built.
TINY_TRAIN = [
    "--dim", "8", "--num-envs", "2", "--num-steps", "8", "--recurrence", "4",
    "--num-minibatches", "1", "--update-epochs", "1", "--eval-env-id", "none",
    "--vector-mode", "sync", "--no-progress", "--total-frames", "16",
]  # fmt: skip
QUICK_EVAL = ["--episodes", "1", "--families", "GoToRedBall", "--num-envs", "1", "--no-progress"]


def one_line_error(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    return err


# -- describe ----------------------------------------------------------------------------------


# -- train: validated before anything is created -----------------------------------------------


@pytest.mark.parametrize(
    ("flags", "needles"),
    [
        (["--env-id", "BabyAIPP-Nope-Train-v0"], ["--env-id='BabyAIPP-Nope-Train-v0'", "list"]),
        (["--eval-env-id", "BabyAIPP-Nope-HeldOut-v0"], ["--eval-env-id="]),
        (["--env-id", "CartPole-v1"], ["--env-id='CartPole-v1' is not a babyaipp env id"]),
        (["--total-frames", "-5"], ["--total-frames=-5", "at least 1"]),
        (["--total-frames", "0"], ["--total-frames=0", "at least 1"]),
        (["--seed", "-1"], ["--seed=-1", "non-negative"]),
        (["--checkpoint-interval", "0"], ["--checkpoint-interval=0"]),
        (["--learning-rate", "-1"], ["--learning-rate=-1.0", "positive"]),
        (["--gamma", "1.5"], ["--gamma=1.5", "[0, 1]"]),
        (["--env-kwargs", '{"density": "x"}'], ["density='x'", "[0, 1]"]),
    ],
)
def test_train_refuses_bad_flags_and_leaves_no_run_folder(tmp_path, capsys, flags, needles):
    pytest.importorskip("torch")
    runs = tmp_path / "runs"
    argv = ["train", *TINY_TRAIN, "--run-dir", str(runs), "--run-name", "r", *flags]
    assert main(argv) == 2
    one_line_error(capsys, *needles)
    assert not runs.exists() or not any(runs.iterdir())


# -- gym.make and actions ----------------------------------------------------------------------


def test_make_names_a_bad_density():
    with pytest.raises(ValueError, match=r"density='x' must be a number in \[0, 1\]"):
        gym.make(ENV_ID, density="x")


@pytest.mark.parametrize("action", [True, False, np.True_, np.array(True)])
def test_bool_actions_are_refused(action):
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="invalid action.*valid: integers 0-6"):
        env.step(action)


# -- checkpoints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "what"),
    [
        (b"", "an empty file"),
        (b"hello world\n", "a text file of 12 bytes starting 'hello world'"),
        (b"PK\x03\x04junk", "a zip archive that torch cannot read"),
        (bytes(range(200, 256)), "binary data of 56 bytes"),
    ],
)
def test_bad_checkpoint_files_say_what_they_are(tmp_path, capsys, content, what):
    pytest.importorskip("torch")
    from babyaipp.agents import load_checkpoint

    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ValueError) as excinfo:
        load_checkpoint(path)
    message = str(excinfo.value)
    assert what in message and "expected a torch file written by `babyaipp train`" in message
    assert "KeyError" not in message and "EOFError" not in message
    assert main(["evaluate", f"checkpoint:{path}", *QUICK_EVAL, "--out", str(tmp_path)]) == 2
    one_line_error(capsys, what)


def test_atomic_writes_fsync_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    atomic_write_text(tmp_path / "f.json", "{}")
    assert events[:2] == ["fsync", "replace"], events
    assert (tmp_path / "f.json").read_text() == "{}"


def test_killed_writes_leave_temp_files_that_the_next_start_removes(tmp_path):
    target = tmp_path / "checkpoint.pt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError  # an exception cleans up; a kill does not:
    stale = tmp_path / ".checkpoint.pt.k1ll3d.tmp"
    stale.write_bytes(b"half")
    other = tmp_path / ".config.json.abc.tmp"
    other.write_bytes(b"")
    assert remove_stale_temp_files(target) == [stale]
    assert not stale.exists() and other.exists()


def test_training_start_removes_stale_checkpoint_temp_files(tmp_path):
    pytest.importorskip("torch")
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    stale = run / ".checkpoint.pt.abcd1234.tmp"
    stale.write_bytes(b"PK\x03\x04half a checkpoint")
    argv = ["train", *TINY_TRAIN, "--run-dir", str(tmp_path / "runs"), "--run-name", "r"]
    assert main(argv) == 0
    assert not stale.exists()
    assert (run / "checkpoint.pt").is_file()
    assert not list(run.glob(".*.tmp"))


# -- evaluate --out ----------------------------------------------------------------------------


def test_evaluate_refuses_to_overwrite_results_unless_asked(tmp_path, capsys):
    out = tmp_path / "same.json"
    argv = ["evaluate", "random:seed=0", *QUICK_EVAL, "--vectorization", "sync", "--out", str(out)]
    assert main(argv) == 0
    first = out.read_text()
    capsys.readouterr()
    assert main(argv) == 2
    one_line_error(capsys, str(out), "exists", "--overwrite")
    assert out.read_text() == first
    # checked before any work: a policy that cannot load is not even looked at
    missing = ["evaluate", "checkpoint:/no/such.pt", *QUICK_EVAL, "--out", str(out)]
    assert main(missing) == 2
    one_line_error(capsys, "--overwrite")
    assert main([*argv, "--overwrite"]) == 0
    assert json.loads(out.read_text())["policy"]["spec"] == "random:seed=0"


def test_results_written_meanwhile_are_not_clobbered(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_text(path, "first", overwrite=False)
    with pytest.raises(FileExistsError, match="r.json exists"):
        atomic_write_text(path, "second", overwrite=False)
    assert path.read_text() == "first" and not list(tmp_path.glob(".*.tmp"))


# -- Ctrl-C ------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the workers")
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize(("workers", "wait_s"), [(3, 1.0), (1, 0.0)], ids=["stepping", "forking"])
def test_interrupted_evaluate_exits_quietly(tmp_path, sig, code, workers, wait_s):
    """Ctrl-C (SIGINT to the whole process group) or SIGTERM while async workers run, or
    while they are being forked (as soon as the first exists: before it ignores Ctrl-C)."""
    command = [
        sys.executable, "-m", "babyaipp", "evaluate", "random:seed=0", "--episodes", "400",
        "--families", "GoToRedBall", "--num-envs", "3", "--no-progress",
        "--out", str(tmp_path / "r.json"),
    ]  # fmt: skip
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # as in a terminal: a test run started in the background (`cmd &` in a script) would
        # hand its children SIGINT ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1 if wait_s else 0.001)
        assert len(_children(proc.pid)) >= workers, "the workers did not start"
        time.sleep(wait_s)  # let them step, or not
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # what the terminal sends on Ctrl-C
        else:
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    text = err.decode(errors="replace")
    assert proc.returncode == code, text
    assert len(err) < 1024 and "Traceback" not in text, text
    assert not (tmp_path / "r.json").exists()


# -- async vector envs keep the text -----------------------------------------------------------


def test_default_async_vector_env_returns_the_real_text():
    seeds = [3, 4]
    singles = []
    for seed in seeds:
        env = gym.make(ENV_ID)
        singles.append(env.reset(seed=seed)[0])
        env.close()
    vec = gym.make_vec(ENV_ID, 2, vectorization_mode="async")
    try:
        obs, _ = vec.reset(seed=seeds)
        assert list(obs["mission"]) == [o["mission"] for o in singles]
        assert list(obs["description"]) == [o["description"] for o in singles]
        assert isinstance(obs["mission"], tuple) and all(isinstance(m, str) for m in obs["mission"])
        obs, *_ = vec.step(np.array([2, 2]))
        sync = gym.make_vec(ENV_ID, 2, vectorization_mode="sync")
        sync.reset(seed=seeds)
        expected, *_ = sync.step(np.array([2, 2]))
        sync.close()
        assert obs["mission"] == expected["mission"]
        assert obs["description"] == expected["description"]
        np.testing.assert_array_equal(obs["image"], expected["image"])
    finally:
        vec.close()


def test_eval_without_scipy_names_the_extra():
    """``import babyaipp.eval`` without scipy says which extra to install, not just 'scipy'."""
    code = (
        "import sys; sys.modules['scipy'] = None\n"  # what an absent package looks like to import
        "try:\n"
        "    import babyaipp.eval\n"
        "except ModuleNotFoundError as error:\n"
        "    print(error.name, '|', error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.startswith("scipy |"), out
    assert "pip install 'babyaipp[eval]'" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["describe", "BabyAIPP-GoToLocal-Train-v0", "--seed", "-1"],
        ["play", "BabyAIPP-GoToLocal-Train-v0", "--seed", "-1"],
        ["bank", "check", "--seed", "-1"],
        ["demos", "BabyAIPP-GoToLocal-Train-v0", "--seed", "-1", "--out", "x.npz"],
        ["probe", "BabyAIPP-GoToLocal-Train-v0", "--seed", "-2"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_every_negative_seed_is_a_one_line_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "argument --seed:" in err[-1] and "must be a non-negative integer" in err[-1], err


def test_output_into_a_closed_pipe_is_not_an_error():
    """`babyaipp list | true`: the reader is gone before the first write; no BrokenPipeError
    traceback."""
    done = subprocess.run(
        f"{sys.executable} -m babyaipp list | true",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
