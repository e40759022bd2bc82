"""The agent's 7×7 egocentric view, exactly as minigrid's ``gen_obs_grid`` + ``Grid.encode``.

minigrid slices the grid around the agent, rotates it so the agent looks "up" from the middle
of the bottom row, then runs ``Grid.process_vis``: starting from the agent's cell, rows are
swept from the agent's row upwards, each row left-to-right then right-to-left, and a visible
cell that does not block the view (not a wall, not a closed door) makes its neighbours visible
(right/left in the row, and the one or two cells above). Cells outside the grid read as walls;
invisible cells encode as ``(0, 0, 0)``; the agent's own cell shows what it carries, or empty.

Here the slice-and-rotate is one gather with precomputed offsets per heading
(:func:`view_offsets`) and ``process_vis`` is seven lookups, one per row, in a table
(:func:`visibility_table`) indexed by the row's incoming visibility and its transparency
(7 + 7 bits). Both tables are built by running minigrid's rules literally, so the sweep's
order-dependent corner cases (a cell reached only by the right-to-left pass does not
propagate upward from the left edge, etc.) are reproduced bit for bit.
"""

from __future__ import annotations

import functools

import numpy as np

from babyaipp.dynamics import DIR_TO_VEC
from babyaipp.engine.codes import ENCODING, OPAQUE

VIEW = 7
AGENT_I, AGENT_J = VIEW // 2, VIEW - 1
PAD = VIEW - 1
"""Wall cells added around every grid so that a view never leaves the array."""


def view_offsets(padded_width: int) -> np.ndarray:
    """(4, 7, 7) int64: flat offset, from the agent's cell, of view cell [i, j] per heading.

    View cell (i, j) lies ``6 - j`` cells ahead of the agent and ``i - 3`` cells to its right.
    """
    out = np.zeros((4, VIEW, VIEW), dtype=np.int64)
    for d in range(4):
        fx, fy = DIR_TO_VEC[d]
        rx, ry = DIR_TO_VEC[(d + 1) % 4]
        for i in range(VIEW):
            for j in range(VIEW):
                ahead, right = AGENT_J - j, i - AGENT_I
                x, y = ahead * fx + right * rx, ahead * fy + right * ry
                out[d, i, j] = y * padded_width + x
    return out


@functools.lru_cache(maxsize=1)
def visibility_table() -> np.ndarray:
    """uint16[2**14]: one row of ``process_vis``.

    Index: ``incoming | transparent << 7``, where bit i of ``incoming`` says that cell i of the
    row was already marked visible by the row below, and bit i of ``transparent`` that cell i
    lets the view through. Value: ``visible | up << 7``: the row's final visibility, and the
    cells of the row above that it marks visible.
    """
    keys = np.arange(1 << 14)
    vis = [(keys >> i) & 1 == 1 for i in range(VIEW)]
    see = [(keys >> (VIEW + i)) & 1 == 1 for i in range(VIEW)]
    up = [np.zeros(len(keys), dtype=bool) for _ in range(VIEW)]
    for i in range(VIEW - 1):  # left to right, as process_vis
        go = vis[i] & see[i]
        vis[i + 1] = vis[i + 1] | go
        up[i + 1] |= go
        up[i] |= go
    for i in range(VIEW - 1, 0, -1):  # right to left
        go = vis[i] & see[i]
        vis[i - 1] = vis[i - 1] | go
        up[i - 1] |= go
        up[i] |= go
    out = np.zeros(len(keys), dtype=np.uint16)
    for i in range(VIEW):
        out |= vis[i].astype(np.uint16) << i
        out |= up[i].astype(np.uint16) << (VIEW + i)
    out.setflags(write=False)
    return out


def visibility(opaque: np.ndarray) -> np.ndarray:
    """(N, 7, 7) bool visibility from (N, 7, 7) bool opacity, both indexed [n, i, j]."""
    table = visibility_table()
    # transparent bits of each row j (over i), as (N, 7) uint16
    see = np.packbits(~opaque, axis=1, bitorder="little")[:, 0, :].astype(np.uint16) << VIEW
    rows = np.empty(see.shape, dtype=np.uint8)
    incoming = np.full(len(opaque), 1 << AGENT_I, dtype=np.uint16)
    for j in range(VIEW - 1, -1, -1):
        out = table[incoming | see[:, j]]
        rows[:, j] = out & 0x7F
        incoming = out >> VIEW
    return np.unpackbits(rows[:, None, :], axis=1, count=VIEW, bitorder="little").view(bool)


def observe(
    grid: np.ndarray,
    agent_cell: np.ndarray,
    direction: np.ndarray,
    carry: np.ndarray,
    offsets: np.ndarray,
) -> np.ndarray:
    """(N, 7, 7, 3) uint8 images, minigrid's encoding.

    ``grid`` is the flat uint8 code array of all envs' padded grids; ``agent_cell`` (N,) the
    agent's flat index into it; ``direction`` (N,) the heading; ``carry`` (N,) the code of the
    carried object (``EMPTY`` when none); ``offsets`` from :func:`view_offsets`.
    """
    cells = grid[agent_cell[:, None, None] + offsets[direction]]
    cells *= visibility(OPAQUE[cells])
    cells[:, AGENT_I, AGENT_J] = carry
    return ENCODING[cells]
