"""The batched engine on numpy: N babyaipp episodes held in arrays, stepped at once.

Every env's grid is a row of one ``uint8`` array of cell codes (:mod:`babyaipp.engine.codes`),
padded with walls so the 7×7 view never leaves it; positions are flat indices into that array.
A step is the reference env's phases (:class:`babyaipp.env.DynamicsLevel`), each a few whole-
batch array operations, with no Python loop over envs:

1. the start tile's property; 2. the pre-action rules in the registry's hook order (magic
push, fliplr swap, flipud reversal, sticky hold); 3. minigrid's action (turn, forward, pickup,
drop, toggle) and BabyAI's verifier; 4. the entry rules (trap, sticky, slide) for the cell a
forward move entered and the cell a slide entered; 5. observation, reward, termination,
truncation, info. Rules that are not in an episode's map never fire there, so running every
rule's check on every env gives the reference's result.

The BabyAI verifiers are held as per-cell tags that travel with the objects (the instruction
tracks objects by identity): bit 0 for the objects a ``GoTo`` instruction (or the fixed side of
``PutNext``) refers to, bit 1 for the objects ``PutNext`` moves. ``goal`` is minigrid's
``obj_poss`` for GoTo: recorded at reset and refreshed, like minigrid, only on a ``drop``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from minigrid.core.constants import COLOR_TO_IDX

from babyaipp.catalog import FamilySpec
from babyaipp.dynamics import BUILTIN_PROPERTIES
from babyaipp.engine import codes
from babyaipp.engine.bank import GOTO, GOTO_BITS, LayoutBank
from babyaipp.engine.bank import OPEN as OPEN_VERIFIER
from babyaipp.engine.bank import PICKUP as PICKUP_VERIFIER
from babyaipp.engine.base import NUM_ACTIONS, BatchedEngine, refuse_bools
from babyaipp.engine.codes import (
    EMPTY,
    FLIPLR,
    FLIPUD,
    FLOOR_COLOR,
    MAGIC,
    NONE,
    PASSABLE,
    PICKUP,
    SLIPPERY,
    STICKY,
    TOGGLED,
    TRAP,
    UNLOCKED,
    UNLOCKED_BY,
)
from babyaipp.engine.sampling import Episodes
from babyaipp.engine.view import PAD, observe, view_offsets

LEFT, RIGHT, FORWARD, PICKUP_ACT, DROP, TOGGLE, DONE = range(7)
SWAP_LR = np.array([RIGHT, LEFT, FORWARD, PICKUP_ACT, DROP, TOGGLE, DONE])
TURN = np.array([-1, 1, 0, 0, 0, 0, 0])
STICKY_WAIT = 2  # babyaipp.dynamics.Sticky.WAIT
PROPERTY_NAMES = np.array([*BUILTIN_PROPERTIES, None], dtype=object)  # index NONE (-1) -> None
FAILURES = np.array([None, "trap", "mission", "timeout"], dtype=object)
F_NONE, F_TRAP, F_MISSION, F_TIMEOUT = range(4)


def _rule_tables() -> tuple[np.ndarray, np.ndarray]:
    """The fliplr, flipud and sticky rules and minigrid's turns as two lookup tables.

    Index ``((start property + 1) * 2 + sticky held) * 7 + action``; values: the action minigrid
    runs (fliplr swaps left and right; a held forward becomes ``done``, an inert action) and the
    change of heading (flipud's half turn on a forward, taken before a held forward is dropped,
    as in the reference's hook order; then minigrid's quarter turns).
    """
    action = np.zeros((len(BUILTIN_PROPERTIES) + 1, 2, NUM_ACTIONS), dtype=np.int64)
    turn = np.zeros_like(action)
    for p in range(-1, len(BUILTIN_PROPERTIES)):
        for held in (0, 1):
            for a in range(NUM_ACTIONS):
                b = SWAP_LR[a] if p == FLIPLR else a
                half = 2 if p == FLIPUD and b == FORWARD else 0
                b = DONE if held and b == FORWARD else b
                action[p + 1, held, a], turn[p + 1, held, a] = b, half + TURN[b]
    return action.reshape(-1), turn.reshape(-1)


_ACTION_TABLE, _TURN_TABLE = _rule_tables()


class NumpyBatchedEnv(BatchedEngine):
    """``num_envs`` episodes of one family and split, stepped as arrays (numpy, CPU).

    Observations are those of the :class:`babyaipp.TokenizeText`-wrapped reference env,
    batched: ``image`` (N, 7, 7, 3) uint8, ``direction`` (N,) int64, ``mission`` (N, 48)
    int64, ``description`` (N, 6, 4) int64. Rewards float64, terminations and truncations
    bool, infos in gymnasium's vector convention (each key an array plus a ``_key`` mask,
    ``floor_properties`` a dict of per-colour arrays), exactly what a ``SyncVectorEnv`` of
    reference envs returns. Autoreset is gymnasium's ``NEXT_STEP``: the step after an
    episode ends resets that env (its action is ignored; reward 0, not terminated).

    Layouts come from ``bank`` (:mod:`babyaipp.engine.bank`); maps, text and the choice of
    layout are drawn per episode from one generator, seeded by ``reset(seed=...)``: the same
    seed and actions give the same episodes. Build through
    ``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")``.
    """

    def __init__(
        self,
        num_envs: int,
        spec: FamilySpec,
        split: str,
        bank: LayoutBank,
        single_observation_space: spaces.Dict,
        **env_kwargs: Any,
    ):
        """``env_kwargs``: ``text``, ``sentence_order``, ``withhold``, ``density``,
        ``max_steps`` (see :class:`~babyaipp.engine.base.BatchedEngine`)."""
        super().__init__(num_envs, spec, split, bank, single_observation_space, **env_kwargs)
        n = self.num_envs
        c = self._hp * self._wp
        self._cells = c
        index_type = np.int32 if n * c < 2**31 else np.int64  # see view_offsets
        self._offsets = view_offsets(self._wp, index_type)
        self._delta = np.array([1, self._wp, -1, -self._wp])

        # State. Grids are (N, Hp, Wp); the padding is wall forever (nothing can change a wall).
        self._grid = np.full((n, self._hp, self._wp), codes.WALL, dtype=np.uint8)
        self._tags = np.zeros((n, self._hp, self._wp), dtype=np.uint8)
        # GoTo: the go-to bits (see LayoutBank) of the positions recorded at reset, per cell
        self._goal = np.zeros((n, self._hp, self._wp), dtype=np.uint8)
        self._goal_stale = np.zeros(n, dtype=bool)  # goal may differ from the tracked objects
        self._program = np.zeros((n, 2), dtype=np.uint8)  # go-tos to do first, then second
        self._done = np.zeros(n, dtype=np.uint8)  # go-tos completed (latched)
        self._second = np.zeros(n, dtype=bool)  # working on the second group
        self._row_base = np.arange(n, dtype=np.int64) * c
        self._prop_base = np.arange(n, dtype=np.int64) * (codes.NUM_COLORS + 1)
        self._cell = np.zeros(n, dtype=np.int64)  # flat index into _grid.ravel()
        self._dir = np.zeros(n, dtype=np.int64)
        self._carry = np.full(n, EMPTY, dtype=np.uint8)
        self._carry_tag = np.zeros(n, dtype=np.uint8)
        self._sticky = np.zeros(n, dtype=np.int64)
        self._magic_color = np.full(n, -1, dtype=np.int64)
        self._magic_count = np.zeros(n, dtype=np.int64)
        self._steps = np.zeros(n, dtype=np.int64)
        self._max_steps = np.zeros(n, dtype=np.int64)
        # property id by colour index; column NUM_COLORS (not a floor) stays NONE
        self._props = np.full((n, codes.NUM_COLORS + 1), NONE, dtype=np.int64)
        # the same by cell code: [env, code] -> property id (NONE unless a floor of the map)
        self._prop_of_code = np.full((n, 256), NONE, dtype=np.int8)  # int8: stays in cache
        self._code_base = np.arange(n, dtype=np.int64) * 256
        # token ids (< 256) kept as uint8; observations widen them to TokenizeText's int64
        self._mission = np.zeros((n, bank.mission.shape[1]), dtype=np.uint8)
        description_shape = single_observation_space["description"].shape
        self._description = np.zeros((n, *description_shape), dtype=np.uint8)
        self._held_out = np.zeros(n, dtype=bool)
        self._entry = np.zeros(n, dtype=np.int64)
        self._episodes: Episodes | None = None
        self._autoreset = np.zeros(n, dtype=bool)
        info_colors = spec.fixed if split == "Fixed" else spec.floor_colors
        self._info_colors = np.array([COLOR_TO_IDX[c] for c in info_colors], dtype=np.int64)
        self._info_names = list(info_colors)
        # Bank arrays in the forms a reset copies.
        x, y, d = bank.agent.astype(np.int64).T
        self._bank_cell = (y + PAD) * self._wp + (x + PAD)
        self._bank_dir = d
        self._bank_goal = bank.tags & GOTO_BITS
        self._bank_mission = bank.mission
        self._bank_max_steps = self._entry_max_steps()

    # -- gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset every env (or those in ``options["reset_mask"]``); ``seed`` seeds the batch."""
        self._reseed(seed)
        mask = self._reset_mask(options)
        self._reset_rows(np.flatnonzero(mask))
        self._autoreset[mask] = False
        self._was_reset = True
        zeros = np.zeros(self.num_envs, dtype=bool)
        failure = np.zeros(self.num_envs, dtype=np.int64)
        return self._observe(), self._infos(zeros, failure, present=mask)

    def step(self, actions):
        if not self._was_reset:
            raise RuntimeError("call reset() before step()")
        a = self._check_actions(actions)
        n = self.num_envs
        g = self._grid.reshape(-1)
        tags = self._tags.reshape(-1)
        prop_of = self._prop_of_code.reshape(-1)  # [env * 256 + code] -> property id
        code_base = self._code_base
        cell, d = self._cell, self._dir

        # Phase 1: the tile the step starts on.
        start_code = g[cell]
        start_prop = prop_of[code_base + start_code]

        # Phase 2: pre-action rules, in hook order. Magic first: it may push the agent.
        died = np.zeros(n, dtype=bool)
        on_magic = start_prop == MAGIC
        if on_magic.any():
            color = FLOOR_COLOR[start_code]
            count = np.where(self._magic_color == color, self._magic_count + 1, 1)
            self._magic_count = np.where(on_magic, count, 0)
            self._magic_color = np.where(on_magic, color, -1)
            push = np.flatnonzero(on_magic & (self._magic_count % 2 == 0))
            south = cell[push] + self._wp
            push, south = push[PASSABLE[g[south]]], south[PASSABLE[g[south]]]
            cell = cell.copy()
            cell[push] = south
            entered = prop_of[code_base[push] + g[south]]
            died[push[entered == TRAP]] = True
            self._sticky[push[entered == STICKY]] = STICKY_WAIT
        else:
            self._magic_count[:] = 0
            self._magic_color[:] = -1
        # fliplr, flipud and the sticky hold: one table lookup (see _rule_tables).
        held = self._sticky > 0
        self._sticky -= held
        rule = ((start_prop + 1) * 2 + held) * NUM_ACTIONS + a
        turn = _TURN_TABLE[rule]  # flipud's half turn and left/right turns
        a = _ACTION_TABLE[rule]
        if died.any():
            a[died], turn[died] = DONE, 0  # pushed into a trap: no action, no verification

        # Phase 3: minigrid's action.
        self._steps += 1
        d = (d + turn) & 3
        fwd = cell + self._delta[d]
        ahead = g[fwd]
        moved = (a == FORWARD) & PASSABLE[ahead]
        cell = np.where(moved, fwd, cell)
        drop = np.flatnonzero(a == DROP)
        pick = np.flatnonzero(a == PICKUP_ACT)
        pick = pick[PICKUP[ahead[pick]] & (self._carry[pick] == EMPTY)]
        if len(pick):
            at = fwd[pick]
            self._carry[pick] = ahead[pick]
            self._carry_tag[pick] = tags[at]
            self._goal_stale[pick[tags[at] != 0]] = True
            g[at] = EMPTY
            tags[at] = 0
        dropped = drop[(ahead[drop] == EMPTY) & (self._carry[drop] != EMPTY)]
        dropped_tag = self._carry_tag[dropped]
        if len(dropped):
            at = fwd[dropped]
            self._goal_stale[dropped[dropped_tag != 0]] = True
            g[at] = self._carry[dropped]
            tags[at] = dropped_tag
            self._carry[dropped] = EMPTY
            self._carry_tag[dropped] = 0
        toggle = np.flatnonzero(a == TOGGLE)
        if len(toggle):
            at, was = fwd[toggle], ahead[toggle]
            now = np.where(UNLOCKED_BY[was] == self._carry[toggle], UNLOCKED[was], TOGGLED[was])
            g[at] = now
            gone = now == EMPTY  # a toggled box is replaced by its (empty) contents
            self._goal_stale[toggle[gone & (tags[at] != 0)]] = True
            tags[at[gone]] = 0

        # BabyAI's verifier (after the action, before any slide).
        if self._verifier == GOTO:
            # minigrid refreshes obj_poss on every drop action; it changes only if a tracked
            # object moved (picked up, dropped, toggled away) since the last refresh
            refresh = drop[self._goal_stale[drop]]
            if len(refresh):
                self._goal[refresh] = self._tags[refresh] & GOTO_BITS
                self._goal_stale[refresh] = False
            success = self._verify_goto(self._goal.reshape(-1)[cell + self._delta[d]])
        elif self._verifier == PICKUP_VERIFIER:  # picked up, empty-handed, an object it names
            success = np.zeros(n, dtype=bool)
            success[pick] = (self._carry_tag[pick] & 1) != 0
        elif self._verifier == OPEN_VERIFIER:  # toggled a door it names, which is now open
            success = np.zeros(n, dtype=bool)
            if len(toggle):
                at = fwd[toggle]
                success[toggle] = ((tags[at] & 1) != 0) & codes.OPEN_DOOR[g[at]]
        else:  # PutNext: the object it moves dropped next to one it names as fixed
            success = np.zeros(n, dtype=bool)
            if len(dropped):
                at = fwd[dropped]
                near = tags[at + 1] | tags[at - 1] | tags[at + self._wp] | tags[at - self._wp]
                success[dropped] = ((dropped_tag & 2) != 0) & ((near & 1) != 0)

        # Phase 4: entry rules for the cell a forward move entered, then for a slide.
        mover = np.flatnonzero(moved)
        if len(mover):
            at = cell[mover]
            entered = prop_of[code_base[mover] + g[at]]
            died[mover[entered == TRAP]] = True
            self._sticky[mover[entered == STICKY]] = STICKY_WAIT
            slide = entered == SLIPPERY
            slider, beyond = mover[slide], at[slide] + self._delta[d[mover[slide]]]
            ok = PASSABLE[g[beyond]]
            slider, beyond = slider[ok], beyond[ok]
            if len(slider):
                cell[slider] = beyond
                entered = prop_of[code_base[slider] + g[beyond]]
                died[slider[entered == TRAP]] = True
                self._sticky[slider[entered == STICKY]] = STICKY_WAIT
        self._cell, self._dir = cell, d

        # Phase 5: reward, termination, truncation, failure.
        success &= ~died
        terminated = success | died
        truncated = self._steps >= self._max_steps
        reward = np.zeros(n)
        won = np.flatnonzero(success)
        reward[won] = 1 - 0.9 * (self._steps[won] / self._max_steps[won])
        failure = np.where(truncated, F_TIMEOUT, F_NONE)
        failure[won] = F_NONE
        failure[died] = F_TRAP

        # NEXT_STEP autoreset: envs whose episode ended last step start a new one instead.
        restart = self._autoreset
        if restart.any():
            self._reset_rows(np.flatnonzero(restart))
            reward[restart] = 0.0
            terminated[restart] = False
            truncated[restart] = False
            success[restart] = False
            failure[restart] = F_NONE
        self._autoreset = terminated | truncated
        obs = self._observe()
        return obs, reward, terminated, truncated, self._infos(success, failure)

    # -- internals ----------------------------------------------------------------------------

    def _check_actions(self, actions) -> np.ndarray:
        refuse_bools(actions)
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), "
                f"got {a.dtype} {a.shape}"
            )
        a = a.astype(np.int64, copy=False)
        if (a.view(np.uint64) >= NUM_ACTIONS).any():  # negatives wrap to huge values
            bad = a[(a < 0) | (a >= NUM_ACTIONS)][0]
            raise ValueError(f"invalid action {int(bad)}; valid: integers 0-6")
        return a

    def _verify_goto(self, faced: np.ndarray) -> np.ndarray:
        """BabyAI's go-to verifier and its sequences, given the go-to bits of the faced cell.

        The go-tos of the current group that are faced are latched as done; when the first
        group is complete the second is checked in the same step (as BabyAI's ``Before``
        re-verifies at once); success when the last group is complete.
        """
        first, second = self._program[:, 0], self._program[:, 1]
        self._done |= faced & np.where(self._second, second, first)
        first_done = ~self._second & ((self._done & first) == first)
        advance = first_done & (second != 0)
        self._second |= advance
        self._done |= np.where(advance, faced & second, 0).astype(np.uint8)
        return np.where(self._second, (self._done & second) == second, first_done)

    def _reset_rows(self, rows: np.ndarray) -> None:
        """Start new episodes in ``rows``: draw maps and text, pick bank entries, load them."""
        r = len(rows)
        eps, entry, tokens = self._stream.take(self.np_random, r)
        layout = self.bank.cells[entry]  # (r, h, w); slot k -> the floor of the k-th colour
        floors = codes.FLOOR_CODES[eps.colors]
        for slot in range(self._num_slots):
            is_slot = layout == codes.SLOT_BASE + slot
            layout[is_slot] = np.broadcast_to(floors[:, slot, None, None], layout.shape)[is_slot]
        inner = (rows, slice(PAD, PAD + self._h), slice(PAD, PAD + self._w))
        self._grid[inner] = layout
        self._tags[inner] = self.bank.tags[entry]
        self._goal[inner] = self._bank_goal[entry]
        self._goal_stale[rows] = False
        self._program[rows] = self.bank.program[entry]
        self._done[rows] = 0
        self._second[rows] = False
        self._cell[rows] = self._row_base[rows] + self._bank_cell[entry]
        self._dir[rows] = self._bank_dir[entry]
        self._carry[rows] = EMPTY
        self._carry_tag[rows] = 0
        self._sticky[rows] = 0
        self._magic_color[rows] = -1
        self._magic_count[rows] = 0
        self._steps[rows] = 0
        self._max_steps[rows] = self._bank_max_steps[entry]
        row = np.arange(r)[:, None]
        props = np.full((r, codes.NUM_COLORS + 1), NONE, dtype=np.int64)
        props[row, eps.colors] = eps.props
        self._props[rows] = props
        by_code = np.full((r, 256), NONE, dtype=np.int8)
        by_code[row, floors] = eps.props
        self._prop_of_code[rows] = by_code
        self._mission[rows] = self._bank_mission[entry]
        self._description[rows] = tokens
        self._held_out[rows] = eps.held_out
        self._entry[rows] = entry
        if self._episodes is None:
            self._episodes = eps.subset(np.zeros(self.num_envs, dtype=np.int64))
        self._episodes.assign(rows, eps)

    def _observe(self) -> dict[str, np.ndarray]:
        image = observe(self._grid.reshape(-1), self._cell, self._dir, self._carry, self._offsets)
        return {
            "image": image,
            "direction": self._dir.copy(),
            "mission": self._mission.astype(np.int64),
            "description": self._description.astype(np.int64),
        }

    def _map_colors(self, envs: np.ndarray) -> np.ndarray:
        """(len(envs), K) colour indices of the maps of ``envs``' episodes, in map order."""
        return self._episodes.colors[envs]

    def _floor_info(self, present: np.ndarray | None) -> dict[str, np.ndarray]:
        """``info["floor_properties"]`` as SyncVectorEnv builds it from the reported envs.

        One object array of property names per colour that some reported env's map holds (None
        where it does not), with its ``_colour`` mask. Keys come in order of first appearance:
        env order, then the order of that env's map.
        """
        if self.split != "Fixed":  # every map holds every colour, in the same order
            floor = {}
            for color, name in zip(self._info_colors, self._info_names, strict=True):
                values = PROPERTY_NAMES[self._props[:, color]]
                if present is not None:
                    values[~present] = None
                floor[name] = values
                has = np.ones(self.num_envs, bool) if present is None else present.copy()
                floor[f"_{name}"] = has
            return floor
        props = self._props[:, self._info_colors]  # (N, C) property ids, NONE: not in the map
        has = props != NONE
        if present is not None:
            has &= present[:, None]
        seen = np.flatnonzero(has.any(axis=0))
        first = has.argmax(axis=0)[seen]  # the first env whose map holds the colour
        place = (self._map_colors(first) == self._info_colors[seen, None]).argmax(axis=1)
        has_t = np.ascontiguousarray(has.T)
        floor = {}
        for c in seen[np.lexsort((place, first))]:
            values = PROPERTY_NAMES[props[:, c]]  # None where the map has no such colour
            if present is not None:
                values[~has_t[c]] = None
            name = self._info_names[c]
            floor[name], floor[f"_{name}"] = values, has_t[c]
        return floor

    def _infos(
        self,
        success: np.ndarray,
        failure: np.ndarray,
        present: np.ndarray | None = None,
        tile: np.ndarray | None = None,
    ):
        """The info dict in gymnasium's vector convention (as SyncVectorEnv builds it).

        ``success`` (bool) and ``failure`` (F_* codes) per env; ``present`` the envs reported
        (a reset's mask; None: all); ``tile`` the property ids under the agents, computed from
        the state when not given. The arrays returned are fresh (``success`` is copied).
        """
        n = self.num_envs
        mask = np.ones(n, dtype=bool) if present is None else present
        if tile is None:
            under = self._grid.reshape(-1)[self._cell]
            tile = self._prop_of_code.reshape(-1)[self._code_base + under]
        tile = PROPERTY_NAMES[tile]
        fail = FAILURES[failure]
        held = self._held_out.copy()
        succ = success.copy()
        if present is not None:
            tile[~mask] = None
            fail[~mask] = None
            held[~mask] = False
            succ[~mask] = False
        return {
            "floor_properties": self._floor_info(present), "_floor_properties": mask.copy(),
            "held_out": held, "_held_out": mask.copy(),
            "tile": tile, "_tile": mask.copy(),
            "success": succ, "_success": mask.copy(),
            "failure": fail, "_failure": mask.copy(),
        }  # fmt: skip

    # -- for tests and tools ------------------------------------------------------------------

    def episode_state(self, i: int) -> dict[str, Any]:
        """What defines env ``i``'s current episode: bank entry, seed, map and text."""
        eps, k = self._episode_of(i)
        entry = int(self._entry[i])
        return {
            "entry": entry,
            "seed": int(self.bank.seeds[entry]),
            "trap_mask": int(self.bank.trap_mask[entry]),
            "floor_map": eps.floor_map(k),
            "sentences": eps.sentences(k),
            "held_out": bool(eps.held_out[k]),
        }

    def _episode_of(self, i: int) -> tuple[Episodes, int]:
        """Where env ``i``'s episode is held: ``(episodes, row)``."""
        return self._episodes, i
