"""Grid cells as one uint8 code each, and the lookup tables that give their properties.

A minigrid cell encodes as ``(type, colour, state)``; the engine numbers every encoding that a
BabyAI level can hold (empty, walls, floors, doors in their three states, keys, balls, boxes)
with one byte, so that a whole grid is a ``uint8`` array and every per-cell question ("can the
agent walk here?") is one fancy-index into a 256-entry table. Codes of cells that block the
view (walls, closed and locked doors) have the high bit set, so the view's occlusion is read
straight off the codes, eight at a time.

Code 0 (``UNSEEN``) encodes as minigrid's ``unseen`` (0, 0, 0); ``EMPTY`` is minigrid's
``empty`` (1, 0, 0), what ``Grid.encode`` writes for ``None``. Codes ``SLOT_BASE + k`` mark
floor-tile *slots* in a layout bank (slot k is the k-th colour of the episode's map); they
never appear in a live grid.
"""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from babyaipp.dynamics import BUILTIN_PROPERTIES

NUM_COLORS = len(COLOR_TO_IDX)
T_EMPTY, T_WALL, T_FLOOR, T_DOOR = (OBJECT_TO_IDX[t] for t in ("empty", "wall", "floor", "door"))
T_KEY, T_BALL, T_BOX = (OBJECT_TO_IDX[t] for t in ("key", "ball", "box"))
OPEN, CLOSED, LOCKED = 0, 1, 2
OPAQUE_BIT = 128

_see_through = [(T_EMPTY, 0, 0)]
_see_through += [(t, c, 0) for t in (T_FLOOR, T_KEY, T_BALL, T_BOX) for c in range(NUM_COLORS)]
_see_through += [(T_DOOR, c, OPEN) for c in range(NUM_COLORS)]
_blocking = [(T_WALL, c, 0) for c in range(NUM_COLORS)]
_blocking += [(T_DOOR, c, s) for s in (CLOSED, LOCKED) for c in range(NUM_COLORS)]
_CODE_OF: dict[tuple[int, int, int], int] = {e: 1 + k for k, e in enumerate(_see_through)}
_CODE_OF.update({e: OPAQUE_BIT + k for k, e in enumerate(_blocking)})


def code(type_idx: int, color: int = 0, state: int = 0) -> int:
    """The engine code of minigrid's encoding ``(type_idx, color, state)``."""
    try:
        return _CODE_OF[(int(type_idx), int(color), int(state))]
    except KeyError:
        raise ValueError(
            f"minigrid encoding {(type_idx, color, state)} has no engine code (the engine holds "
            "empty cells, walls, floors, doors, keys, balls and boxes)"
        ) from None


UNSEEN = 0
EMPTY = code(T_EMPTY)
WALL = code(T_WALL, COLOR_TO_IDX["grey"])
SLOT_BASE = 64  # bank-only codes: SLOT_BASE + k is a floor tile of the map's k-th colour
FLOOR_CODES = np.array([code(T_FLOOR, c) for c in range(NUM_COLORS)], dtype=np.uint8)
"""Code of the floor tile of each colour index."""


def code_of(obj) -> int:
    """The code of a minigrid ``WorldObj`` (or ``None`` for an empty cell)."""
    return EMPTY if obj is None else code(*obj.encode())


def _table(dtype, fill=0) -> np.ndarray:
    return np.full(256, fill, dtype=dtype)


ENCODING = np.zeros((256, 3), dtype=np.uint8)
"""Code → minigrid's (type, colour, state) triple; UNSEEN and unused codes give (0, 0, 0)."""
PASSABLE = _table(bool)
"""The agent may stand here: empty, any floor tile, an open door (minigrid's can_overlap)."""
OPAQUE = _table(bool)
"""Blocks the view (not see_behind): walls, closed and locked doors; the codes >= 128."""
PICKUP = _table(bool)
"""can_pickup: keys, balls, boxes."""
OPEN_DOOR = _table(bool)
"""An open door (what BabyAI's ``OpenInstr`` checks after a toggle)."""
FLOOR_COLOR = _table(np.int64, NUM_COLORS)
"""Floor colour index, or NUM_COLORS for anything that is not a floor tile."""
TOGGLED = np.arange(256, dtype=np.uint8)
"""What toggling leaves in the cell, no key involved: an unlocked door opens or closes, a box
is replaced by its (always empty, in BabyAI) contents; anything else stays as it is."""
UNLOCKED_BY = _table(np.uint8, 255)
"""For a locked door, the code of the key that opens it (255: not a locked door)."""
UNLOCKED = np.arange(256, dtype=np.uint8)
"""For a locked door, the open door it becomes when its key toggles it."""

for (_t, _c, _s), _k in _CODE_OF.items():
    ENCODING[_k] = (_t, _c, _s)
    PASSABLE[_k] = _t in (T_EMPTY, T_FLOOR) or (_t == T_DOOR and _s == OPEN)
    OPAQUE[_k] = _t == T_WALL or (_t == T_DOOR and _s != OPEN)
    PICKUP[_k] = _t in (T_KEY, T_BALL, T_BOX)
    OPEN_DOOR[_k] = _t == T_DOOR and _s == OPEN
    if _t == T_FLOOR:
        FLOOR_COLOR[_k] = _c
    if _t == T_DOOR and _s == LOCKED:
        UNLOCKED_BY[_k] = code(T_KEY, _c)
        UNLOCKED[_k] = code(T_DOOR, _c, OPEN)
    elif _t == T_DOOR:
        TOGGLED[_k] = code(T_DOOR, _c, 1 - _s)
    if _t == T_BOX:
        TOGGLED[_k] = EMPTY
assert all(OPAQUE[k] == (k >= OPAQUE_BIT) for k in _CODE_OF.values())

for _table_ in (
    ENCODING,
    PASSABLE,
    OPAQUE,
    PICKUP,
    OPEN_DOOR,
    FLOOR_COLOR,
    TOGGLED,
    UNLOCKED_BY,
    UNLOCKED,
):
    _table_.setflags(write=False)


# Floor properties as small integers: the original BabyAI++ ids 0-5, NONE for "no tile".
PROPERTY_IDS: dict[str, int] = {name: i for i, name in enumerate(BUILTIN_PROPERTIES)}
TRAP, STICKY, FLIPUD, FLIPLR, SLIPPERY, MAGIC = (PROPERTY_IDS[p] for p in BUILTIN_PROPERTIES)
NONE = -1
