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

After placement, BabyAI's reachability check must still pass with trap tiles counted as walls:
every object the agent could reach before the tiles were placed must still be reachable.
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


def occupancy(grid) -> np.ndarray:
    """A (height, width) int8 array: EMPTY, WALL, DOOR, FLOOR (a tile) or OBJECT per cell."""
    codes = [EMPTY if c is None else _CODES.get(c.type, OBJECT) for c in grid.grid]
    return np.array(codes, dtype=np.int8).reshape(grid.height, grid.width)


def _dilate(mask: np.ndarray, diagonal: bool) -> np.ndarray:
    """``mask`` grown by one cell (4- or 8-neighbourhood)."""
    padded = np.pad(mask, 1)
    h, w = mask.shape
    out = mask.copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dx or dy) and (diagonal or not (dx and dy)):
                out |= padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return out


def eligible_mask(grid, agent_pos, clear_around_objects: bool = False) -> np.ndarray:
    """Cells that may receive a tile, as a (height, width) bool array."""
    occ = occupancy(grid)
    mask = occ == EMPTY
    mask &= ~_dilate(occ == DOOR, diagonal=True)
    x, y = int(agent_pos[0]), int(agent_pos[1])
    mask[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = False
    if clear_around_objects:
        mask &= ~_dilate(occ == OBJECT, diagonal=False)
    return mask


def place_uniform(
    mask: np.ndarray, colors: list[str], density: float, rng: np.random.Generator
) -> list[tuple[int, int, str]]:
    """Tiles as (x, y, colour): each eligible cell with probability ``density``."""
    ys, xs = np.nonzero(mask)
    chosen = np.flatnonzero(rng.random(len(xs)) < density)
    picks = rng.integers(len(colors), size=len(chosen))
    return [(int(xs[i]), int(ys[i]), colors[k]) for i, k in zip(chosen, picks)]


def place_original(
    mask: np.ndarray,
    floor_map: dict[str, str],
    rooms: list[tuple[int, int, int, int]],
    rng: np.random.Generator,
) -> list[tuple[int, int, str]]:
    """Tiles as (x, y, colour) with the original tiered rates (see the module docstring).

    ``rooms`` lists each room's interior as (x0, y0, x1, y1), bounds exclusive.
    """
    tiers = [[c for c, p in floor_map.items() if p in tier] for tier in ORIGINAL_TIERS]
    contig_colors = set(tiers[0]) | set(tiers[1])
    free = mask.copy()
    color_at: dict[tuple[int, int], str] = {}
    num_draws = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rooms)
    for _ in range(num_draws):
        f = rng.random()
        tier = next(
            (t for t, thr in enumerate(ORIGINAL_THRESHOLDS) if f >= thr and tiers[t]), None
        )
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


def put_tiles(grid, tiles: list[tuple[int, int, str]]) -> None:
    for x, y, color in tiles:
        grid.set(x, y, Floor(color))


def remove_tiles(grid, tiles: list[tuple[int, int, str]]) -> None:
    for x, y, _ in tiles:
        grid.set(x, y, None)


def unreachable_objects(grid, start, blocked: set[tuple[int, int]] = frozenset()) -> set[int]:
    """Flat indices of objects (and doors) the agent cannot reach, BabyAI-style.

    The agent walks through empty cells, floor tiles and doors (whatever their state, as
    BabyAI's ``check_objs_reachable``); any other object stops it but counts as reached when it
    is next to a reached cell. Cells in ``blocked`` (the traps) are walls.
    """
    width = grid.width
    cells = grid.grid
    blocked_idx = {x + y * width for x, y in blocked}
    start_idx = int(start[0]) + int(start[1]) * width
    seen = {start_idx}
    stack = [start_idx]
    while stack:
        i = stack.pop()
        cell = cells[i]
        if i != start_idx and cell is not None and cell.type not in ("door", "floor"):
            continue
        for j in (i + 1, i - 1, i + width, i - width):
            if j not in seen and j not in blocked_idx:
                seen.add(j)
                stack.append(j)
    return {
        i
        for i, c in enumerate(cells)
        if c is not None and c.type not in ("wall", "floor") and i not in seen
    }


def traps_keep_layout_solvable(grid, start, trap_cells: set[tuple[int, int]]) -> bool:
    """True when the traps cut the agent off from no object it could reach without them."""
    if not trap_cells:
        return True
    with_traps = unreachable_objects(grid, start, trap_cells)
    return not with_traps or with_traps <= unreachable_objects(grid, start)
