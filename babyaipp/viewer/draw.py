"""Drawing a :class:`~babyaipp.viewer.session.Session` onto a pygame surface.

The window: on the left the grid, rendered by minigrid (``get_frame``, the agent's view
highlighted), with optional overlays (``d``: each tile's property letter; ``a``: for attention
models, which sentence each visible cell attends to). On the right a text panel: the
instruction, every description sentence (the one about the tile under the agent highlighted),
the true map when the dynamics are revealed, and in agent mode the agent's action
probabilities. Along the bottom a status line. The end of an episode is a banner over the
grid; ``h`` lays the key help over everything.

:meth:`Painter.frame` draws off-screen and returns an RGB array, which is what the recorder,
the gallery and the headless tests use; no display is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame
from minigrid.core.constants import COLORS, DIR_TO_VEC

from babyaipp.dynamics import PROPERTIES
from babyaipp.viewer.keys import ACTION_NAMES, help_lines
from babyaipp.viewer.session import Session

BACKGROUND = (24, 24, 28)
PANEL_TEXT = (225, 225, 225)
DIM_TEXT = (150, 150, 160)
HEADER = (140, 175, 255)
HIGHLIGHT_BG = (95, 82, 20)
HIGHLIGHT_TEXT = (255, 232, 120)
STATUS_BG = (40, 40, 48)
BAR = (80, 120, 200)
BAR_BEST = (110, 200, 120)
HELD_OUT_MARK = (255, 200, 40)
END_COLORS = {
    "success": (110, 220, 120),
    "trap": (255, 90, 80),
    "timeout": (255, 170, 60),
    "mission": (255, 170, 60),
}
# One colour per description row (sentence index) for the attention overlay.
ATTENTION_PALETTE = (
    (255, 140, 0),
    (0, 210, 210),
    (235, 70, 210),
    (170, 235, 40),
    (190, 120, 70),
    (245, 245, 245),
)
VIEW_SIZE = 7
# minigrid draws each new kind of tile pixel by pixel, in time that grows with the square of the
# tile size (about 75 ms a tile at 64 px); larger tiles are drawn at 32 px and scaled up.
MAX_RENDER_TILE = 32


@dataclass(frozen=True)
class Layout:
    """Sizes in pixels. ``tile`` is the size of one grid cell."""

    tile: int
    panel_width: int = 440
    font_size: int = 20
    margin: int = 12
    status_lines: int = 1
    min_height: int = 520

    @classmethod
    def for_level(cls, level, max_grid_px: int = 744, **kwargs) -> Layout:
        """The layout whose grid fits in ``max_grid_px`` (tiles between 12 and 64 pixels)."""
        tile = max(12, min(64, max_grid_px // max(level.width, level.height)))
        return cls(tile=tile, **kwargs)

    def grid_size(self, level) -> tuple[int, int]:
        return level.width * self.tile, level.height * self.tile

    @property
    def line_height(self) -> int:
        return self.font_size + 4

    @property
    def status_height(self) -> int:
        return self.status_lines * self.line_height + 8

    def window_size(self, level) -> tuple[int, int]:
        width, height = self.grid_size(level)
        return width + self.panel_width, max(height, self.min_height) + self.status_height


class Painter:
    """Draws sessions with one layout; holds the fonts and cached glyphs.

    ``hints=False`` leaves out what only matters in a live window (the key hints), for GIFs.
    """

    def __init__(self, layout: Layout, hints: bool = True):
        pygame.font.init()
        self.layout = layout
        self.hints = hints
        self.font = pygame.font.Font(None, layout.font_size)
        self.bold = pygame.font.Font(None, layout.font_size)
        self.bold.bold = True
        self.big = pygame.font.Font(None, int(layout.font_size * 1.4))
        self.big.bold = True
        self.tile_font = pygame.font.Font(None, max(10, int(layout.tile * 0.8)))
        self.tile_font.bold = True
        self.small = pygame.font.Font(None, max(10, int(layout.tile * 0.5)))
        self._glyphs: dict[tuple, pygame.Surface] = {}

    # -- entry points ---------------------------------------------------------------------------

    def frame(self, session: Session) -> np.ndarray:
        """The picture of ``session`` as an (H, W, 3) uint8 array, drawn off-screen."""
        surface = pygame.Surface(self.layout.window_size(session.level))
        self.draw(surface, session)
        return surface_to_array(surface)

    def draw(self, surface: pygame.Surface, session: Session) -> None:
        surface.fill(BACKGROUND)
        self.draw_grid(surface, session)
        grid_w, _ = self.layout.grid_size(session.level)
        panel = pygame.Rect(grid_w, 0, self.layout.panel_width, surface.get_height())
        panel.height -= self.layout.status_height
        self.draw_panel(surface, panel, session)
        self.draw_status(surface, session)
        if session.ended is not None:
            self.draw_end_banner(surface, session)
        if session.show_help:
            self.draw_help(surface, session)

    # -- the grid -------------------------------------------------------------------------------

    def draw_grid(self, surface: pygame.Surface, session: Session) -> None:
        level = session.level
        image = level.get_frame(highlight=True, tile_size=min(self.layout.tile, MAX_RENDER_TILE))
        grid = pygame.surfarray.make_surface(image.transpose(1, 0, 2))
        if self.layout.tile > MAX_RENDER_TILE:
            grid = pygame.transform.scale(grid, self.layout.grid_size(level))
        surface.blit(grid, (0, 0))
        if session.show_dynamics:
            self.draw_dynamics(surface, session)
        if session.show_attention and session.attention is not None:
            self.draw_attention(surface, session)

    def draw_dynamics(self, surface: pygame.Surface, session: Session) -> None:
        """Each floor tile marked with its property's letter; held-out pairs in gold.

        The tile under the agent keeps the agent visible instead (the status line and the
        highlighted sentence say what it is).
        """
        level = session.level
        held_out = level.family.held_out_pairs
        tile = self.layout.tile
        agent = tuple(int(v) for v in level.agent_pos)
        for x, y, color in level.tiles:
            prop = level.floor_map.get(color)
            if prop is None or (x, y) == agent:
                continue
            ink = HELD_OUT_MARK if (color, prop) in held_out else (255, 255, 255)
            glyph = self._outlined(self.tile_font, PROPERTIES[prop].symbol, ink)
            center = (x * tile + tile // 2, y * tile + tile // 2)
            surface.blit(glyph, glyph.get_rect(center=center))

    def draw_attention(self, surface: pygame.Surface, session: Session) -> None:
        """Outline each visible cell in the colour of the sentence it attends to most."""
        tile = self.layout.tile
        for (x, y), index in attention_cells(session):
            color = ATTENTION_PALETTE[index % len(ATTENTION_PALETTE)]
            rect = pygame.Rect(x * tile, y * tile, tile, tile).inflate(-2, -2)
            pygame.draw.rect(surface, color, rect, width=max(2, tile // 10))
            label = self._outlined(self.small, str(index + 1), color)
            surface.blit(label, (rect.x + 2, rect.y + 1))

    # -- the text panel -------------------------------------------------------------------------

    def draw_panel(self, surface: pygame.Surface, panel: pygame.Rect, session: Session) -> None:
        level = session.level
        margin = self.layout.margin
        width = panel.width - 2 * margin
        x = panel.x + margin
        y = panel.y + margin
        line = self.layout.line_height

        y = self._text(surface, "Instruction", x, y, self.bold, HEADER)
        for text in wrap(level.mission, self.font, width):
            y = self._text(surface, text, x, y, self.font, PANEL_TEXT)
        y += line // 2

        y = self._text(surface, "Description", x, y, self.bold, HEADER)
        if not level.sentences:
            y = self._text(surface, "(no description)", x, y, self.font, DIM_TEXT)
        highlighted = session.highlighted_sentence()
        attention_on = session.show_attention and session.attention is not None
        for i, sentence in enumerate(level.sentences):
            y = self._sentence(surface, i, sentence, x, y, width, i == highlighted, attention_on)
        color = session.underfoot_color()
        if color is not None and highlighted is None:
            note = f"(on a {color} tile: no sentence describes it)"
            for text in wrap(note, self.font, width):
                y = self._text(surface, text, x, y, self.font, DIM_TEXT)
        y += line // 2

        if session.show_dynamics:
            y = self._text(surface, "True map (d)", x, y, self.bold, HEADER)
            held_out = level.family.held_out_pairs
            for color, prop in sorted(level.floor_map.items()):
                mark = "  held-out pair" if (color, prop) in held_out else ""
                ink = HELD_OUT_MARK if mark else PANEL_TEXT
                text = f"{color} = {prop} ({PROPERTIES[prop].symbol}){mark}"
                y = self._text(surface, text, x, y, self.font, ink)
            y += line // 2

        if session.agent_mode:
            y = self.draw_agent(surface, session, x, y, width)

        if self.hints:
            hint = "h: keys   esc: quit"
            self._text(surface, hint, x, panel.bottom - line - margin // 2, self.font, DIM_TEXT)

    def _sentence(self, surface, index, sentence, x, y, width, highlighted, attention_on) -> int:
        """One description sentence with its number (and colour swatch); returns the next y."""
        line = self.layout.line_height
        swatch = self.layout.font_size // 2 + 2
        number_w = self.font.size("6. ")[0] + swatch + 6
        lines = wrap(sentence, self.font, width - number_w)
        if highlighted:
            box = pygame.Rect(x - 4, y - 1, width + 8, len(lines) * line + 2)
            pygame.draw.rect(surface, HIGHLIGHT_BG, box, border_radius=4)
        number_ink = ATTENTION_PALETTE[index % len(ATTENTION_PALETTE)] if attention_on else DIM_TEXT
        self._text(surface, f"{index + 1}.", x, y, self.bold, number_ink)
        color = sentence.split(" ", 1)[0]
        if color in COLORS:  # a swatch of the floor colour the sentence is about
            square = pygame.Rect(
                x + number_w - swatch - 6, y + (line - swatch) // 2 - 1, swatch, swatch
            )
            pygame.draw.rect(surface, floor_rgb(color), square)
            pygame.draw.rect(surface, DIM_TEXT, square, width=1)
        font = self.bold if highlighted else self.font
        ink = HIGHLIGHT_TEXT if highlighted else PANEL_TEXT
        for text in lines:
            y = self._text(surface, text, x + number_w, y, font, ink)
        return y

    def draw_agent(self, surface, session: Session, x: int, y: int, width: int) -> int:
        policy = session.policy
        name = getattr(policy, "name", type(policy).__name__)
        mode = "greedy" if session.greedy else "sampling"
        pace = "paused" if session.paused else f"{session.speed:g} steps/s"
        if not self.hints:  # a recording: the pace of the live window means nothing
            pace = ""
        title = f"Agent: {name} ({mode}{', ' + pace if pace else ''})"
        for text in wrap(title, self.bold, width):
            y = self._text(surface, text, x, y, self.bold, HEADER)
        last = ACTION_NAMES[session.last_action] if session.last_action is not None else "-"
        y = self._text(surface, f"last action: {last}", x, y, self.font, PANEL_TEXT)
        probs = session.action_probs
        if session.ended is not None:
            return y  # no next action
        if probs is None:
            note = "(no explain(): no action probabilities)"
            for text in wrap(note, self.font, width):
                y = self._text(surface, text, x, y, self.font, DIM_TEXT)
            return y
        y = self._text(surface, "next action:", x, y, self.font, DIM_TEXT)
        label_w = self.font.size("forward  ")[0]
        value_w = self.font.size(" 100%")[0]
        bar_w = max(10, width - label_w - value_w)
        best = int(np.argmax(probs))
        line = self.layout.line_height
        for i, (name, p) in enumerate(zip(ACTION_NAMES, probs, strict=True)):
            self._text(surface, name, x, y, self.font, PANEL_TEXT)
            bar = pygame.Rect(x + label_w, y + 2, max(1, round(float(p) * bar_w)), line - 6)
            pygame.draw.rect(surface, BAR_BEST if i == best else BAR, bar)
            self._text(surface, f"{100 * p:3.0f}%", x + label_w + bar_w + 4, y, self.font, DIM_TEXT)
            y += line
        return y

    # -- status line, end banner, help ------------------------------------------------------

    def draw_status(self, surface: pygame.Surface, session: Session) -> None:
        height = self.layout.status_height
        rect = pygame.Rect(0, surface.get_height() - height, surface.get_width(), height)
        pygame.draw.rect(surface, STATUS_BG, rect)
        lines = pack(status_items(session), self.font, rect.width - 2 * self.layout.margin)
        y = rect.y + 4
        for text in lines[: self.layout.status_lines]:
            y = self._text(surface, text, self.layout.margin, y, self.font, PANEL_TEXT)

    def draw_end_banner(self, surface: pygame.Surface, session: Session) -> None:
        end = session.ended
        grid_w, grid_h = self.layout.grid_size(session.level)
        if not self.hints:
            hint = ""
        elif session.agent_mode:
            hint = "paused: press . for the next seed" if session.paused else "next seed soon"
        else:
            hint = "backspace: replay this seed   n: next seed"
        title_lines = wrap(end.message(), self.big, grid_w - 16)
        hint_lines = wrap(hint, self.font, grid_w - 16)
        big_h = self.big.get_linesize()
        height = len(title_lines) * big_h + len(hint_lines) * self.layout.line_height + 16
        banner = pygame.Surface((grid_w, height), pygame.SRCALPHA)
        banner.fill((0, 0, 0, 200))
        surface.blit(banner, (0, (grid_h - height) // 2))
        y = (grid_h - height) // 2 + 8
        for text in title_lines:
            glyph = self.big.render(text, True, END_COLORS[end.reason])
            surface.blit(glyph, glyph.get_rect(midtop=(grid_w // 2, y)))
            y += big_h
        for text in hint_lines:
            glyph = self.font.render(text, True, PANEL_TEXT)
            surface.blit(glyph, glyph.get_rect(midtop=(grid_w // 2, y)))
            y += self.layout.line_height

    def draw_help(self, surface: pygame.Surface, session: Session) -> None:
        shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
        shade.fill((0, 0, 0, 215))
        surface.blit(shade, (0, 0))
        rows = help_lines(session.agent_mode)
        key_w = max(self.bold.size(keys)[0] for keys, _ in rows) + 24
        x = y = 3 * self.layout.margin
        title = "Keys (agent mode)" if session.agent_mode else "Keys"
        y = self._text(surface, title, x, y, self.big, HEADER) + self.layout.line_height // 2
        for keys, meaning in rows:
            self._text(surface, keys, x, y, self.bold, HIGHLIGHT_TEXT)
            y = self._text(surface, meaning, x + key_w, y, self.font, PANEL_TEXT)

    # -- helpers ----------------------------------------------------------------------------------

    def _text(self, surface, text: str, x: int, y: int, font, color) -> int:
        """Draw one line of text at (x, y); returns the y of the next line."""
        surface.blit(font.render(text, True, color), (x, y))
        return y + max(self.layout.line_height, font.get_linesize())

    def _outlined(self, font, text: str, color) -> pygame.Surface:
        """``text`` in ``color`` with a black outline, so it reads on any tile (cached)."""
        key = (id(font), text, color)
        if key not in self._glyphs:
            ink = font.render(text, True, color)
            shadow = font.render(text, True, (0, 0, 0))
            out = pygame.Surface((ink.get_width() + 2, ink.get_height() + 2), pygame.SRCALPHA)
            for dx in (0, 1, 2):
                for dy in (0, 1, 2):
                    out.blit(shadow, (dx, dy))
            out.blit(ink, (1, 1))
            self._glyphs[key] = out
        return self._glyphs[key]


def status_items(session: Session) -> list[str]:
    """The pieces of the status line."""
    level = session.level
    reward = "-" if session.last_reward is None else f"{session.last_reward:.2f}"
    underfoot = session.info.get("tile") or "-"
    return [
        session.env_id,
        f"split {level.split}",
        f"seed {session.seed}",
        f"step {level.step_count}/{level.max_steps}",
        f"reward {reward}",
        f"underfoot: {underfoot}",
        f"held-out pair: {'yes' if session.info.get('held_out') else 'no'}",
    ]


def attention_cells(session: Session) -> list[tuple[tuple[int, int], int]]:
    """((x, y), sentence index) for each visible cell of the agent's view.

    ``session.attention[i, j]`` is indexed like the observation image ``image[i, j]``: ``i``
    from the left of the view, ``j`` from its far edge (``j = 6`` is the agent's row).
    """
    level = session.level
    fx, fy = DIR_TO_VEC[level.agent_dir]
    rx, ry = -fy, fx
    ax, ay = level.agent_pos
    left = ax + fx * (VIEW_SIZE - 1) - rx * (VIEW_SIZE // 2)
    top = ay + fy * (VIEW_SIZE - 1) - ry * (VIEW_SIZE // 2)
    seen = session.obs["image"][:, :, 0] != 0  # object index 0 means "unseen"
    cells = []
    for i in range(VIEW_SIZE):
        for j in range(VIEW_SIZE):
            x, y = left - fx * j + rx * i, top - fy * j + ry * i
            if seen[i, j] and 0 <= x < level.width and 0 <= y < level.height:
                cells.append(((int(x), int(y)), int(session.attention[i, j])))
    return cells


def wrap(text: str, font, width: int) -> list[str]:
    """``text`` broken into lines no wider than ``width`` pixels (at word boundaries)."""
    return pack(text.split(), font, width, sep=" ")


def pack(items: list[str], font, width: int, sep: str = "   ") -> list[str]:
    """Join ``items`` with ``sep`` into as few lines of at most ``width`` pixels as possible."""
    lines: list[str] = []
    current = ""
    for item in items:
        candidate = f"{current}{sep}{item}" if current else item
        if current and font.size(candidate)[0] > width:
            lines.append(current)
            current = item
        else:
            current = candidate
    return lines + [current] if current else lines


def surface_to_array(surface: pygame.Surface) -> np.ndarray:
    """An (H, W, 3) uint8 copy of ``surface``."""
    return pygame.surfarray.array3d(surface).transpose(1, 0, 2).copy()


def floor_rgb(color: str) -> tuple[int, int, int]:
    """The RGB minigrid draws a floor tile of ``color`` in (half the colour's intensity)."""
    return tuple(int(c) // 2 for c in COLORS[color])
