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
import sys

import numpy as np

from babyaipp.dynamics import DIR_TO_VEC
from babyaipp.engine.codes import ENCODING

VIEW = 7
AGENT_I, AGENT_J = VIEW // 2, VIEW - 1
PAD = VIEW - 1
"""Wall cells added around every grid so that a view never leaves the array."""


def view_offsets(padded_width: int, dtype=np.int64) -> np.ndarray:
    """(4, 7, 8) ``dtype``: flat offset, from the agent's cell, of view cell (i, j), as [d, j, i].

    View cell (i, j) lies ``6 - j`` cells ahead of the agent and ``i - 3`` cells to its right.
    Rows are stored j-major and padded to 8 cells (the 8th reads the agent's own cell and is
    ignored), so that one row's 8 bytes can be handled as one uint64. :func:`observe` builds
    its gather index in ``dtype``: int32, where the flat indices fit, is several times faster
    to gather and add than int64.
    """
    out = np.zeros((4, VIEW, 8), dtype=dtype)
    for d in range(4):
        fx, fy = DIR_TO_VEC[d]
        rx, ry = DIR_TO_VEC[(d + 1) % 4]
        for i in range(VIEW):
            for j in range(VIEW):
                ahead, right = AGENT_J - j, i - AGENT_I
                x, y = ahead * fx + right * rx, ahead * fy + right * ry
                out[d, j, i] = y * padded_width + x
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


# Views are handled eight cells (one uint64) at a time: this needs little-endian words.
assert sys.byteorder == "little", "the engine's view code assumes a little-endian machine"
_PACK = np.uint64(0x0102040810204080)  # eight 0/1 bytes -> one byte of bits: (x * _PACK) >> 56
_HIGH_BITS = np.uint64(0x0080808080808080)  # the opaque bit of the row's 7 real cells
# A row's 7 visibility bits (the 8th bit, if any, ignored) -> 8 bytes 0/1.
_EXPAND = np.array(
    [sum(((v >> k) & 1) << (8 * k) for k in range(VIEW)) for v in range(256)], dtype=np.uint64
)
# Code -> minigrid's (type, colour, state) as the low three bytes of a uint32.
_ENCODING32 = (ENCODING.astype(np.uint32) << np.array([0, 8, 16], dtype=np.uint32)).sum(
    axis=1, dtype=np.uint32
)


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

    The result is a view of an (N, 7, 8, 4) array (one uint32 gather encodes a cell; the 4th
    byte and the 8th cell of a row are padding), so it is not C-contiguous;
    ``np.ascontiguousarray`` if needed.
    """
    n = len(agent_cell)
    index = offsets[direction]
    index += agent_cell.astype(offsets.dtype, copy=False)[:, None, None]
    cells = np.take(grid, index)  # (N, 7 rows j, 8 cells i)
    blocked = cells.view(np.uint64)[:, :, 0] & _HIGH_BITS  # bit 7 of byte i: cell i opaque
    see = ((((blocked ^ _HIGH_BITS) >> np.uint64(7)) * _PACK) >> np.uint64(56)).astype(np.uint16)
    see <<= VIEW
    table = visibility_table()
    rows = np.empty((n, VIEW), dtype=np.uint8)  # bit i: cell (i, j) visible (bit 7: ignored)
    incoming = np.full(n, 1 << AGENT_I, dtype=np.uint16)
    for j in range(VIEW - 1, -1, -1):
        out = np.take(table, incoming | see[:, j])
        rows[:, j] = out
        incoming = out >> VIEW
    cells *= np.take(_EXPAND, rows).view(np.uint8).reshape(n, VIEW, 8)
    cells[:, AGENT_J, AGENT_I] = carry  # still [j, i]: encode contiguous, transpose the view
    encoded = np.take(_ENCODING32, cells).view(np.uint8).reshape(n, VIEW, 8, 4)
    return encoded[:, :, :VIEW, :3].transpose(0, 2, 1, 3)
