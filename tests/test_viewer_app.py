"""The viewer end to end, headless (SDL_VIDEODRIVER=dummy): window, events, files, CLI."""

from __future__ import annotations

import importlib
import sys

import gymnasium as gym
import numpy as np
import pygame
import pytest
from minigrid.core.actions import Actions
from PIL import Image
from test_viewer import LOCAL, FakePolicy, reference_env

import babyaipp  # noqa: F401
from babyaipp.cli import main
from babyaipp.viewer.app import key_name, run_viewer
from babyaipp.viewer.draw import Layout
from babyaipp.viewer.gif import Recorder, write_gif
from babyaipp.viewer.session import Session


@pytest.fixture
def agents():
    """babyaipp.agents, whose load_policy the tests replace (no torch needed)."""
    return importlib.import_module("babyaipp.agents")


SMALL = Layout(tile=16, panel_width=360, font_size=16, min_height=240)
KEYS = {"up": pygame.K_UP, "left": pygame.K_LEFT, "right": pygame.K_RIGHT, "d": pygame.K_d}


def post_keys(*names):
    """Queue KEYDOWN events as the keyboard would (letters carry their character)."""
    pygame.display.init()
    for name in names:
        key = KEYS.get(name, pygame.K_ESCAPE)
        char = name if len(name) == 1 else ""
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, unicode=char, mod=0))


def assert_not_blank(path):
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels.std() > 20
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20


def test_key_name_uses_the_typed_character_for_printable_keys():
    event = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_EQUALS, unicode="+", mod=0)
    assert key_name(event) == "+"
    event = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_n, unicode="N", mod=0)
    assert key_name(event) == "n"
    event = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_PAGEUP, unicode="", mod=0)
    assert key_name(event) == "page up"
    event = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, unicode=" ", mod=0)
    assert key_name(event) == "space"


def test_headless_window_plays_key_events_and_saves_a_screenshot(tmp_path):
    session = Session(LOCAL, seed=5)
    post_keys("up", "left", "up", "d", "escape", "up")  # the key after escape is never played
    shot = tmp_path / "shot.png"
    gif = tmp_path / "run.gif"
    recorder = run_viewer(session, layout=SMALL, screenshot=shot, record=gif)
    ref = reference_env(LOCAL, 5, [Actions.forward, Actions.left, Actions.forward])
    assert session.quit and session.show_dynamics
    assert session.level.step_count == 3
    assert tuple(session.level.agent_pos) == tuple(ref.agent_pos)
    assert session.level.agent_dir == ref.agent_dir
    assert_not_blank(shot)
    assert not list(tmp_path.glob(".*"))  # no temporary files left
    assert len(recorder.frames) == 5  # the start, three steps and the reveal
    with Image.open(gif) as image:
        assert image.n_frames == len(recorder.frames)


def test_headless_agent_run_quits_after_its_episodes(tmp_path):
    session = Session(
        LOCAL, seed=0, policy=FakePolicy(), speed=60.0, max_episodes=1, env_kwargs={"max_steps": 3}
    )
    shot = tmp_path / "agent.png"
    recorder = run_viewer(session, layout=SMALL, screenshot=shot, record=tmp_path / "agent.gif")
    assert session.quit and session.episodes_done == 1 and session.ended.reason == "timeout"
    # reset, three steps (the last one ends the episode)
    assert len(recorder.frames) == 4
    assert_not_blank(shot)


def test_gif_writer_round_trip_and_errors(tmp_path):
    frames = [np.full((20, 30, 3), v, dtype=np.uint8) for v in (0, 120, 250)]
    path = write_gif(tmp_path / "a.gif", frames, [100, 200, 300])
    with Image.open(path) as image:
        assert image.n_frames == 3
        image.seek(1)
        assert image.info["duration"] == 200
    with pytest.raises(ValueError, match="must end in .gif"):
        write_gif(tmp_path / "a.png", frames, 100)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_gif(tmp_path / "nope" / "a.gif", frames, 100)
    with pytest.raises(ValueError, match="no frames"):
        write_gif(tmp_path / "b.gif", [], 100)


def test_recorder_times_frames_and_caps_their_number(tmp_path):
    recorder = Recorder(tmp_path / "r.gif", max_frames=2)
    frame = np.zeros((8, 8, 3), dtype=np.uint8)
    for t in (0.0, 0.25, 0.5):
        recorder.add(frame, t)
    assert len(recorder.frames) == 2 and recorder.dropped == 1
    assert recorder.durations_ms() == [250, 1500]


# -- the CLI -------------------------------------------------------------------------------------


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_play_unknown_id_is_one_line(capsys):
    code, _, err = run_cli(capsys, "play", "BabyAIPP-Nope-Train-v0")
    assert_one_line_error(code, err, "unknown family", "BabyAIPP-Nope-Train-v0")


def test_play_missing_checkpoint_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "play", LOCAL, "--agent", str(tmp_path / "none.pt"))
    assert_one_line_error(code, err, "checkpoint", "none.pt", "not found")


def test_play_unreadable_checkpoint_is_one_line(capsys, tmp_path, monkeypatch, agents):
    def load_policy(path, device="cpu"):
        raise RuntimeError("PytorchStreamReader failed reading zip archive")

    monkeypatch.setattr(agents, "load_policy", load_policy, raising=False)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run_cli(capsys, "play", LOCAL, "--agent", str(bad))
    assert_one_line_error(code, err, "cannot read checkpoint", "bad.pt", "RuntimeError")


def test_play_checkpoint_for_another_vocabulary_is_one_line(capsys, tmp_path, monkeypatch, agents):
    def load_policy(path, device="cpu"):
        raise ValueError(f"checkpoint {path} was trained with vocabulary abc123, this is def456")

    monkeypatch.setattr(agents, "load_policy", load_policy, raising=False)
    ckpt = tmp_path / "other.pt"
    ckpt.write_bytes(b"x")
    code, _, err = run_cli(capsys, "play", LOCAL, "--agent", str(ckpt))
    assert_one_line_error(code, err, "vocabulary abc123")


def test_play_without_the_agents_package_says_what_is_missing(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "babyaipp.agents", None)  # as if torch were not installed
    ckpt = tmp_path / "a.pt"
    ckpt.write_bytes(b"x")
    code, _, err = run_cli(capsys, "play", LOCAL, "--agent", str(ckpt))
    assert_one_line_error(code, err, "babyaipp.agents")


def test_play_cli_watches_an_agent_headless(capsys, tmp_path, monkeypatch, agents):
    seen = {}

    def load_policy(path, device="cpu"):
        seen["args"] = (str(path), device)
        return FakePolicy(actions=(Actions.left, Actions.forward))

    monkeypatch.setattr(agents, "load_policy", load_policy, raising=False)
    ckpt = tmp_path / "agent.pt"
    ckpt.write_bytes(b"x")
    gif, shot = tmp_path / "out.gif", tmp_path / "out.png"
    code, out, err = run_cli(
        capsys, "play", "BabyAIPP-GoToRedBall-Train-v0", "--agent", str(ckpt), "--seed", "3",
        "--episodes", "1", "--speed", "60", "--tile-size", "16",
        "--record", str(gif), "--screenshot", str(shot),
    )  # fmt: skip
    assert code == 0, err
    assert seen["args"] == (str(ckpt), "cpu")
    assert f"wrote {gif}" in out and f"wrote {shot}" in out
    assert_not_blank(shot)
    with Image.open(gif) as image:
        assert image.n_frames > 2


def test_play_refuses_a_headless_window_nothing_could_close(capsys):
    code, _, err = run_cli(capsys, "play", LOCAL)  # SDL_VIDEODRIVER=dummy (conftest)
    assert_one_line_error(code, err, "no display", "'dummy'", "--episodes")


def test_play_rejects_bad_options(capsys, tmp_path):
    code, _, err = run_cli(capsys, "play", LOCAL, "--episodes", "2")
    assert_one_line_error(code, err, "--episodes", "--agent")
    code, _, err = run_cli(capsys, "play", LOCAL, "--record", str(tmp_path / "x.mp4"))
    assert_one_line_error(code, err, "x.mp4", ".gif")
    code, _, err = run_cli(capsys, "play", LOCAL, "--screenshot", str(tmp_path / "no" / "x.png"))
    assert_one_line_error(code, err, "does not exist")
    code, _, err = run_cli(capsys, "play", LOCAL, "--tile-size", "1000")
    assert_one_line_error(code, err, "--tile-size 1000")


def test_gallery_writes_one_gif_per_family(capsys, tmp_path):
    code, out, err = run_cli(
        capsys, "gallery", "--out", str(tmp_path), "--family", "GoToLocal",
        "--min-steps", "3", "--max-steps", "12",
    )  # fmt: skip
    assert code == 0, err
    path = tmp_path / "GoToLocal.gif"
    assert f"wrote {path}" in out and "BabyAIPP-GoToLocal-Train-v0 seed" in out
    with Image.open(path) as image:
        assert 2 <= image.n_frames <= 13
        assert image.size[0] > 300


def test_gallery_unknown_family_is_one_line(capsys, tmp_path):
    code, _, err = run_cli(capsys, "gallery", "--out", str(tmp_path), "--family", "Nope")
    assert_one_line_error(code, err, "unknown family 'Nope'")


@pytest.mark.parametrize("family", sorted(babyaipp.FAMILIES))
def test_gif_tiles_are_readable_on_every_family(family):
    """Recorded GIFs and the gallery keep tiles >= GIF_MIN_TILE px, 31x31 levels included."""
    from babyaipp.viewer.app import GIF_MIN_TILE, compact_layout

    env = gym.make(babyaipp.get_family(family).env_id("Train"))
    try:
        env.reset(seed=0)
        layout = compact_layout(env.unwrapped)
    finally:
        env.close()
    cells = max(env.unwrapped.width, env.unwrapped.height)
    assert layout.tile >= GIF_MIN_TILE
    assert layout.tile * cells <= max(256, GIF_MIN_TILE * cells)  # small levels stay 256 px
