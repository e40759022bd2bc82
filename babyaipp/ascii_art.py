"""A text picture of a level: two characters a cell, like minigrid's ``pprint_grid``.

Floor tiles show their property's symbol (see :mod:`babyaipp.dynamics`) and the lower-case
initial of their colour, e.g. ``Xg`` for a green trap; with ``reveal=False`` they show ``F``
and the colour, as minigrid does. The agent is ``>>``, ``vv``, ``<<`` or ``^^``.
"""

from __future__ import annotations

from babyaipp.dynamics import PROPERTIES

_OBJECT_CHARS = {"wall": "W", "floor": "F", "key": "K", "ball": "A", "box": "B", "goal": "G"}
_AGENT = {0: ">>", 1: "vv", 2: "<<", 3: "^^"}


def ascii_grid(env, reveal: bool = True) -> str:
    """The picture of ``env`` (a reset babyaipp env, wrapped or not)."""
    env = env.unwrapped
    rows = []
    for y in range(env.grid.height):
        row = []
        for x in range(env.grid.width):
            cell = env.grid.get(x, y)
            if (x, y) == tuple(env.agent_pos):
                row.append(_AGENT[env.agent_dir])
            elif cell is None:
                row.append("  ")
            elif cell.type == "door":
                state = "_" if cell.is_open else ("L" if cell.is_locked else "D")
                row.append(state + cell.color[0].upper())
            elif cell.type == "floor" and reveal:
                prop = env.floor_map.get(cell.color)
                symbol = PROPERTIES[prop].symbol if prop in PROPERTIES else "F"
                row.append(symbol + cell.color[0])
            else:
                row.append(_OBJECT_CHARS.get(cell.type, "?") + cell.color[0].upper())
        rows.append("".join(row))
    return "\n".join(rows)


def legend() -> str:
    """One line naming each property's symbol."""
    return "  ".join(f"{rule.symbol}={name}" for name, rule in PROPERTIES.items())
