"""Where floor tiles go, and the solvability check after placing them.

Rules shared by both placement modes:

- tiles go on empty interior cells only: never under an object, on a door or a wall;
- never on the agent's start cell nor on any of its 8 neighbours;
- never on any of the 8 neighbours of a door, whatever the property;
- with ``clear_around_objects`` (PutNext families), never on the 4 neighbours of an object, so
  an object can always be dropped beside another (minigrid cannot drop onto a floor tile).

Modes:

- ``"uniform"`` (default): every eligible cell independently gets a tile with probability
  ``density``, its colour uniform among the episode's floor colours. The number of tiles of a
  colour therefore does not depend on its property.
- ``"original"``: the original BabyAI++ tiered rates, for comparison. It makes
  ``rooms × (room_size-2)²`` draws; a draw ``f`` places a trap colour if ``f ≥ 0.95``, else a
  slippery/magic colour if ``f ≥ 0.80``, else a sticky/flipud/fliplr colour if ``f ≥ 0.50``,
  each tier only if the map has a colour of it (so rates cascade to lower tiers, as coded in
  the original) on a random eligible cell of a random room; a trap, slippery or magic tile
  touching two or more tiles of those tiers is retried up to 20 times. Tile density then leaks
  the property, which is why it is not the default.

Then, in both modes, **tiles of two different colours never touch** (share a side): the tiles
are visited in ascending cell order and a tile next to an already kept tile of another colour
is dropped (:func:`separate_colors`). Each colour has one property, so this guarantees that no
tile is beside a trap of another colour: a slide off a slippery tile or a magic push can never
land in a trap, and walking around the traps is always safe. The rule looks at colours only,
never at properties, so it leaks nothing. It lowers the effective density: at the default 0.3,
0.23 to 0.27 of the eligible cells get a tile (measured over the families; fewer with 3 colours).

After placement, BabyAI's reachability check must still pass with trap tiles counted as walls:
every object the agent could reach before the tiles were placed must still be reachable. In
levels that may block a path with an object (BabyAI's ``unblocking``, e.g. PutNext), the agent
can pick a blocker up and move it, so balls, boxes and keys count as walkable there; otherwise
an object hidden behind a blocker would never count as reached and traps could cut it off
unnoticed.
"""

from __future__ import annotations

import numpy as np
from minigrid.core.world_object import Floor

PLACEMENT_MODES: tuple[str, ...] = ("uniform", "original")

EMPTY, WALL, DOOR, OBJECT, FLOOR = 0, 1, 2, 3, 4
_CODES = {"wall": WALL, "door": DOOR, "floor": FLOOR}

# The original's tiers and rates: tier 0 {trap}, tier 1 {slippery, magic}, tier 2 the rest.
ORIGINAL_TIERS: tuple[tuple[str, ...], ...] = (
    ("trap",),
    ("slippery", "magic"),
    ("sticky", "flipud", "fliplr"),
)
ORIGINAL_THRESHOLDS: tuple[float, ...] = (0.95, 0.80, 0.50)
ORIGINAL_TRIES = 20
MOVABLE_TYPES: tuple[str, ...] = ("ball", "box", "key")


def occupancy(grid) -> np.ndarray:
    """A (height, width) int8 array: EMPTY, WALL, DOOR, FLOOR (a tile) or OBJECT per cell."""
    codes = [EMPTY if c is None else _CODES.get(c.type, OBJECT) for c in grid.grid]
    return np.array(codes, dtype=np.int8).reshape(grid.height, grid.width)


def eligible_cells(grid, agent_pos, clear_around_objects: bool = False) -> list[int]:
    """Flat indices (``x + y * width``, ascending) of the cells that may receive a tile."""
    cells, width = grid.grid, grid.width
    ring8 = [dx + dy * width for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    ring4 = [0, 1, -1, width, -width]
    start = int(agent_pos[0]) + int(agent_pos[1]) * width
    excluded = {start + d for d in ring8}
    empty = []
    for i, cell in enumerate(cells):
        if cell is None:
            empty.append(i)
        elif cell.type == "door":
            excluded.update(i + d for d in ring8)
        elif clear_around_objects and cell.type not in ("wall", "floor"):
            excluded.update(i + d for d in ring4)
    return [i for i in empty if i not in excluded]


def place_uniform(
    cells: list[int], width: int, colors: list[str], density: float, rng: np.random.Generator
) -> list[tuple[int, int, str]]:
    """Tiles as (x, y, colour): each eligible cell with probability ``density``."""
    chosen = np.flatnonzero(rng.random(len(cells)) < density).tolist()
    picks = rng.integers(len(colors), size=len(chosen)).tolist()
    pairs = zip(chosen, picks, strict=True)
    return [(cells[i] % width, cells[i] // width, colors[k]) for i, k in pairs]


def place_original(
    cells: list[int],
    shape: tuple[int, int],
    floor_map: dict[str, str],
    rooms: list[tuple[int, int, int, int]],
    rng: np.random.Generator,
) -> list[tuple[int, int, str]]:
    """Tiles as (x, y, colour) with the original tiered rates (see the module docstring).

    ``cells`` are the eligible flat indices, ``shape`` the grid's (height, width), ``rooms``
    each room's interior as (x0, y0, x1, y1), bounds exclusive.
    """
    tiers = [[c for c, p in floor_map.items() if p in tier] for tier in ORIGINAL_TIERS]
    contig_colors = set(tiers[0]) | set(tiers[1])
    free = np.zeros(shape[0] * shape[1], dtype=bool)
    free[cells] = True
    free = free.reshape(shape)
    color_at: dict[tuple[int, int], str] = {}
    num_draws = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rooms)
    for _ in range(num_draws):
        f = rng.random()
        tier = next((t for t, thr in enumerate(ORIGINAL_THRESHOLDS) if f >= thr and tiers[t]), None)
        if tier is None:
            continue
        color = tiers[tier][int(rng.integers(len(tiers[tier])))]
        for _try in range(ORIGINAL_TRIES if tier < 2 else 1):
            x0, y0, x1, y1 = rooms[int(rng.integers(len(rooms)))]
            ys, xs = np.nonzero(free[y0:y1, x0:x1])
            if len(xs) == 0:
                break
            k = int(rng.integers(len(xs)))
            x, y = int(xs[k]) + x0, int(ys[k]) + y0
            if tier < 2:
                touching = sum(
                    color_at.get((x + dx, y + dy)) in contig_colors
                    for dx in (-1, 0, 1)
                    for dy in (-1, 0, 1)
                    if dx or dy
                )
                if touching > 1:
                    continue
            color_at[(x, y)] = color
            free[y, x] = False
            break
    return [(x, y, c) for (x, y), c in color_at.items()]


def separate_colors(tiles: list[tuple[int, int, str]], width: int) -> list[tuple[int, int, str]]:
    """The tiles minus those beside (sharing a side with) a kept tile of another colour.

    Tiles are visited in ascending cell order (``x + y * width``), so the result does not depend
    on the input's order. It depends on colours only, never on properties.
    """
    kept: dict[int, str] = {}
    for x, y, color in sorted(tiles, key=lambda t: t[0] + t[1] * width):
        i = x + y * width
        # in cell order only the left and upper neighbours can have been kept already
        if kept.get(i - 1, color) == color and kept.get(i - width, color) == color:
            kept[i] = color
    return [(i % width, i // width, color) for i, color in kept.items()]


def put_tiles(grid, tiles: list[tuple[int, int, str]]) -> None:
    """Put the tiles on the grid. Tiles of one colour share one ``Floor`` object: a floor has no
    per-cell state (it is never picked up or moved), and building hundreds of them per reset
    would cost more than the rest of the placement."""
    cells, width = grid.grid, grid.width
    floors = {color: Floor(color) for color in {t[2] for t in tiles}}
    for x, y, color in tiles:
        cells[x + y * width] = floors[color]


class Reachability:
    """BabyAI's reachability check over one layout, with some cells blocked (the traps).

    The agent walks through empty cells, floor tiles and doors (whatever their state, as
    BabyAI's ``check_objs_reachable``), and with ``movable_walkable`` through balls, boxes and
    keys (levels where objects may block the way and the agent moves them); any other object
    stops it but counts as reached when it is next to a reached cell. Floor tiles are walkable
    unless listed as blocked, so the check can be built before or after the tiles are placed.
    """

    def __init__(self, grid, start, movable_walkable: bool = False):
        self.width = grid.width
        walk_types = ("door", "floor", *MOVABLE_TYPES) if movable_walkable else ("door", "floor")
        self.walkable = bytearray(len(grid.grid))
        self.is_object = bytearray(len(grid.grid))
        self.objects = []
        for i, c in enumerate(grid.grid):
            if c is None:
                self.walkable[i] = 1
                continue
            if c.type in walk_types:
                self.walkable[i] = 1
            if c.type not in ("wall", "floor"):
                self.objects.append(i)
                self.is_object[i] = 1
        self.start = int(start[0]) + int(start[1]) * self.width
        self._baseline: set[int] | None = None

    def unreached(self, blocked: set[tuple[int, int]] = frozenset()) -> set[int]:
        """Flat indices of the objects (doors included) not reached when ``blocked`` are walls."""
        walkable = bytearray(self.walkable)
        for x, y in blocked:
            walkable[x + y * self.width] = 0
        reached = bytearray(len(walkable))
        reached[self.start] = 1
        stack = [self.start]
        width = self.width
        is_object, left = self.is_object, len(self.objects)
        while stack and left:  # stop as soon as every object is reached
            i = stack.pop()
            for j in (i + 1, i - 1, i + width, i - width):
                if not reached[j]:
                    reached[j] = 1
                    left -= is_object[j]
                    if walkable[j]:
                        stack.append(j)
        return {i for i in self.objects if not reached[i]}

    def traps_keep_solvable(self, trap_cells: set[tuple[int, int]]) -> bool:
        """True when the traps cut the agent off from no object it could reach without them."""
        if not trap_cells:
            return True
        cut = self.unreached(trap_cells)
        if not cut:
            return True
        if self._baseline is None:
            self._baseline = self.unreached()
        return cut <= self._baseline

    def unreached_across(self, line: dict[int, str], axis: int, blocked: str) -> set[int]:
        """Flat indices of the objects not reached when the tiles are a barrier ``line``.

        ``line`` maps flat cell index → colour for the tiles of a one-cell-thick barrier
        (:func:`barrier_tiles`). Tiles of colour ``blocked`` are walls (as if it were the
        trap). A tile of another colour is only crossed straight across the line (``axis``
        as in :data:`Line`): from a plain cell ``s``
        through the tile ``c`` to the plain cell ``t`` beyond it in the same direction,
        ``t`` enterable. Such a crossing is possible under every built-in property
        (fliplr: forward twice; slippery: the slide lands on ``t``; sticky: wait, then
        forward; flipud: turn around on ``c``, then the reversed forward; magic: forward at
        once, before any push), so what this reaches, the agent can reach whatever the safe
        colour's property is. Moves along the line are never counted, nor reaching an
        object from a tile: the check is conservative, never optimistic.
        """
        walkable = bytearray(self.walkable)
        for i in line:
            walkable[i] = 0
        reached = bytearray(len(walkable))
        reached[self.start] = 1
        stack = [self.start]
        width = self.width
        across = (1, -1) if axis == 0 else (width, -width)
        while stack:
            i = stack.pop()
            for d in (1, -1, width, -width):
                j = i + d
                color = line.get(j)
                if color is not None:
                    t = j + d
                    if d in across and color != blocked and walkable[t] and not reached[t]:
                        reached[t] = 1
                        stack.append(t)
                elif not reached[j]:
                    reached[j] = 1
                    if walkable[j]:
                        stack.append(j)
        return {i for i in self.objects if not reached[i]}

    def barrier_keeps_solvable(self, line: dict[int, str], axis: int) -> bool:
        """True when, whichever single colour of ``line`` were the trap, the barrier cuts the
        agent off from no object it could reach without tiles. The check never looks at
        properties, so which segment is the trap cannot leak into the layouts kept."""
        if self._baseline is None:
            self._baseline = self.unreached()
        return all(
            self.unreached_across(line, axis, blocked) <= self._baseline
            for blocked in sorted(set(line.values()))
        )


Line = tuple[int, int]
"""A barrier line: (axis, k); axis 0 is the column x = k, axis 1 the row y = k."""


def barrier_lines(
    grid,
    agent_pos,
    interior: tuple[int, int, int, int],
    groups: list[list[tuple[int, int]]],
    keep_clear: set[tuple[int, int]] = frozenset(),
) -> list[Line]:
    """The lines a barrier may take in a one-room level (``interior`` = x0, y0, x1, y1, bounds
    inclusive), in a fixed order:

    - at least 2 cells from the agent's start along the axis (its 8 neighbours stay clear);
    - through no object of the mission (``groups``: one list of positions per object
      description, e.g. GoTo's target, PutNext's object to move and the one to put it next to);
    - across the way: every object of some group lies strictly on the far side, so the
      mission cannot be done without crossing;
    - through none of the cells in ``keep_clear`` (PutNext: the cells beside its objects);
    - with at least 2 empty cells, one per colour of the barrier.
    """
    x0, y0, x1, y1 = interior
    agent = (int(agent_pos[0]), int(agent_pos[1]))
    lines = []
    for axis, (lo, hi) in enumerate(((x0, x1), (y0, y1))):
        for k in range(lo, hi + 1):
            if abs(agent[axis] - k) < 2:
                continue
            side = agent[axis] < k
            if any(p[axis] == k for group in groups for p in group):
                continue
            if not any(group and all((p[axis] < k) != side for p in group) for group in groups):
                continue
            cells = line_cells(axis, k, interior)
            if any(c in keep_clear for c in cells):
                continue
            if sum(grid.get(*c) is None for c in cells) >= 2:
                lines.append((axis, k))
    return lines


def line_cells(axis: int, k: int, interior: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """The interior cells of line (axis, k), in order along it."""
    x0, y0, x1, y1 = interior
    if axis == 0:
        return [(k, y) for y in range(y0, y1 + 1)]
    return [(x, k) for x in range(x0, x1 + 1)]


def barrier_tiles(
    grid,
    line: Line,
    interior: tuple[int, int, int, int],
    colors: tuple[str, str],
    rng: np.random.Generator,
) -> list[tuple[int, int, str]]:
    """Tiles (x, y, colour) on the empty cells of ``line``: two segments, one per colour.

    The split point is uniform (each segment gets at least one cell) and which colour takes
    the first segment is a coin flip, so a segment's length and place say nothing about its
    colour's property. Cells holding objects stay as they are (an object blocks the way too).
    """
    cells = [c for c in line_cells(*line, interior) if grid.get(*c) is None]
    split = int(rng.integers(1, len(cells)))
    first, second = colors if rng.random() < 0.5 else colors[::-1]
    return [(x, y, first if i < split else second) for i, (x, y) in enumerate(cells)]
