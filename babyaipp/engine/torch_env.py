"""The batched engine on torch: the numpy engine's step as masked tensor operations, on any device.

:class:`TorchBatchedEnv` holds the same state as :class:`~babyaipp.engine.numpy_env.
NumpyBatchedEnv` in tensors on ``device`` and runs the same phases; given the same bank, seed
and actions it returns the same episodes step for step (a test compares the two on every
engine family). It exists for GPUs: the environment, the policy and PPO can then all stay on
the device.

**No host synchronisation in** :meth:`TorchBatchedEnv.step`. Every phase is computed for every
env with ``torch.where`` masks (no ``nonzero``, no ``.any()``, no ``.item()``), including
autoreset: new episodes come from a pool of episodes drawn ahead on the host and uploaded in
chunks, consumed on the device through a cumulative sum over the envs that restart. The host
looks at the pool's read position only every :data:`POOL_CHECK_EVERY` steps (one small
copy) and tops the pool up so that it can never run dry in between. Actions given as a
device tensor are checked with an asynchronous device assertion.

**Outputs** are tensors on ``device``: observations (``image`` uint8, ``direction``,
``mission``, ``description`` int64), rewards float32, terminations and truncations bool. The
info dict holds tensors in gymnasium's vector convention (each key with a ``_key`` mask):
``success`` (bool), ``held_out`` (bool), ``failure`` (int64 index into
:data:`FAILURE_NAMES`: 0 none, 1 trap, 2 mission, 3 timeout) and ``tile`` (int64 property id,
:data:`babyaipp.engine.codes.PROPERTY_IDS`, -1 for none). ``floor_properties`` (strings) is not
built per step on the device; :meth:`TorchBatchedEnv.episode_state` gives it per env.

Importing this module imports torch; ``import babyaipp`` never does (build it through
``make_vector_env(..., backend="torch", device=...)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from babyaipp.catalog import FamilySpec
from babyaipp.engine import codes
from babyaipp.engine.bank import GOTO, GOTO_BITS, LayoutBank
from babyaipp.engine.bank import OPEN as OPEN_VERIFIER
from babyaipp.engine.bank import PICKUP as PICKUP_VERIFIER
from babyaipp.engine.base import BatchedEngine, refuse_bools
from babyaipp.engine.codes import EMPTY, MAGIC, NONE, SLIPPERY, STICKY, TRAP
from babyaipp.engine.numpy_env import (
    _ACTION_TABLE,
    _TURN_TABLE,
    DONE,
    DROP,
    F_NONE,
    F_TIMEOUT,
    F_TRAP,
    FAILURES,
    FORWARD,
    NUM_ACTIONS,
    PICKUP_ACT,
    STICKY_WAIT,
    TOGGLE,
)
from babyaipp.engine.view import AGENT_I, AGENT_J, PAD, VIEW, view_offsets, visibility_table

FAILURE_NAMES: tuple[str | None, ...] = tuple(FAILURES)
"""``info["failure"]`` codes: 0 none, 1 trap, 2 mission, 3 timeout (numpy_env's order)."""
POOL_CHECK_EVERY = 16
"""Steps between two looks of the host at the episode pool (each one copies two integers)."""


def _tensor(array: np.ndarray, device: torch.device, dtype: torch.dtype | None = None):
    return torch.tensor(np.asarray(array), device=device, dtype=dtype)  # a copy


class TorchBatchedEnv(BatchedEngine):
    """``num_envs`` episodes of one family and split, stepped as torch tensors on ``device``.

    Arguments as :class:`~babyaipp.engine.numpy_env.NumpyBatchedEnv`, plus ``device``. See the
    module docstring for the outputs and for how steps stay free of host synchronisation.
    """

    def __init__(
        self,
        num_envs: int,
        spec: FamilySpec,
        split: str,
        bank: LayoutBank,
        single_observation_space: spaces.Dict,
        *,
        device: str | torch.device = "cpu",
        **env_kwargs: Any,
    ):
        super().__init__(num_envs, spec, split, bank, single_observation_space, **env_kwargs)
        self.device = dev = torch.device(device)
        n, self._k = self.num_envs, self._num_slots
        c = self._hp * self._wp
        long = torch.int64

        # Lookup tables (codes.py, numpy_env.py, view.py) on the device.
        self._passable = _tensor(codes.PASSABLE, dev)
        self._pickup = _tensor(codes.PICKUP, dev)
        self._open_door = _tensor(codes.OPEN_DOOR, dev)
        self._floor_color = _tensor(codes.FLOOR_COLOR, dev)
        self._toggled = _tensor(codes.TOGGLED, dev)
        self._unlocked_by = _tensor(codes.UNLOCKED_BY, dev)
        self._unlocked = _tensor(codes.UNLOCKED, dev)
        self._encoding = _tensor(codes.ENCODING, dev)
        self._floor_codes = _tensor(codes.FLOOR_CODES, dev)
        self._action_table = _tensor(_ACTION_TABLE, dev)
        self._turn_table = _tensor(_TURN_TABLE, dev)
        self._vis_table = _tensor(visibility_table().astype(np.int64), dev)
        self._offsets = _tensor(view_offsets(self._wp)[:, :, :VIEW], dev)  # (4, 7 j, 7 i)
        self._bits = 1 << torch.arange(VIEW, device=dev)
        self._delta = torch.tensor([1, self._wp, -1, -self._wp], device=dev)
        self._arange = torch.arange(n, device=dev)

        # The bank on the device.
        x, y, d = bank.agent.astype(np.int64).T
        self._bank_cells = _tensor(bank.cells, dev)
        self._bank_tags = _tensor(bank.tags, dev)
        self._bank_cell = _tensor((y + PAD) * self._wp + (x + PAD), dev)
        self._bank_dir = _tensor(d, dev)
        self._bank_mission = _tensor(bank.mission, dev)
        self._bank_max_steps = _tensor(self._entry_max_steps(), dev)

        # State, as numpy_env (grids padded with walls, positions flat indices).
        self._grid = torch.full((n, self._hp, self._wp), codes.WALL, dtype=torch.uint8, device=dev)
        self._tags = torch.zeros((n, self._hp, self._wp), dtype=torch.uint8, device=dev)
        self._goal = torch.zeros((n, self._hp, self._wp), dtype=torch.uint8, device=dev)
        self._goal_stale = torch.zeros(n, dtype=torch.bool, device=dev)
        self._bank_program = _tensor(bank.program, dev)
        self._program = torch.zeros((n, 2), dtype=torch.uint8, device=dev)
        self._done = torch.zeros(n, dtype=torch.uint8, device=dev)
        self._second = torch.zeros(n, dtype=torch.bool, device=dev)
        self._row_base = self._arange * c
        self._code_base = self._arange * 256
        self._cell = torch.zeros(n, dtype=long, device=dev)
        self._dir = torch.zeros(n, dtype=long, device=dev)
        self._carry = torch.full((n,), EMPTY, dtype=torch.uint8, device=dev)
        self._carry_tag = torch.zeros(n, dtype=torch.uint8, device=dev)
        self._sticky = torch.zeros(n, dtype=long, device=dev)
        self._magic_color = torch.full((n,), -1, dtype=long, device=dev)
        self._magic_count = torch.zeros(n, dtype=long, device=dev)
        self._steps = torch.zeros(n, dtype=long, device=dev)
        self._max_steps = torch.ones(n, dtype=long, device=dev)
        self._prop_of_code = torch.full((n, 256), NONE, dtype=long, device=dev)
        self._mission = torch.zeros((n, bank.mission.shape[1]), dtype=long, device=dev)
        description_shape = single_observation_space["description"].shape
        self._description = torch.zeros((n, *description_shape), dtype=long, device=dev)
        self._held_out = torch.zeros(n, dtype=torch.bool, device=dev)
        self._autoreset = torch.zeros(n, dtype=torch.bool, device=dev)
        self._true = torch.ones(n, dtype=torch.bool, device=dev)
        # Host copies of what episode_state reports, refreshed lazily.
        self._slot_env = torch.zeros(n, dtype=long, device=dev)  # pool index of env's episode
        self._pool: dict[str, torch.Tensor] = {}
        self._host_chunks: list = []  # (stream index, Episodes) behind the pool, for tools
        self._pool_offset = 0  # stream index of pool row 0
        self._pool_read = torch.zeros((), dtype=long, device=dev)  # next unread pool row
        self._steps_since_check = 0

    # -- gymnasium API ------------------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset every env (or those in ``options["reset_mask"]``); ``seed`` seeds the batch."""
        if self._reseed(seed):
            self._pool, self._host_chunks, self._pool_offset = {}, [], 0
            self._pool_read.zero_()
            self._slot_env.zero_()
        mask = torch.as_tensor(self._reset_mask(options), device=self.device)
        self._top_up()
        self._restart(mask)
        self._autoreset &= ~mask
        self._was_reset = True
        zeros = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        failure = torch.zeros(self.num_envs, dtype=torch.int64, device=self.device)
        return self._observe(), self._infos(zeros, failure, mask)

    def step(self, actions):
        if not self._was_reset:
            raise RuntimeError("call reset() before step()")
        self._steps_since_check += 1
        if self._steps_since_check >= POOL_CHECK_EVERY:
            self._top_up()
        a = self._check_actions(actions)
        where = torch.where
        g = self._grid.view(-1)
        tags = self._tags.view(-1)
        prop_of = self._prop_of_code.view(-1)
        code_base = self._code_base
        passable = self._passable
        cell, d = self._cell, self._dir

        # Phase 1: the tile the step starts on.
        start_code = g[cell].long()
        start_prop = prop_of[code_base + start_code]

        # Phase 2: magic (may push south), then fliplr, flipud and the sticky hold.
        on_magic = start_prop == MAGIC
        color = self._floor_color[start_code]
        count = where(self._magic_color == color, self._magic_count + 1, 1)
        self._magic_count = where(on_magic, count, 0)
        self._magic_color = where(on_magic, color, -1)
        south = cell + self._wp
        push = on_magic & (self._magic_count % 2 == 0) & passable[g[south].long()]
        cell = where(push, south, cell)
        entered = prop_of[code_base + g[cell].long()]
        died = push & (entered == TRAP)
        self._sticky = where(push & (entered == STICKY), STICKY_WAIT, self._sticky)
        held = self._sticky > 0
        self._sticky = self._sticky - held.long()
        rule = ((start_prop + 1) * 2 + held.long()) * NUM_ACTIONS + a
        turn = where(died, 0, self._turn_table[rule])
        a = where(died, DONE, self._action_table[rule])

        # Phase 3: minigrid's action. Each env does one action, so the cell in front of the
        # agent is written once, with whatever pickup, drop or toggle left there.
        self._steps = self._steps + 1
        d = (d + turn) & 3
        fwd = cell + self._delta[d]
        ahead8 = g[fwd]
        ahead = ahead8.long()
        tag_ahead = tags[fwd]
        moved = (a == FORWARD) & passable[ahead]
        cell = where(moved, fwd, cell)
        carry = self._carry
        pick = (a == PICKUP_ACT) & self._pickup[ahead] & (carry == EMPTY)
        dropped = (a == DROP) & (ahead == EMPTY) & (carry != EMPTY)
        toggled = a == TOGGLE
        now = where(self._unlocked_by[ahead] == carry, self._unlocked[ahead], self._toggled[ahead])
        gone = toggled & (now == EMPTY)  # a toggled box leaves its (empty) contents
        tracked = (tag_ahead & 1) != 0
        dropped_tag = self._carry_tag
        moved_tagged = ((pick | gone) & (tag_ahead != 0)) | (dropped & (dropped_tag != 0))
        self._goal_stale |= moved_tagged
        g[fwd] = where(pick, EMPTY, where(dropped, carry, where(toggled, now, ahead8)))
        tags[fwd] = where(pick | gone, 0, where(dropped, dropped_tag, tag_ahead))
        self._carry = where(pick, ahead8, where(dropped, EMPTY, carry))
        self._carry_tag = where(pick, tag_ahead, where(dropped, 0, dropped_tag))

        # BabyAI's verifier (after the action, before any slide).
        if self._verifier == GOTO:
            refresh = (a == DROP) & self._goal_stale
            self._goal = where(refresh[:, None, None], self._tags & GOTO_BITS, self._goal)
            self._goal_stale &= ~refresh
            success = self._verify_goto(self._goal.view(-1)[cell + self._delta[d]])
        elif self._verifier == PICKUP_VERIFIER:  # picked up, empty-handed, an object it names
            success = pick & tracked
        elif self._verifier == OPEN_VERIFIER:  # toggled a door it names, which is now open
            success = toggled & tracked & self._open_door[g[fwd].long()]
        else:  # PutNext: the object it moves dropped next to one it names as fixed
            wp = self._wp
            near = tags[fwd + 1] | tags[fwd - 1] | tags[fwd + wp] | tags[fwd - wp]
            success = dropped & ((dropped_tag & 2) != 0) & ((near & 1) != 0)

        # Phase 4: entry rules for the cell a forward move entered, then for a slide.
        entered = prop_of[code_base + g[cell].long()]
        died |= moved & (entered == TRAP)
        self._sticky = where(moved & (entered == STICKY), STICKY_WAIT, self._sticky)
        beyond = cell + self._delta[d]
        slid = moved & (entered == SLIPPERY) & passable[g[beyond].long()]
        cell = where(slid, beyond, cell)
        entered = prop_of[code_base + g[cell].long()]
        died |= slid & (entered == TRAP)
        self._sticky = where(slid & (entered == STICKY), STICKY_WAIT, self._sticky)
        self._cell, self._dir = cell, d

        # Phase 5: reward, termination, truncation, failure.
        success &= ~died
        terminated = success | died
        truncated = self._steps >= self._max_steps
        fraction = self._steps.double() / self._max_steps.double()
        reward = where(success, 1 - 0.9 * fraction, 0.0).float()
        failure = where(truncated, F_TIMEOUT, F_NONE)
        failure = where(success, F_NONE, failure)
        failure = where(died, F_TRAP, failure)

        # NEXT_STEP autoreset: envs whose episode ended last step start a new one instead.
        restart = self._autoreset
        self._restart(restart)
        reward = where(restart, 0.0, reward)
        keep = ~restart
        terminated, truncated, success = terminated & keep, truncated & keep, success & keep
        failure = where(restart, F_NONE, failure)
        self._autoreset = terminated | truncated
        info = self._infos(success, failure, self._true)
        return self._observe(), reward, terminated, truncated, info

    # -- internals ----------------------------------------------------------------------------

    def _check_actions(self, actions) -> torch.Tensor:
        if torch.is_tensor(actions):
            a = actions
        else:
            refuse_bools(actions)
            a = torch.as_tensor(np.asarray(actions))
        if (
            a.shape != (self.num_envs,)
            or a.is_floating_point()
            or a.is_complex()
            or a.dtype == torch.bool
        ):
            raise ValueError(
                f"actions must be an integer array of shape ({self.num_envs},), "
                f"got {a.dtype} {tuple(a.shape)}"
            )
        a = a.to(self.device, torch.int64)
        valid = ((a >= 0) & (a < NUM_ACTIONS)).all()
        if a.device.type == "cpu":
            if not valid:
                bad = a[(a < 0) | (a >= NUM_ACTIONS)][0]
                raise ValueError(f"invalid action {int(bad)}; valid: integers 0-6")
        else:  # checked on the device, without waiting for it
            torch._assert_async(valid, "invalid action; valid: integers 0-6")
        return a

    def _top_up(self) -> None:
        """Make sure the pool holds unread episodes for POOL_CHECK_EVERY + 1 full steps.

        Drops the rows no env needs any more (one copy of two integers to the host), then
        appends chunks of the episode stream until enough are unread. Every step reads at most
        ``num_envs`` rows, so the pool cannot run dry before the next check.
        """
        self._steps_since_check = 0
        if self._pool:
            oldest = torch.minimum(self._pool_read, self._slot_env.min())
            read, oldest = torch.stack([self._pool_read, oldest]).tolist()
            if oldest:
                self._pool = {key: value[oldest:] for key, value in self._pool.items()}
                self._pool_offset += oldest
                self._slot_env -= oldest
                self._pool_read -= oldest
                self._host_chunks = [
                    (start, eps)
                    for start, eps in self._host_chunks
                    if start + len(eps) > self._pool_offset
                ]
            unread = len(self._pool["entry"]) - (read - oldest)
        else:
            unread = 0
        new: list[dict[str, np.ndarray]] = []
        end = self._pool_offset + (len(self._pool["entry"]) if self._pool else 0)
        while unread < (POOL_CHECK_EVERY + 1) * self.num_envs:
            eps, entry, tokens = self._stream.next_chunk(self.np_random)
            columns = {"entry": entry, "colors": eps.colors, "props": eps.props}
            new.append({**columns, "held_out": eps.held_out, "tokens": tokens})
            self._host_chunks.append((end, eps))
            end += len(entry)
            unread += len(entry)
        if not new:
            return
        parts = {key: _tensor(np.concatenate([c[key] for c in new]), self.device) for key in new[0]}
        if self._pool:
            parts = {key: torch.cat([self._pool[key], parts[key]]) for key in parts}
        self._pool = parts

    def _restart(self, mask: torch.Tensor) -> None:
        """Start new episodes in the envs of ``mask``, the next pool rows in env order."""
        where = torch.where
        rank = torch.cumsum(mask.long(), 0) - 1
        row = (self._pool_read + rank).clamp(min=0)  # envs not in mask read a harmless row
        self._pool_read += mask.long().sum()
        pool = self._pool
        entry = pool["entry"][row]
        colors, props = pool["colors"][row], pool["props"][row]
        self._slot_env = where(mask, row, self._slot_env)
        m1, m3 = mask[:, None], mask[:, None, None]

        # The layout: bank cells, slot codes replaced by the floor code of the slot's colour.
        layout = self._bank_cells[entry]  # (N, h, w) uint8, kept narrow: N can be 10^5
        floors = self._floor_codes[colors]  # (N, K): the floor code of each slot
        for slot in range(self._k):
            layout = where(layout == codes.SLOT_BASE + slot, floors[:, slot, None, None], layout)
        inner = (slice(None), slice(PAD, PAD + self._h), slice(PAD, PAD + self._w))
        self._grid[inner] = where(m3, layout, self._grid[inner])
        bank_tags = self._bank_tags[entry]
        self._tags[inner] = where(m3, bank_tags, self._tags[inner])
        self._goal[inner] = where(m3, bank_tags & GOTO_BITS, self._goal[inner])
        self._goal_stale &= ~mask
        self._program = where(m1, self._bank_program[entry], self._program)
        self._done = where(mask, 0, self._done)
        self._second &= ~mask
        self._cell = where(mask, self._row_base + self._bank_cell[entry], self._cell)
        self._dir = where(mask, self._bank_dir[entry], self._dir)
        self._carry = where(mask, EMPTY, self._carry)
        self._carry_tag = where(mask, 0, self._carry_tag)
        self._sticky = where(mask, 0, self._sticky)
        self._magic_color = where(mask, -1, self._magic_color)
        self._magic_count = where(mask, 0, self._magic_count)
        self._steps = where(mask, 0, self._steps)
        self._max_steps = where(mask, self._bank_max_steps[entry], self._max_steps)
        by_code = torch.full_like(self._prop_of_code, NONE)
        by_code.scatter_(1, self._floor_codes[colors].long(), props)
        self._prop_of_code = where(m1, by_code, self._prop_of_code)
        self._mission = where(m1, self._bank_mission[entry].long(), self._mission)
        self._description = where(m3, pool["tokens"][row], self._description)
        self._held_out = where(mask, pool["held_out"][row], self._held_out)

    def _verify_goto(self, faced: torch.Tensor) -> torch.Tensor:
        """Go-to instructions and their sequences, as ``NumpyBatchedEnv._verify_goto``."""
        first, second = self._program[:, 0], self._program[:, 1]
        self._done |= faced & torch.where(self._second, second, first)
        first_done = ~self._second & ((self._done & first) == first)
        advance = first_done & (second != 0)
        self._second |= advance
        self._done |= torch.where(advance, faced & second, 0)
        return torch.where(self._second, (self._done & second) == second, first_done)

    def _observe(self) -> dict[str, torch.Tensor]:
        """The batch of observations: minigrid's view and encoding (see view.py)."""
        n, g = self.num_envs, self._grid.view(-1)
        cells = g[self._offsets[self._dir] + self._cell[:, None, None]]  # (N, 7 j, 7 i) uint8
        see = ((cells < codes.OPAQUE_BIT).long() * self._bits).sum(-1)  # (N, 7): bit i per row
        visible = []
        incoming = torch.full((n,), 1 << AGENT_I, dtype=torch.int64, device=self.device)
        for j in range(VIEW - 1, -1, -1):  # process_vis, one table lookup per row
            out = self._vis_table[incoming | (see[:, j] << VIEW)]
            visible.append((out[:, None] & self._bits) != 0)
            incoming = out >> VIEW
        mask = torch.stack(visible[::-1], dim=1)  # (N, 7 j, 7 i)
        cells = torch.where(mask, cells, codes.UNSEEN).transpose(1, 2).contiguous()  # [i, j]
        cells[:, AGENT_I, AGENT_J] = self._carry
        return {
            "image": self._encoding[cells.long()],
            "direction": self._dir.clone(),
            "mission": self._mission.clone(),
            "description": self._description.clone(),
        }

    def _infos(self, success, failure, mask) -> dict[str, torch.Tensor]:
        under = self._grid.view(-1)[self._cell].long()
        tile = self._prop_of_code.view(-1)[self._code_base + under]
        return {
            "held_out": self._held_out & mask, "_held_out": mask.clone(),
            "tile": torch.where(mask, tile, NONE), "_tile": mask.clone(),
            "success": success & mask, "_success": mask.clone(),
            "failure": torch.where(mask, failure, F_NONE), "_failure": mask.clone(),
        }  # fmt: skip

    # -- for tests and tools ------------------------------------------------------------------

    def episode_state(self, i: int) -> dict[str, Any]:
        """What defines env ``i``'s current episode: bank entry, seed, map and text."""
        row = int(self._slot_env[i])
        index = self._pool_offset + row
        start, eps = next((s, e) for s, e in self._host_chunks if s <= index < s + len(e))
        k = index - start
        entry = int(self._pool["entry"][row])
        return {
            "entry": entry,
            "seed": int(self.bank.seeds[entry]),
            "trap_mask": int(self.bank.trap_mask[entry]),
            "floor_map": eps.floor_map(k),
            "sentences": eps.sentences(k),
            "held_out": bool(eps.held_out[k]),
        }
