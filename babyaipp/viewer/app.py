"""The viewer's window and event loop (the only part that needs a display).

Events become key names (:func:`key_name`), key names become commands
(:func:`babyaipp.viewer.keys.command_for_key`), commands change the session
(:meth:`Session.apply`); the loop redraws whenever the session's ``version`` changes.
"""

from __future__ import annotations

import time
from pathlib import Path

import pygame

from babyaipp.io import atomic_path
from babyaipp.viewer.draw import Layout, Painter
from babyaipp.viewer.gif import Recorder, output_path
from babyaipp.viewer.keys import command_for_key
from babyaipp.viewer.session import Session

FPS = 60


def key_name(event: pygame.event.Event) -> str:
    """The name :func:`command_for_key` knows a KEYDOWN event by.

    Printable keys go by the character typed (so shift+= is ``"+"`` on any layout), letters in
    lower case; every other key by ``pygame.key.name`` (``"left"``, ``"page up"``, ``"return"``).
    """
    char = getattr(event, "unicode", "")
    if char and char.isprintable() and char != " ":
        return char.lower()
    return pygame.key.name(event.key)


GIF_MIN_TILE = 20
"""Smallest tile of a recorded GIF, in pixels: below it a 31x31 level's letters and objects are
hard to make out, so large levels get a larger GIF instead of smaller tiles."""


def compact_layout(level) -> Layout:
    """The smaller layout of recorded GIFs and the gallery: the grid fits in 256 pixels, or is
    larger where that would make tiles smaller than :data:`GIF_MIN_TILE`."""
    cells = max(level.width, level.height)
    return Layout.for_level(
        level,
        max_grid_px=max(256, GIF_MIN_TILE * cells),
        panel_width=250,
        font_size=14,
        status_lines=2,
        min_height=256,
    )


def run_viewer(
    session: Session,
    *,
    layout: Layout | None = None,
    record: str | Path | None = None,
    screenshot: str | Path | None = None,
    fps: int = FPS,
) -> Recorder | None:
    """Open the window and run until escape, the window's close button, or ``session.quit``.

    ``record``: when the loop ends, write a GIF with a frame for every change of the session
    (in :func:`compact_layout`). ``screenshot``: save the window as it is at exit as a PNG.
    Returns the recorder, if any.
    """
    recorder = Recorder(record) if record is not None else None
    if screenshot is not None:
        screenshot = output_path(screenshot, ".png", "screenshot")
    layout = layout or Layout.for_level(session.level)
    pygame.display.init()
    try:
        screen = pygame.display.set_mode(layout.window_size(session.level))
        pygame.display.set_caption(f"babyaipp play {session.env_id}")
        painter = Painter(layout)
        recording_painter = (
            Painter(compact_layout(session.level), hints=False) if recorder else None
        )
        clock = pygame.time.Clock()
        drawn = recorded = None
        if recorder is not None:
            recorder.add(recording_painter.frame(session), time.monotonic())
            recorded = session.version
        last = time.monotonic()
        while not session.quit:
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    session.quit = True
                elif event.type == pygame.KEYDOWN:
                    session.apply(command_for_key(key_name(event), session.agent_mode))
                if session.quit:
                    break
                if recorder is not None and session.version != recorded:
                    # Every change gets a frame, even several keys within one screen frame.
                    recorder.add(recording_painter.frame(session), time.monotonic())
                    recorded = session.version
            now = time.monotonic()
            session.update(now - last)
            last = now
            if session.version != drawn and not session.quit:
                painter.draw(screen, session)
                pygame.display.flip()
                drawn = session.version
            if recorder is not None and session.version != recorded and not session.quit:
                recorder.add(recording_painter.frame(session), now)
                recorded = session.version
            clock.tick(fps)
        if screenshot is not None:
            painter.draw(screen, session)  # the state at exit, even if never shown
            save_png(screen, screenshot)
    finally:
        pygame.display.quit()
        if recorder is not None and recorder.frames:
            recorder.save()
    return recorder


def save_png(surface: pygame.Surface, path: str | Path) -> Path:
    """Save ``surface`` as a PNG at ``path``, atomically."""
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:  # pygame picks the format from the suffix
        pygame.image.save(surface, str(tmp))
    return path
