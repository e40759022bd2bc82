"""The dynamics env: a minigrid BabyAI level with coloured floor tiles and descriptive text."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from minigrid.core.actions import Actions
from minigrid.core.constants import OBJECT_TO_IDX
from minigrid.core.grid import Grid
from minigrid.core.roomgrid import RoomGrid
from minigrid.core.world_object import Wall
from minigrid.envs.babyai.core.roomgrid_level import RejectSampling, RoomGridLevel
from minigrid.envs.babyai.core.verifier import AfterInstr, AndInstr, BeforeInstr

from babyaipp import placement as tile_placement
from babyaipp import text as textgen
from babyaipp.catalog import FamilySpec, get_family
from babyaipp.dynamics import active_rules, begin_step, reset_memory
from babyaipp.splits import draw_floor_map, has_held_out_pair
from babyaipp.vector import Text

SEQUENCE_INSTRS = (BeforeInstr, AndInstr, AfterInstr)
MAX_LAYOUT_TRIES = 1000
MAX_PLACEMENT_TRIES = 20


class GenerationError(RuntimeError):
    """A level could not be generated within the bounded number of tries."""


class DynamicsLevel:
    """A BabyAI level whose floor carries coloured tiles with hidden dynamics.

    Mixed into a minigrid ``RoomGridLevel`` subclass by :func:`level_class`; build one with
    :func:`make_env` or ``gym.make("BabyAIPP-<Family>-<Split>-v0")``.

    ## Description
    The base BabyAI level is generated as usual (walls, doors, objects, agent, instruction).
    Then each floor colour of the episode gets a property from the split's colour→property
    map (:mod:`babyaipp.splits`), coloured ``Floor`` tiles are scattered
    (:mod:`babyaipp.placement`) and one sentence per colour describes the map
    (:mod:`babyaipp.text`). The map is redrawn every episode.

    ## Observation
    A dict with minigrid's ``image`` (7×7×3 uint8, floors encode as ``(3, colour, 0)``; as in
    minigrid, the agent's own cell shows as empty or as the carried object, never as the tile
    it stands on, so the agent must remember what it stepped onto), ``direction`` (0–3),
    ``mission`` (the BabyAI instruction only) and ``description`` (the sentences, e.g.
    ``"green floors are trap. blue floors are sticky."``). Text entries are gymnasium ``Text``
    spaces with charset :data:`babyaipp.text.CHARSET`.

    ## Actions
    minigrid's 7 actions: left, right, forward, pickup, drop, toggle, done. Anything else
    raises ``ValueError``. An object cannot be dropped onto a floor tile (stock minigrid).

    ## Floor dynamics
    One step: (1) the property of the tile under the agent when the step starts is looked
    up; (2) each active rule's pre-action hook runs (magic push, fliplr swap, flipud reversal,
    sticky hold); (3) the minigrid action and BabyAI's mission check; (4) entry rules for every
    cell entered during the step (slide, trap); (5) bookkeeping, observation, info. Each rule's
    spec is its class docstring in :mod:`babyaipp.dynamics`.

    ## Rewards
    BabyAI's ``1 - 0.9 * step_count / max_steps`` on success, 0 otherwise (a trap pays 0).

    ## Termination and truncation
    ``terminated`` on success, on a trap, or when BabyAI's verifier fails the instruction;
    ``truncated`` when ``step_count`` reaches ``max_steps``.

    ## Info (every reset and step)
    ``floor_properties`` (colour→property), ``held_out`` (the map holds a held-out pair of the
    family), ``tile`` (property under the agent, or None), ``success`` (True only on the step
    that completes the mission without dying) and ``failure`` (``"trap"``, ``"timeout"``,
    ``"mission"`` or None).

    ## Randomness
    ``reset(seed=…)`` seeds one generator. At the start of each episode it draws the seed of a
    child generator; the layout comes from the main stream, then the map, the tiles and last the
    text from the child. Hence, for the same seed, the layout is the same in every split and
    text mode, and the map and tiles are the same in every text mode.

    ## Arguments
    ``family`` (name, dict or :class:`FamilySpec`), ``split`` (Train, HeldOut, Test, Fixed),
    ``text`` (full, none, shuffled, random), ``sentence_order`` (shuffled, sorted),
    ``withhold`` (sentences to hide; default the family's), ``placement`` (uniform, original),
    ``density`` (default the family's); anything else goes to the base level (e.g.
    ``max_steps``, ``render_mode``).
    """

    def __init__(
        self,
        family: str | Mapping[str, Any] | FamilySpec,
        split: str = "Train",
        *,
        text: str = "full",
        sentence_order: str = "shuffled",
        withhold: int | None = None,
        placement: str = "uniform",
        density: float | None = None,
        **base_kwargs: Any,
    ):
        spec = _as_spec(family)
        if split not in spec.splits:
            raise ValueError(f"unknown split {split!r} for family {spec.key}; valid: {spec.splits}")
        _check_choice("text", text, textgen.TEXT_MODES)
        _check_choice("sentence_order", sentence_order, textgen.SENTENCE_ORDERS)
        _check_choice("placement", placement, tile_placement.PLACEMENT_MODES)
        withhold = spec.withhold if withhold is None else withhold
        if (
            not isinstance(withhold, (int, np.integer))
            or isinstance(withhold, (bool, np.bool_))
            or not 0 <= withhold <= spec.num_floor_colors
        ):
            raise ValueError(
                f"withhold={withhold!r} must be an integer in [0, {spec.num_floor_colors}]"
            )
        density = spec.density if density is None else density
        if (
            not isinstance(density, (int, float, np.integer, np.floating))
            or isinstance(density, (bool, np.bool_))
            or not 0.0 <= density <= 1.0  # also refuses NaN
        ):
            raise ValueError(f"density={density!r} must be a number in [0, 1]")

        self.family = spec
        self.split = split
        self.text_mode = text
        self.sentence_order = sentence_order
        self.withhold = int(withhold)
        self.placement = placement
        self.density = float(density)
        # Episode state, set by _gen_grid / reset.
        self.floor_map: dict[str, str] = {}
        self.sentences: list[str] = []
        self.description = ""
        self.held_out = False
        self.tiles: list[tuple[int, int, str]] = []
        self.rule_memory: dict = {}
        self._active_rules: list = []
        self._obs_deferred = False
        # Counters for the benchmark's regeneration report.
        self.generation_stats = {"episodes": 0, "layout_rejections": 0, "placement_retries": 0}

        super().__init__(**{**spec.base_kwargs, **base_kwargs})
        self.observation_space = spaces.Dict(
            {
                "image": self.observation_space["image"],
                "direction": spaces.Discrete(4),
                "mission": _text_space(textgen.MAX_MISSION_CHARS),
                "description": _text_space(textgen.MAX_DESCRIPTION_CHARS),
            }
        )

    # -- generation -------------------------------------------------------------------------

    def _gen_grid(self, width: int, height: int) -> None:
        # The map, the tiles and then the text draw from a child stream, so the layout (on the
        # main stream) is the same in every split, and the map and tiles in every text mode.
        rng = np.random.default_rng(int(self.np_random.integers(2**63)))
        self.floor_map = draw_floor_map(self.family, self.split, rng)
        self.held_out = has_held_out_pair(self.family, self.floor_map)
        self.generation_stats["episodes"] += 1
        for _ in range(MAX_LAYOUT_TRIES):
            if self._gen_layout(width, height) and self._place_tiles(rng):
                break
        else:
            raise GenerationError(
                f"{self.family.key}: no solvable layout in {MAX_LAYOUT_TRIES} tries"
            )
        self.surface = self.instrs.surface(self)
        self.mission = self.surface
        self.sentences = textgen.make_sentences(
            self.floor_map,
            rng,
            mode=self.text_mode,
            order=self.sentence_order,
            withhold=self.withhold,
        )
        self.description = " ".join(self.sentences)

    def _gen_layout(self, width: int, height: int) -> bool:
        """One try of BabyAI's layout and mission generation (RoomGridLevel's loop, silenced)."""
        try:
            RoomGrid._gen_grid(self, width, height)
            self.gen_mission()
            self.validate_instrs(self.instrs)
        except (RecursionError, RejectSampling):
            self.generation_stats["layout_rejections"] += 1
            return False
        return True

    def _place_tiles(self, rng: np.random.Generator) -> bool:
        """Scatter the tiles; retry while traps cut off an object. False: give up this layout."""
        if self.family.tiles == "barrier":
            return self._place_barrier(rng)
        cells = tile_placement.eligible_cells(
            self.grid, self.agent_pos, self.family.clear_around_objects
        )
        colors = list(self.floor_map)
        traps = {c for c, p in self.floor_map.items() if p == "trap"}
        # Only trap tiles can cut the agent off, so the check is built when the first are drawn.
        reachability = None
        for _ in range(MAX_PLACEMENT_TRIES):
            if self.placement == "uniform":
                tiles = tile_placement.place_uniform(cells, self.width, colors, self.density, rng)
            else:
                tiles = tile_placement.place_original(
                    cells, (self.height, self.width), self.floor_map, self._room_interiors(), rng
                )
            tiles = tile_placement.separate_colors(tiles, self.width)
            trap_cells = {(x, y) for x, y, c in tiles if c in traps}
            if trap_cells and reachability is None:
                # LevelGen levels with ``unblocking`` may block a path with an object to move.
                movable = getattr(self, "unblocking", False)
                reachability = tile_placement.Reachability(self.grid, self.agent_pos, movable)
            if not trap_cells or reachability.traps_keep_solvable(trap_cells):
                tile_placement.put_tiles(self.grid, tiles)
                self.tiles = tiles
                return True
            self.generation_stats["placement_retries"] += 1
        return False

    def _place_barrier(self, rng: np.random.Generator) -> bool:
        """Lay a line of tiles across the way (:func:`babyaipp.placement.barrier_lines`): one
        segment of the episode's trap colour, one of another colour drawn uniformly. Retry
        while the line could cut the agent off (whichever colour were the trap); False: give
        up this layout (no line lies across its way)."""
        if len(self.room_grid) * len(self.room_grid[0]) != 1:
            raise GenerationError(f"{self.family.key}: barrier tiles need a one-room base level")
        (x0, y0, x1, y1) = self._room_interiors()[0]
        interior = (x0, y0, x1 - 1, y1 - 1)
        groups = mission_groups(self.instrs, self)
        keep_clear = set()
        if self.family.clear_around_objects:  # PutNext: a drop beside its objects stays free
            keep_clear = {
                (x + dx, y + dy)
                for group in groups
                for x, y in group
                for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
            }
        lines = tile_placement.barrier_lines(
            self.grid, self.agent_pos, interior, groups, keep_clear
        )
        if not lines:
            return False
        [trap] = [c for c, p in self.floor_map.items() if p == "trap"]
        others = [c for c in self.floor_map if c != trap]
        movable = getattr(self, "unblocking", False)
        reachability = tile_placement.Reachability(self.grid, self.agent_pos, movable)
        for _ in range(MAX_PLACEMENT_TRIES):
            line = lines[int(rng.integers(len(lines)))]
            safe = others[int(rng.integers(len(others)))]
            tiles = tile_placement.barrier_tiles(self.grid, line, interior, (trap, safe), rng)
            cells = {x + y * self.width: c for x, y, c in tiles}
            if reachability.barrier_keeps_solvable(cells, line[0]):
                tile_placement.put_tiles(self.grid, tiles)
                self.tiles = tiles
                return True
            self.generation_stats["placement_retries"] += 1
        return False

    def _room_interiors(self) -> list[tuple[int, int, int, int]]:
        return [
            (r.top[0] + 1, r.top[1] + 1, r.top[0] + r.size[0] - 1, r.top[1] + r.size[1] - 1)
            for row in self.room_grid
            for r in row
        ]

    # -- the World protocol used by the rules -----------------------------------------------

    def color_at(self, pos) -> str | None:
        # Direct indexing: positions asked about are always inside the grid (its border is
        # wall), and minigrid's Grid.get costs a bounds check on every step.
        cell = self.grid.grid[pos[0] + pos[1] * self.grid.width]
        return cell.color if cell is not None and cell.type == "floor" else None

    def property_at(self, pos) -> str | None:
        color = self.color_at(pos)
        return None if color is None else self.floor_map.get(color)

    def can_enter(self, pos) -> bool:
        if not (0 <= pos[0] < self.grid.width and 0 <= pos[1] < self.grid.height):
            return False
        cell = self.grid.get(pos[0], pos[1])
        return cell is None or cell.can_overlap()

    # -- the gym API --------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, _ = super().reset(seed=seed, options=options)
        self._active_rules = active_rules(self.floor_map.values())
        self.rule_memory = reset_memory(self._active_rules)
        return obs, self._info(success=False, failure=None)

    def step(self, action):
        if isinstance(action, np.ndarray) and action.ndim == 0:
            action = action[()]  # a numpy scalar: a bool array stays a (refused) numpy bool
        if (
            not isinstance(action, (int, np.integer))
            or isinstance(action, bool)  # True is an int to Python, not an action
            or not 0 <= action < 7
        ):
            raise ValueError(
                f"invalid action {action!r}; valid: integers 0-6 "
                f"({', '.join(f'{a.value}={a.name}' for a in self.actions)})"
            )
        # Phases 1-2: the start tile and the pre-action rules.
        ctx = begin_step(
            self, self.agent_pos, self.agent_dir, action, self.rule_memory, self._active_rules
        )
        self.agent_pos, self.agent_dir = ctx.pos, ctx.dir

        if ctx.died:  # pushed into a trap: the action is not taken
            self.step_count += 1
            obs = self.gen_obs()
            reward, terminated = 0.0, True
            truncated = self.step_count >= self.max_steps
            success = False
        else:  # phase 3: the minigrid action and the mission check
            before = self.agent_pos
            # The observation is built once, after the entry rules (a slide moves the agent):
            # minigrid's own gen_obs call inside its step is skipped.
            self._obs_deferred = True
            try:
                _, reward, terminated, truncated, _ = super().step(ctx.action)
            finally:
                self._obs_deferred = False
            success = terminated and reward > 0
            if ctx.action == Actions.forward and self.agent_pos != before:  # phase 4: entry rules
                ctx.dir = self.agent_dir
                ctx.enter(self.agent_pos, "move", self)
                self.agent_pos = ctx.pos  # moved on by a slide
            obs = self.gen_obs()
            if ctx.died:
                reward, terminated, success = 0.0, True, False

        if ctx.died:
            failure = "trap"
        elif success:
            failure = None
        elif terminated:
            failure = "mission"
        elif truncated:
            failure = "timeout"
        else:
            failure = None
        return obs, float(reward), terminated, truncated, self._info(success, failure)

    def update_objs_poss(self, instr=None):
        """BabyAI's refresh of the tracked objects' positions (after a drop), same result.

        minigrid's ``ObjDesc.find_matching_objs(use_location=False)`` scans every cell of the
        grid and compares each object with every tracked one, so its cost grows with the floor
        tiles. A tracked object lies in the grid exactly when the cell at its ``cur_pos`` holds
        it (minigrid updates ``cur_pos`` on every placement, pickup and drop), so the positions
        are read from there, in minigrid's scan order (column by column).
        """
        if instr is None:
            instr = self.instrs
        if isinstance(instr, SEQUENCE_INSTRS):
            self.update_objs_poss(instr.instr_a)
            self.update_objs_poss(instr.instr_b)
            return
        for attr in ("desc", "desc_move", "desc_fixed"):
            desc = getattr(instr, attr, None)
            if desc is not None:
                positions = (
                    self._grid_pos(obj)
                    for obj in desc.obj_set
                    if (desc.type is None or obj.type == desc.type)
                    and (desc.color is None or obj.color == desc.color)
                )
                desc.obj_poss = sorted(p for p in positions if p is not None)

    def _grid_pos(self, obj) -> tuple[int, int] | None:
        """Where ``obj`` lies in the grid, or None (carried, or gone from the grid)."""
        if obj.cur_pos is None:
            return None
        x, y = int(obj.cur_pos[0]), int(obj.cur_pos[1])
        inside = 0 <= x < self.grid.width and 0 <= y < self.grid.height
        return (x, y) if inside and self.grid.grid[x + y * self.grid.width] is obj else None

    def gen_obs_grid(self, agent_view_size=None):
        """minigrid's ``MiniGridEnv.gen_obs_grid``: the agent's view as a ``Grid`` (the same
        objects in the same cells, a new ``Wall`` per cell outside the map) and its visibility
        mask (minigrid's ``process_vis``).

        minigrid slices the view out cell by cell, then rotates it cell by cell up to four
        times; here each view cell is read once from where those rotations would take it
        (:func:`view_sources`): a reference step 1.2-2.4x as fast (docs/results.md, attempt 10).
        """
        size = agent_view_size or self.agent_view_size
        top_x, top_y, _, _ = self.get_view_exts(size)
        view, world = Grid(size, size), self.grid
        for cell, (i, j) in enumerate(view_sources(size, self.agent_dir)):
            x, y = top_x + i, top_y + j
            inside = 0 <= x < world.width and 0 <= y < world.height
            view.grid[cell] = world.grid[y * world.width + x] if inside else Wall()
        if self.see_through_walls:
            vis_mask = np.ones(shape=(size, size), dtype=bool)
        else:
            vis_mask = view.process_vis(agent_pos=(size // 2, size - 1))
        view.set(size // 2, size - 1, self.carrying or None)  # the agent sees what it carries
        return view, vis_mask

    def gen_obs(self):
        # minigrid's MiniGridEnv.gen_obs, with the view encoded by encode_view (same array).
        if self._obs_deferred:
            return None
        grid, vis_mask = self.gen_obs_grid()
        return {
            "image": encode_view(grid, vis_mask),
            "direction": self.agent_dir,
            "mission": self.mission,
            "description": self.description,
        }

    def _info(self, success: bool, failure: str | None) -> dict[str, Any]:
        return {
            "floor_properties": dict(self.floor_map),
            "held_out": self.held_out,
            "tile": self.property_at(self.agent_pos),
            "success": success,
            "failure": failure,
        }

    def __reduce__(self):
        # The class is made at run time, so pickle rebuilds it from its base level.
        return (_new_instance, (type(self).base_level,), self.__dict__.copy())


def mission_groups(instr, env) -> list[list[tuple[int, int]]]:
    """The positions of the objects each description of a BabyAI instruction matches, one
    list per description (GoTo: its target; PutNext: the object to move, then the one to put
    it next to; sequences: both halves')."""
    if isinstance(instr, SEQUENCE_INSTRS):
        return mission_groups(instr.instr_a, env) + mission_groups(instr.instr_b, env)
    groups = []
    for attr in ("desc", "desc_move", "desc_fixed"):
        desc = getattr(instr, attr, None)
        if desc is not None:
            _, positions = desc.find_matching_objs(env)  # BabyAI redoes it in reset_verifier
            groups.append([(int(x), int(y)) for x, y in positions])
    return groups


_EMPTY_CODE = (OBJECT_TO_IDX["empty"], 0, 0)


@functools.cache
def view_sources(size: int, direction: int) -> tuple[tuple[int, int], ...]:
    """Per cell of an agent's ``size`` × ``size`` view (``Grid.grid``'s row-major order), the
    cell (i, j) of the unrotated slice it comes from: minigrid's ``gen_obs_grid`` rotates the
    slice left ``direction + 1`` times, and one left rotation moves (i, j) to (j, size-1-i)."""
    sources = [(0, 0)] * (size * size)
    for i in range(size):
        for j in range(size):
            x, y = i, j
            for _ in range(direction + 1):
                x, y = y, size - 1 - x
            sources[y * size + x] = (i, j)
    return tuple(sources)


def encode_view(grid, vis_mask: np.ndarray) -> np.ndarray:
    """minigrid's ``Grid.encode(vis_mask)``, the same (width, height, 3) uint8 array.

    minigrid fills the array cell by cell; one list of the cells' encodings turned into an
    array at once takes half the time, which pays for the floor tiles' share of a step (a
    tile is an object to encode where the base level has an empty cell).
    """
    cells = [_EMPTY_CODE if v is None else v.encode() for v in grid.grid]
    array = np.array(cells, dtype=np.uint8).reshape(grid.height, grid.width, 3)
    return np.where(vis_mask[:, :, None], array.transpose(1, 0, 2), np.uint8(0))


def _text_space(max_length: int) -> spaces.Text:
    # babyaipp's Text: correct in gym.make_vec(..., vectorization_mode="async") (shared memory)
    return Text(max_length, min_length=0, charset=textgen.CHARSET)


@functools.cache
def level_class(base: type) -> type:
    """The dynamics level class over the BabyAI level class ``base`` (cached)."""
    if not issubclass(base, RoomGridLevel):
        raise TypeError(f"base level {base!r} must be a minigrid RoomGridLevel subclass")
    name = f"{base.__name__}Dynamics"
    return type(name, (DynamicsLevel, base), {"__doc__": DynamicsLevel.__doc__, "base_level": base})


def _new_instance(base: type) -> DynamicsLevel:
    cls = level_class(base)
    return cls.__new__(cls)


def _as_spec(family: str | Mapping[str, Any] | FamilySpec) -> FamilySpec:
    if isinstance(family, FamilySpec):
        return family
    if isinstance(family, str):
        return get_family(family)
    if isinstance(family, Mapping):
        return FamilySpec.from_dict(family)
    raise TypeError(f"family must be a name, a dict or a FamilySpec, got {family!r}")


def _check_choice(name: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid: {list(valid)}")


def make_env(family: str | Mapping[str, Any] | FamilySpec, split: str = "Train", **kwargs):
    """Build the dynamics env of ``family`` for ``split`` (the gym entry point)."""
    spec = _as_spec(family)
    return level_class(spec.base_class())(spec, split, **kwargs)
