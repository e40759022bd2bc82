"""The batched engine compiled with numba: the numpy engine's step and view as one loop over envs.

:class:`NumbaBatchedEnv` keeps :class:`~babyaipp.engine.numpy_env.NumpyBatchedEnv`'s state
arrays, tables and info conventions, and replaces the whole-batch array operations of a step
(phases 1–5, the autoresets and the 7×7 view of :mod:`babyaipp.engine.view`) by one
``numba.njit`` kernel, :func:`_kernel`, that runs each env's step from start to end. At a few
hundred envs the numpy engine's time is mostly the fixed cost of its many small array
operations; the kernel has one call per step.

**Resets.** New episodes come from a pool of episodes drawn ahead from the same
:class:`~babyaipp.engine.sampling.EpisodeStream` (whole chunks, the numpy engine's draws in the
same order); the kernel gives the next pool rows to the envs that restart, in env order, so
the same seed and actions give the same episodes as the numpy engine. The host tops the pool
up before a step could run out of unread rows (a step reads at most ``num_envs``).

Importing this module imports numba (the first call compiles the kernel, or loads it from
numba's cache next to this file); ``import babyaipp`` never does. Build it through
``make_vector_env(..., backend="numba")``; ``pip install "babyaipp[numba]"``.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from gymnasium import spaces

from babyaipp.catalog import FamilySpec
from babyaipp.engine import codes
from babyaipp.engine.bank import GOTO_BITS, VERIFIERS, LayoutBank
from babyaipp.engine.codes import EMPTY, MAGIC, NONE, OPAQUE_BIT, SLIPPERY, STICKY, TRAP
from babyaipp.engine.numpy_env import (
    _ACTION_TABLE,
    _TURN_TABLE,
    DONE,
    DROP,
    F_NONE,
    F_TIMEOUT,
    F_TRAP,
    FORWARD,
    NUM_ACTIONS,
    PICKUP_ACT,
    STICKY_WAIT,
    TOGGLE,
    NumpyBatchedEnv,
)
from babyaipp.engine.sampling import Episodes
from babyaipp.engine.view import AGENT_I, AGENT_J, PAD, VIEW, visibility_table

# The verifier kinds as the kernel's integers (their index in bank.VERIFIERS).
V_GOTO, V_PUTNEXT, V_PICKUP, V_OPEN = range(len(VERIFIERS))
# numba's cache is keyed on this file alone, so the constants the kernel bakes in are restated
# here: a change elsewhere fails loudly (edit the values here too, which recompiles).
_BAKED = (VERIFIERS, EMPTY, codes.UNSEEN, codes.SLOT_BASE, OPAQUE_BIT, GOTO_BITS, NONE)
_BAKED += (TRAP, STICKY, SLIPPERY, MAGIC, DONE, DROP, FORWARD, PICKUP_ACT, TOGGLE, NUM_ACTIONS)
_BAKED += (STICKY_WAIT, F_NONE, F_TRAP, F_TIMEOUT, PAD, VIEW, AGENT_I, AGENT_J)
assert _BAKED == (
    ("goto", "putnext", "pickup", "open"), 1, 0, 64, 128, 15, -1,
    0, 1, 4, 5, 6, 4, 2, 3, 5, 7,
    2, 0, 1, 3, 6, 7, 3, 6,
), f"engine constants changed: update _BAKED here (it recompiles the kernel): {_BAKED}"  # fmt: skip


class NumbaBatchedEnv(NumpyBatchedEnv):
    """The numpy engine with each step (and reset) one compiled loop over the envs.

    Same arguments, spaces, observations, rewards, flags, infos and episodes as
    :class:`~babyaipp.engine.numpy_env.NumpyBatchedEnv` (the tests run the two in lockstep);
    ``image`` is C-contiguous here. See the module docstring.
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
        super().__init__(num_envs, spec, split, bank, single_observation_space, **env_kwargs)
        n = self.num_envs
        self._verifier_id = VERIFIERS.index(self._verifier)
        self._vis_table = visibility_table().astype(np.int64)  # typed like the row bits
        self._bank_cells = np.ascontiguousarray(bank.cells)
        self._bank_tags = np.ascontiguousarray(bank.tags)
        self._bank_program = np.ascontiguousarray(bank.program)
        self._slot_env = np.zeros(n, dtype=np.int64)  # pool row of each env's episode
        self._clear_pool()

    # -- gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset every env (or those in ``options["reset_mask"]``); ``seed`` seeds the batch."""
        if self._reseed(seed):
            self._drop_unread()
        mask = self._reset_mask(options)
        self._was_reset = True
        actions = np.zeros(self.num_envs, dtype=np.int64)  # unused: no env steps
        obs, _, _, _, success, failure, tile = self._run(False, actions, mask)
        return obs, self._infos(success, failure, present=mask, tile=tile)

    def step(self, actions):
        if not self._was_reset:
            raise RuntimeError("call reset() before step()")
        a = self._check_actions(actions)
        # NEXT_STEP autoreset: envs whose episode ended last step start a new one instead.
        # (the kernel reads each env's flag before it writes the new one)
        obs, reward, terminated, truncated, success, failure, tile = self._run(
            True, a, self._autoreset
        )
        return obs, reward, terminated, truncated, self._infos(success, failure, tile=tile)

    # -- internals ----------------------------------------------------------------------------

    def _run(self, stepping: bool, actions: np.ndarray, restart: np.ndarray):
        """One kernel call: step (unless ``stepping`` is False) or restart every env, observe."""
        n = self.num_envs
        if len(self._pool_entry) - self._pool_read < n:
            self._top_up()
        # contiguous, so that a strided array does not compile another kernel specialisation
        actions, restart = np.ascontiguousarray(actions), np.ascontiguousarray(restart)
        image = np.empty((n, VIEW, VIEW, 3), dtype=np.uint8)
        direction = np.empty(n, dtype=np.int64)
        mission = np.empty(self._mission.shape, dtype=np.int64)
        description = np.empty(self._description.shape, dtype=np.int64)
        reward = np.zeros(n)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        success = np.zeros(n, dtype=bool)
        failure = np.zeros(n, dtype=np.int64)
        tile = np.empty(n, dtype=np.int64)
        self._pool_read = _kernel(
            stepping, actions, restart, self._verifier_id, self._pool_read,
            # state
            self._grid, self._tags, self._goal, self._goal_stale, self._program, self._done,
            self._second, self._cell, self._dir, self._carry, self._carry_tag, self._sticky,
            self._magic_color, self._magic_count, self._steps, self._max_steps, self._props,
            self._prop_of_code, self._mission, self._description, self._held_out, self._entry,
            self._slot_env, self._autoreset,
            # episodes drawn ahead
            self._pool_entry, self._pool_colors, self._pool_props, self._pool_tokens,
            self._pool_held_out,
            # bank
            self._bank_cells, self._bank_tags, self._bank_program, self._bank_cell,
            self._bank_dir, self._bank_mission, self._bank_max_steps,
            # tables
            codes.PASSABLE, codes.PICKUP, codes.OPEN_DOOR, codes.FLOOR_COLOR, codes.TOGGLED,
            codes.UNLOCKED_BY, codes.UNLOCKED, codes.ENCODING, codes.FLOOR_CODES, _ACTION_TABLE,
            _TURN_TABLE, self._vis_table, self._offsets,
            # outputs
            image, direction, mission, description, reward, terminated, truncated, success,
            failure, tile,
        )  # fmt: skip
        obs = {
            "image": image,
            "direction": direction,
            "mission": mission,
            "description": description,
        }
        return obs, reward, terminated, truncated, success, failure, tile

    def _clear_pool(self) -> None:
        """An empty pool (at creation)."""
        k = self._num_slots
        self._pool_episodes: Episodes | None = None
        self._pool_entry = np.zeros(0, dtype=np.int64)
        self._pool_colors = np.zeros((0, k), dtype=np.int64)
        self._pool_props = np.zeros((0, k), dtype=np.int64)
        self._pool_tokens = np.zeros((0, *self._description.shape[1:]), dtype=np.uint8)
        self._pool_held_out = np.zeros(0, dtype=bool)
        self._pool_read = 0  # next unread row

    def _drop_unread(self) -> None:
        """Forget the episodes drawn ahead (the generator was re-seeded); the rows envs use
        stay, for the envs a masked reset does not restart."""
        keep = slice(0, self._pool_read)
        if self._pool_episodes is not None:
            self._pool_episodes = self._pool_episodes.subset(keep)
        self._pool_entry = self._pool_entry[keep]
        self._pool_colors = self._pool_colors[keep]
        self._pool_props = self._pool_props[keep]
        self._pool_tokens = self._pool_tokens[keep]
        self._pool_held_out = self._pool_held_out[keep]

    def _top_up(self) -> None:
        """Drop the pool rows no env uses any more, then append stream chunks until at least
        ``num_envs`` rows are unread (a step restarts at most ``num_envs`` envs)."""
        oldest = min(self._pool_read, int(self._slot_env.min()))
        if self._pool_episodes is not None and oldest:
            self._pool_episodes = self._pool_episodes.subset(slice(oldest, None))
            self._pool_entry = self._pool_entry[oldest:]
            self._pool_tokens = self._pool_tokens[oldest:]
            self._slot_env -= oldest
            self._pool_read -= oldest
        eps = self._pool_episodes
        entries, tokens = [self._pool_entry], [self._pool_tokens]
        unread = len(self._pool_entry) - self._pool_read
        while unread < self.num_envs:
            chunk, entry, chunk_tokens = self._stream.next_chunk(self.np_random)
            eps = chunk if eps is None else eps.concat(chunk)
            entries.append(entry)
            tokens.append(chunk_tokens.astype(np.uint8))  # token ids are < 256, as numpy_env
            unread += len(entry)
        self._pool_episodes = eps
        self._pool_entry = np.concatenate(entries)
        self._pool_tokens = np.concatenate(tokens)
        self._pool_colors = np.ascontiguousarray(eps.colors, dtype=np.int64)
        self._pool_props = np.ascontiguousarray(eps.props, dtype=np.int64)
        self._pool_held_out = np.ascontiguousarray(eps.held_out, dtype=bool)

    def _map_colors(self, envs: np.ndarray) -> np.ndarray:
        return self._pool_colors[self._slot_env[envs]]

    def _episode_of(self, i: int) -> tuple[Episodes, int]:
        return self._pool_episodes, int(self._slot_env[i])


@numba.njit(cache=True)
def _kernel(
    stepping, actions, restart, verifier, read,
    grid, tags, goal, goal_stale, program, done, second, cell, dirs, carry, carry_tag, sticky,
    magic_color, magic_count, steps, max_steps, props, prop_of_code, mission, description,
    held_out, entry, slot_env, autoreset,
    pool_entry, pool_colors, pool_props, pool_tokens, pool_held_out,
    bank_cells, bank_tags, bank_program, bank_cell, bank_dir, bank_mission, bank_max_steps,
    passable, can_pickup, open_door, floor_color, toggled, unlocked_by, unlocked, encoding,
    floor_codes, action_table, turn_table, vis_table, offsets,
    image, direction, mission_out, description_out, reward, terminated, truncated, success,
    failure, tile,
):  # fmt: skip
    """Step (``stepping``) or only restart the envs, then observe every env; returns ``read``.

    Envs in ``restart`` start the next pool episodes (from row ``read``, in env order); with
    ``stepping`` the others take their action, exactly as ``NumpyBatchedEnv.step``'s phases,
    one env at a time. The state arrays are updated in place and the outputs (observation,
    reward, flags, success, failure code, property id under the agent) written; restarted envs
    report reward 0 and no flag, as gymnasium's NEXT_STEP autoreset.
    """
    n, hp, wp = grid.shape
    c = hp * wp
    g = grid.reshape(-1)
    tg = tags.reshape(-1)
    gl = goal.reshape(-1)
    k = pool_colors.shape[1]
    _, h, w = bank_cells.shape
    delta = np.array([1, wp, -1, -wp])
    row_codes = np.empty(VIEW, dtype=np.uint8)  # one view row's cells
    for i in range(n):
        base = i * c
        if restart[i]:
            # -- a new episode: the pool row's map on the bank entry's layout ------------------
            r = read
            read += 1
            e = pool_entry[r]
            for y in range(h):
                row = base + (y + PAD) * wp + PAD
                for x in range(w):
                    code = bank_cells[e, y, x]
                    if code >= codes.SLOT_BASE and code < codes.SLOT_BASE + k:
                        code = floor_codes[pool_colors[r, code - codes.SLOT_BASE]]
                    g[row + x] = code
                    tg[row + x] = bank_tags[e, y, x]
                    gl[row + x] = bank_tags[e, y, x] & GOTO_BITS
            goal_stale[i] = False
            program[i, 0] = bank_program[e, 0]
            program[i, 1] = bank_program[e, 1]
            done[i] = 0
            second[i] = False
            cell[i] = base + bank_cell[e]
            dirs[i] = bank_dir[e]
            carry[i] = EMPTY
            carry_tag[i] = 0
            sticky[i] = 0
            magic_color[i] = -1
            magic_count[i] = 0
            steps[i] = 0
            max_steps[i] = bank_max_steps[e]
            props[i, :] = NONE
            prop_of_code[i, :] = NONE
            for s in range(k):
                props[i, pool_colors[r, s]] = pool_props[r, s]
                prop_of_code[i, floor_codes[pool_colors[r, s]]] = pool_props[r, s]
            mission[i, :] = bank_mission[e, :]
            description[i, :, :] = pool_tokens[r, :, :]
            held_out[i] = pool_held_out[r]
            entry[i] = e
            slot_env[i] = r
            autoreset[i] = False
        elif stepping:
            here = cell[i]
            d = dirs[i]
            # Phase 1: the tile the step starts on.
            start_code = g[here]
            start_prop = prop_of_code[i, start_code]
            # Phase 2: magic (the second step in a row on a colour pushes south), then
            # fliplr, flipud and the sticky hold as one table lookup.
            died = False
            if start_prop == MAGIC:
                color = floor_color[start_code]
                count = magic_count[i] + 1 if magic_color[i] == color else 1
                magic_count[i] = count
                magic_color[i] = color
                if count % 2 == 0 and passable[g[here + wp]]:
                    here += wp
                    entered = prop_of_code[i, g[here]]
                    died = entered == TRAP
                    if entered == STICKY:
                        sticky[i] = STICKY_WAIT
            else:
                magic_count[i] = 0
                magic_color[i] = -1
            held = 1 if sticky[i] > 0 else 0
            sticky[i] -= held
            rule = ((start_prop + 1) * 2 + held) * NUM_ACTIONS + actions[i]
            act = action_table[rule]
            turn = turn_table[rule]
            if died:  # pushed into a trap: no action, no verification
                act = DONE
                turn = 0

            # Phase 3: minigrid's action.
            steps[i] += 1
            d = (d + turn) & 3
            fwd = here + delta[d]
            ahead = g[fwd]
            moved = act == FORWARD and passable[ahead]
            if moved:
                here = fwd
            picked = dropped = toggled_now = False
            dropped_tag = 0
            if act == PICKUP_ACT and can_pickup[ahead] and carry[i] == EMPTY:
                picked = True
                carry[i] = ahead
                carry_tag[i] = tg[fwd]
                if tg[fwd] != 0:
                    goal_stale[i] = True
                g[fwd] = EMPTY
                tg[fwd] = 0
            elif act == DROP and ahead == EMPTY and carry[i] != EMPTY:
                dropped = True
                dropped_tag = carry_tag[i]
                if dropped_tag != 0:
                    goal_stale[i] = True
                g[fwd] = carry[i]
                tg[fwd] = dropped_tag
                carry[i] = EMPTY
                carry_tag[i] = 0
            elif act == TOGGLE:
                toggled_now = True
                now = unlocked[ahead] if unlocked_by[ahead] == carry[i] else toggled[ahead]
                g[fwd] = now
                if now == EMPTY:  # a toggled box is replaced by its (empty) contents
                    if tg[fwd] != 0:
                        goal_stale[i] = True
                    tg[fwd] = 0

            # BabyAI's verifier (after the action, before any slide).
            won = False
            if verifier == V_GOTO:
                # minigrid refreshes its goal positions on every drop action
                if act == DROP and goal_stale[i]:
                    for q in range(base, base + c):
                        gl[q] = tg[q] & GOTO_BITS
                    goal_stale[i] = False
                faced = gl[here + delta[d]]
                first, then = program[i, 0], program[i, 1]
                done[i] |= faced & (then if second[i] else first)
                first_done = not second[i] and (done[i] & first) == first
                if first_done and then != 0:  # the second group, checked at once
                    second[i] = True
                    done[i] |= faced & then
                won = (done[i] & then) == then if second[i] else first_done
            elif verifier == V_PICKUP:  # picked up an object it names
                won = picked and (carry_tag[i] & 1) != 0
            elif verifier == V_OPEN:  # toggled a door it names, which is now open
                won = toggled_now and (tg[fwd] & 1) != 0 and open_door[g[fwd]]
            elif dropped:  # PutNext: the object it moves dropped next to one it names as fixed
                near = tg[fwd + 1] | tg[fwd - 1] | tg[fwd + wp] | tg[fwd - wp]
                won = (dropped_tag & 2) != 0 and (near & 1) != 0

            # Phase 4: entry rules for the cell a forward move entered, then for a slide.
            if moved:
                entered = prop_of_code[i, g[here]]
                if entered == TRAP:
                    died = True
                elif entered == STICKY:
                    sticky[i] = STICKY_WAIT
                elif entered == SLIPPERY and passable[g[here + delta[d]]]:
                    here += delta[d]
                    entered = prop_of_code[i, g[here]]
                    if entered == TRAP:
                        died = True
                    elif entered == STICKY:
                        sticky[i] = STICKY_WAIT
            cell[i] = here
            dirs[i] = d

            # Phase 5: reward, termination, truncation, failure.
            won = won and not died
            truncated[i] = steps[i] >= max_steps[i]
            terminated[i] = won or died
            success[i] = won
            if won:
                reward[i] = 1 - 0.9 * (steps[i] / max_steps[i])
            if died:
                failure[i] = F_TRAP
            elif truncated[i] and not won:
                failure[i] = F_TIMEOUT
            else:
                failure[i] = F_NONE
            autoreset[i] = terminated[i] or truncated[i]

        # -- observation: minigrid's 7x7 view with occlusion (view.py) ----------------------
        here = cell[i]
        d = dirs[i]
        incoming = 1 << AGENT_I
        for j in range(VIEW - 1, -1, -1):  # rows from the agent's outwards, as process_vis
            see = 0
            for a in range(VIEW):
                row_codes[a] = g[here + offsets[d, j, a]]
                if row_codes[a] < OPAQUE_BIT:
                    see |= 1 << a
            out = vis_table[incoming | (see << VIEW)]
            incoming = out >> VIEW
            for a in range(VIEW):
                code = row_codes[a] if (out >> a) & 1 else codes.UNSEEN
                image[i, a, j, 0] = encoding[code, 0]
                image[i, a, j, 1] = encoding[code, 1]
                image[i, a, j, 2] = encoding[code, 2]
        code = carry[i]  # the agent's own cell shows what it carries
        image[i, AGENT_I, AGENT_J, 0] = encoding[code, 0]
        image[i, AGENT_I, AGENT_J, 1] = encoding[code, 1]
        image[i, AGENT_I, AGENT_J, 2] = encoding[code, 2]
        direction[i] = d
        for q in range(mission.shape[1]):
            mission_out[i, q] = mission[i, q]
        for q in range(description.shape[1]):
            for t in range(description.shape[2]):
                description_out[i, q, t] = description[i, q, t]
        tile[i] = prop_of_code[i, g[here]]
    return read
