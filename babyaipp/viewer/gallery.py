"""The docs gallery: one GIF per family, drawn by the viewer's painter.

Each GIF is one episode of the family's Train split, played by a policy (by default the
dynamics-blind BabyAI bot, :class:`~babyaipp.viewer.bot.BlindBotPolicy`), with the dynamics
revealed (each tile's property letter, the true map in the panel). The episode shown is the
first seed from ``first_seed`` on whose episode ends (in success, a trap, a failed mission or
a timeout) after ``min_steps`` to ``max_steps`` steps, so that the GIF is short but shows some
play; if none of ``tries`` seeds does, ``first_seed`` is shown (cut off after ``max_steps``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from babyaipp.viewer.session import Session

FRAME_MS = 220
FIRST_FRAME_MS = 1200
LAST_FRAME_MS = 2000


@dataclass(frozen=True)
class GalleryEntry:
    """One GIF written: where, which episode, and how it ended."""

    path: Path
    env_id: str
    seed: int
    steps: int
    outcome: str  # the end message, or "cut off after N steps"


def play_episode(session: Session, max_steps: int) -> None:
    """Let the session's policy play from the current state until the end or ``max_steps``."""
    while session.ended is None and session.steps < max_steps:
        session.agent_step()


def pick_seed(
    env_id: str, policy: Any, min_steps: int, max_steps: int, first_seed: int, tries: int
) -> int:
    """The first seed whose episode ends after min_steps to max_steps (else ``first_seed``)."""
    session = Session(env_id, seed=first_seed, policy=policy)
    try:
        for seed in range(first_seed, first_seed + tries):
            session.reset(seed)
            play_episode(session, max_steps)
            if session.ended is not None and session.steps >= min_steps:
                return seed
        return first_seed
    finally:
        session.close()


def episode_frames(
    env_id: str, seed: int, policy: Any, max_steps: int, painter=None
) -> tuple[list[np.ndarray], list[int], Session]:
    """The frames (and their durations in ms) of one episode, dynamics revealed, and the
    session at its end."""
    from babyaipp.viewer.app import compact_layout
    from babyaipp.viewer.draw import Painter

    session = Session(env_id, seed=seed, policy=policy, paused=True)
    try:
        session.show_dynamics = True
        painter = painter or Painter(compact_layout(session.level), hints=False)
        frames = [painter.frame(session)]
        while session.ended is None and session.steps < max_steps:
            session.agent_step()
            frames.append(painter.frame(session))
    finally:
        session.close()
    durations = [FIRST_FRAME_MS] + [FRAME_MS] * (len(frames) - 2) + [LAST_FRAME_MS]
    return frames, durations[: len(frames)], session


def make_gallery(
    out_dir: str | Path,
    *,
    families: Iterable[str] | None = None,
    split: str = "Train",
    policy: Any = None,
    min_steps: int = 8,
    max_steps: int = 40,
    first_seed: int = 0,
    tries: int = 20,
) -> list[GalleryEntry]:
    """Write ``<out_dir>/<Family>.gif`` for each family; returns what was written."""
    import babyaipp
    from babyaipp.viewer.bot import BlindBotPolicy
    from babyaipp.viewer.gif import write_gif

    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise FileNotFoundError(f"gallery folder {str(out_dir)!r} does not exist")
    if not 1 <= min_steps <= max_steps:
        raise ValueError(f"need 1 <= min_steps <= max_steps, got {min_steps} and {max_steps}")
    policy = policy if policy is not None else BlindBotPolicy()
    names = list(babyaipp.FAMILIES) if families is None else list(families)
    entries = []
    for name in names:
        env_id = babyaipp.get_family(name).env_id(split)
        seed = pick_seed(env_id, policy, min_steps, max_steps, first_seed, tries)
        frames, durations, end = episode_frames(env_id, seed, policy, max_steps)
        path = write_gif(out_dir / f"{name}.gif", frames, durations)
        outcome = end.ended.message() if end.ended else f"cut off after {end.steps} steps"
        entries.append(GalleryEntry(path, env_id, seed, end.steps, outcome))
    return entries
