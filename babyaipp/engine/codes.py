"""Grid cells as one uint8 code each, and the lookup tables that give their properties.

A minigrid cell encodes as ``(type, colour, state)``; the engine packs that into one byte,
``code = 24 * type + 4 * colour + state`` (types up to ``box`` = 7, so codes stay below 192),
so that a whole grid is a ``uint8`` array and every per-cell question ("can the agent walk
here?", "does it block the view?") is one fancy-index into a 256-entry table.

Codes 0 (``UNSEEN``) and 24 (``EMPTY``) are minigrid's ``unseen`` and ``empty`` encodings: an
empty cell is ``EMPTY`` in the engine's grid, exactly what minigrid's ``Grid.encode`` writes for
``None``. Codes from :data:`SLOT_BASE` up mark floor-tile *slots* in a layout bank (slot k is
the k-th colour of the episode's map); they never appear in a live grid.
"""

from __future__ import annotations

import numpy as np
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from babyaipp.dynamics import BUILTIN_PROPERTIES

NUM_COLORS = len(COLOR_TO_IDX)
T_EMPTY, T_WALL, T_FLOOR, T_DOOR = (OBJECT_TO_IDX[t] for t in ("empty", "wall", "floor", "door"))
T_KEY, T_BALL, T_BOX = (OBJECT_TO_IDX[t] for t in ("key", "ball", "box"))
OPEN, CLOSED, LOCKED = 0, 1, 2


def code(type_idx: int, color: int = 0, state: int = 0) -> int:
    """The engine code of minigrid's encoding ``(type_idx, color, state)``."""
    if not (0 <= type_idx <= T_BOX and 0 <= color < NUM_COLORS and 0 <= state <= 2):
        raise ValueError(f"no engine code for minigrid encoding {(type_idx, color, state)}")
    return 24 * type_idx + 4 * color + state


UNSEEN = 0
EMPTY = code(T_EMPTY)
WALL = code(T_WALL, COLOR_TO_IDX["grey"])
SLOT_BASE = 200  # bank-only codes: SLOT_BASE + k is a floor tile of the map's k-th colour


def floor_code(color: int) -> int:
    return code(T_FLOOR, color)


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
"""Blocks the view (not see_behind): walls, closed and locked doors."""
PICKUP = _table(bool)
"""can_pickup: keys, balls, boxes."""
FLOOR_COLOR = _table(np.int64, NUM_COLORS)
"""Floor colour index, or NUM_COLORS for anything that is not a floor tile."""
TOGGLED = np.arange(256, dtype=np.uint8)
"""What toggling leaves in the cell, no key involved: doors open/close, a box is replaced by
its (always empty, in BabyAI) contents; locked doors and everything else stay as they are."""
UNLOCKED_BY = _table(np.uint8, 255)
"""For a locked door, the code of the key that opens it (255: not a locked door); the door
then becomes open, code - LOCKED."""

for _t in range(T_BOX + 1):
    for _c in range(NUM_COLORS):
        for _s in range(3 if _t == T_DOOR else 1):
            if _t <= T_EMPTY and (_c or _s):
                continue
            _k = code(_t, _c, _s)
            ENCODING[_k] = (_t, _c, _s)
            PASSABLE[_k] = _t in (T_EMPTY, T_FLOOR) or (_t == T_DOOR and _s == OPEN)
            OPAQUE[_k] = _t == T_WALL or (_t == T_DOOR and _s != OPEN)
            PICKUP[_k] = _t in (T_KEY, T_BALL, T_BOX)
            if _t == T_FLOOR:
                FLOOR_COLOR[_k] = _c
            if _t == T_DOOR:
                if _s == LOCKED:
                    UNLOCKED_BY[_k] = code(T_KEY, _c)
                else:
                    TOGGLED[_k] = code(T_DOOR, _c, 1 - _s)
            if _t == T_BOX:
                TOGGLED[_k] = EMPTY
ENCODING[UNSEEN] = (0, 0, 0)

for _table_ in (ENCODING, PASSABLE, OPAQUE, PICKUP, FLOOR_COLOR, TOGGLED, UNLOCKED_BY):
    _table_.setflags(write=False)


# Floor properties as small integers: the original BabyAI++ ids 0-5, NONE for "no tile".
PROPERTY_IDS: dict[str, int] = {name: i for i, name in enumerate(BUILTIN_PROPERTIES)}
TRAP, STICKY, FLIPUD, FLIPLR, SLIPPERY, MAGIC = (PROPERTY_IDS[p] for p in BUILTIN_PROPERTIES)
NONE = -1
