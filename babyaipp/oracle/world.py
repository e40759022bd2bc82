"""The worlds the oracle simulates: the live grid seen through a believed colour→property map.

A :class:`BeliefWorld` implements the :class:`babyaipp.dynamics.World` protocol over the env's
grid (the privileged full layout), but it looks floor properties up in a map the oracle
*believes* (read from the description, or learnt), never in ``env.floor_map``. Colours missing
from that map behave as plain floor in simulation; the planner prices them separately.
"""

from __future__ import annotations

from collections.abc import Mapping

from babyaipp.dynamics import Pos


class BeliefWorld:
    """The World protocol over ``grid`` with floor properties taken from ``properties``.

    - ``property_at``: the believed property of the tile's colour (None: no tile, or a colour
      the belief does not know).
    - ``color_at``: the tile's colour, read from the grid (colours are visible).
    - ``can_enter``: as the env (empty cell, floor tile, open door). With
      ``closed_doors=True``, closed unlocked doors count as enterable too: the planner opens
      them with a ``toggle`` before walking in (see :mod:`babyaipp.oracle.search`).
      Cells in ``obstacles`` (objects, locked doors) count as enterable too: the oracle's
      fallback plans through them to find out which one to clear away.

    ``touched`` collects the colours outside ``properties`` whose property was asked for: the
    belief uses it to learn which unknown colours a step depended on.
    """

    def __init__(
        self,
        grid,
        properties: Mapping[str, str],
        *,
        closed_doors: bool = False,
        obstacles: frozenset[Pos] = frozenset(),
    ):
        self.grid = grid
        self.properties = properties
        self.closed_doors = closed_doors
        self.obstacles = obstacles
        self.touched: set[str] = set()

    def property_at(self, pos: Pos) -> str | None:
        cell = self.grid.get(pos[0], pos[1])
        if cell is None or cell.type != "floor":
            return None
        prop = self.properties.get(cell.color)
        if prop is None:
            self.touched.add(cell.color)
        return prop

    def color_at(self, pos: Pos) -> str | None:
        cell = self.grid.get(pos[0], pos[1])
        return cell.color if cell is not None and cell.type == "floor" else None

    def can_enter(self, pos: Pos) -> bool:
        x, y = pos
        if not (0 <= x < self.grid.width and 0 <= y < self.grid.height):
            return False
        cell = self.grid.get(x, y)
        if cell is None or cell.can_overlap() or pos in self.obstacles:
            return True
        return self.closed_doors and is_closed_door(cell)


def is_closed_door(cell) -> bool:
    """A closed door that a toggle opens without a key."""
    return cell is not None and cell.type == "door" and not cell.is_open and not cell.is_locked


def floor_colors(grid) -> tuple[str, ...]:
    """The colours of the floor tiles on ``grid``, sorted."""
    return tuple(sorted({c.color for c in grid.grid if c is not None and c.type == "floor"}))
