"""How fast the viewer draws: frames per second, headless, against minigrid's own render.

    SDL_VIDEODRIVER=dummy python -m babyaipp.viewer.benchmark [ID] [--frames N]

Plays ``ID`` (default the largest level, ``BabyAIPP-GoTo-Train-v0``: a 31×31 grid) with the
dynamics-blind bot and, for each step, times (a) minigrid's ``get_frame`` at the viewer's tile
size (the reference: what ``render_mode="rgb_array"`` costs), (b) a full viewer frame drawn on
the display (grid, overlays, panel, status, flip) and (c) the same with the dynamics revealed
and an action-probability panel. Prints frames per second and the ratio to the reference,
measured in the same run. Each state's new tiles are drawn once before the timing, so this is
the steady state (minigrid draws each new kind of tile once, pixel by pixel, then caches it).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

LARGEST = "BabyAIPP-GoTo-Train-v0"


class _ExplainingBot:
    """The bot plus a fixed explain(), so the agent panel (bars) is drawn too."""

    def __init__(self):
        from babyaipp.viewer.bot import BlindBotPolicy

        self._bot = BlindBotPolicy()
        self.name, self.needs_env = "bot+bars", True

    def initial_state(self, n):
        return self._bot.initial_state(n)

    def act(self, obs, state, episode_start, **kwargs):
        return self._bot.act(obs, state, episode_start, **kwargs)

    def explain(self, obs, state):
        return {"action_probs": np.full((1, 7), 1 / 7), "attention": None}


def measure(env_id: str, frames: int, seed: int = 0) -> dict[str, float]:
    """Seconds per frame of the reference and of the two viewer configurations."""
    import pygame

    from babyaipp.viewer.draw import MAX_RENDER_TILE, Layout, Painter
    from babyaipp.viewer.session import Session

    session = Session(env_id, seed=seed, policy=_ExplainingBot(), paused=True)
    layout = Layout.for_level(session.level)
    pygame.display.init()
    screen = pygame.display.set_mode(layout.window_size(session.level))
    painter = Painter(layout)
    tile = min(layout.tile, MAX_RENDER_TILE)
    for toggle in (False, True):  # warm minigrid's tile cache and the glyph cache
        session.show_dynamics = toggle
        painter.draw(screen, session)
    times = {"minigrid get_frame": 0.0, "viewer frame": 0.0, "viewer frame, d + bars": 0.0}
    for _ in range(frames):
        if session.ended is not None:
            session.next_seed()
        session.agent_step()
        session.level.get_frame(highlight=True, tile_size=tile)  # new tiles: drawn once, untimed
        start = time.perf_counter()
        session.level.get_frame(highlight=True, tile_size=tile)
        middle = time.perf_counter()
        session.show_dynamics, saved = False, session.action_probs
        session.action_probs = None
        painter.draw(screen, session)
        pygame.display.flip()
        end = time.perf_counter()
        session.show_dynamics, session.action_probs = True, saved
        painter.draw(screen, session)
        pygame.display.flip()
        last = time.perf_counter()
        times["minigrid get_frame"] += middle - start
        times["viewer frame"] += end - middle
        times["viewer frame, d + bars"] += last - end
    session.close()
    pygame.display.quit()
    return {name: total / frames for name, total in times.items()}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("env_id", nargs="?", default=LARGEST)
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args(argv)
    results = measure(args.env_id, args.frames)
    reference = results["minigrid get_frame"]
    print(f"{args.env_id}, {args.frames} frames, headless (SDL_VIDEODRIVER=dummy)")
    for name, seconds in results.items():
        print(
            f"  {name:24s} {1 / seconds:7.1f} frames/s   {seconds / reference:5.2f}x the reference"
        )


if __name__ == "__main__":
    main()
