"""The mission as a list of tasks, each planned with :func:`babyaipp.oracle.search.find_plan`.

BabyAI's instruction objects (``env.instrs``: go to, pick up, open, put next to, and the
sequences before / after / and) become tasks, in the order they must be done
(:func:`tasks_for`). A task's :meth:`Task.plan` returns one of:

- a :class:`~babyaipp.oracle.search.Plan` whose last action completes the task;
- a list of tasks that replace it (e.g. drop what you carry, then pick up);
- None when no plan exists from here (the oracle then looks for a locked door or an object in
  the way; see :mod:`babyaipp.oracle.agent`).

This plays the role of the subgoals of minigrid's BabyAI bot, with full knowledge of the grid
and the floor dynamics in the navigation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    AndInstr,
    BeforeInstr,
    GoToInstr,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)

from babyaipp.dynamics import DIR_TO_VEC, Pos
from babyaipp.oracle.belief import Belief
from babyaipp.oracle.search import DROP, PICKUP, TOGGLE, Goal, Plan


class Planner(Protocol):
    """What a task needs of the planner that runs it (:class:`babyaipp.oracle.agent.Oracle`).

    Tasks see the planner only through this interface, so this module never imports the
    agent: the dependency goes one way, agent -> tasks.
    """

    env: Any
    """The unwrapped minigrid env (grid, agent pose, what the agent carries)."""
    belief: Belief

    def plan_to(self, goal: Goal, obstacles: frozenset[Pos] = ...) -> Plan | None: ...


NEIGHBOURS_4 = DIR_TO_VEC
RING_8 = ((-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0))


class Task:
    """One thing to achieve; see the module docstring for what :meth:`plan` returns.

    A task that plans a single goal sets ``action`` (the completing action; None for "go to")
    and :meth:`targets`; its :meth:`goal` is what the oracle's fallback plans for.
    """

    action: int | None = None

    def plan(self, oracle: Planner) -> Plan | list[Task] | None:
        return oracle.plan_to(self.goal(oracle))

    def targets(self, oracle: Planner) -> set[Pos]:
        """The cells the agent must face when it takes :attr:`action`."""
        return set()

    def goal(self, oracle: Planner) -> Goal:
        return Goal(frozenset(self.targets(oracle)), self.action)

    def achieved(self, oracle: Planner) -> bool:
        """Checked after the plan's last action ran as predicted."""
        return True

    def __repr__(self) -> str:
        return type(self).__name__


class GoTo(Task):
    """Face an object of ``desc`` (BabyAI checks the positions it recorded: ``obj_poss``)."""

    def __init__(self, desc):
        self.desc = desc

    def targets(self, oracle: Planner) -> set[Pos]:
        return {tuple(p) for p in self.desc.obj_poss}

    def __repr__(self) -> str:
        return f"GoTo({self.desc})"


class Pickup(Task):
    """Pick up one of ``objects`` (hands are freed first)."""

    action = PICKUP

    def __init__(self, objects: Iterable):
        self.objects = list(objects)

    def targets(self, oracle: Planner) -> set[Pos]:
        grid = oracle.env.grid
        return {
            tuple(o.cur_pos)
            for o in self.objects
            if o.cur_pos is not None and grid.get(*o.cur_pos) is o
        }

    def plan(self, oracle: Planner):
        carrying = oracle.env.carrying
        if carrying is not None:
            if any(carrying is o for o in self.objects):
                return []  # already holding one
            return [DropAway(), self]
        return oracle.plan_to(self.goal(oracle))

    def achieved(self, oracle: Planner) -> bool:
        return any(oracle.env.carrying is o for o in self.objects)

    def __repr__(self) -> str:
        return f"Pickup({[f'{o.color} {o.type}' for o in self.objects]})"


class DropNextTo(Task):
    """Drop what is carried on an empty cell beside an object of ``desc``."""

    action = DROP

    def __init__(self, desc):
        self.desc = desc

    def targets(self, oracle: Planner) -> set[Pos]:
        grid = oracle.env.grid
        cells = set()
        for x, y in self.desc.obj_poss:
            for dx, dy in NEIGHBOURS_4:
                cell = (x + dx, y + dy)
                if _inside(grid, cell) and grid.get(*cell) is None:
                    cells.add(cell)
        return cells

    def achieved(self, oracle: Planner) -> bool:
        return oracle.env.carrying is None

    def __repr__(self) -> str:
        return f"DropNextTo({self.desc})"


class DropAway(Task):
    """Drop what is carried where it blocks nothing (not beside a door or an object, and not
    cutting its neighbourhood in two, like the BabyAI bot's choice), off ``avoid``."""

    action = DROP

    def __init__(self, avoid: Iterable[Pos] = ()):
        self.avoid = set(avoid)

    def targets(self, oracle: Planner) -> set[Pos]:
        good = _drop_cells(oracle, self.avoid, strict=True)
        return good or _drop_cells(oracle, self.avoid, strict=False)

    def plan(self, oracle: Planner):
        if oracle.env.carrying is None:
            return []
        good = _drop_cells(oracle, self.avoid, strict=True)
        plan = oracle.plan_to(Goal(frozenset(good), DROP))
        if plan is None:
            plan = oracle.plan_to(Goal(frozenset(_drop_cells(oracle, self.avoid, False)), DROP))
        return plan

    def achieved(self, oracle: Planner) -> bool:
        return oracle.env.carrying is None


class Toggle(Task):
    """Toggle one of ``doors`` (open a closed one, unlock a locked one with its key, or close
    an open one)."""

    action = TOGGLE

    def __init__(self, doors: Iterable):
        self.doors = list(doors)
        self._state = None

    def targets(self, oracle: Planner) -> set[Pos]:
        return {tuple(d.cur_pos) for d in self.doors}

    def plan(self, oracle: Planner):
        self._state = [(d.is_open, d.is_locked) for d in self.doors]
        return oracle.plan_to(self.goal(oracle))

    def achieved(self, oracle: Planner) -> bool:
        return self._state != [(d.is_open, d.is_locked) for d in self.doors]


class Open(Task):
    """BabyAI's "open the X door": toggle a matching door so that it ends up open."""

    action = TOGGLE

    def __init__(self, desc):
        self.desc = desc

    def targets(self, oracle: Planner) -> set[Pos]:
        return {tuple(d.cur_pos) for d in self.desc.obj_set}

    def plan(self, oracle: Planner):
        doors = list(self.desc.obj_set)
        closed = [d for d in doors if not d.is_open and not d.is_locked]
        if closed:
            plan = oracle.plan_to(Goal(frozenset(tuple(d.cur_pos) for d in closed), TOGGLE))
            if plan is not None:
                return plan
        locked = [d for d in doors if d.is_locked]
        if locked:
            carrying = oracle.env.carrying
            if carrying is not None and carrying.type == "key":
                keyed = [d for d in locked if d.color == carrying.color]
                if keyed:
                    return oracle.plan_to(Goal(frozenset(tuple(d.cur_pos) for d in keyed), TOGGLE))
            keys = _keys_for(oracle, {d.color for d in locked})
            if keys:
                return [Pickup(keys), self]
        opened = [d for d in doors if d.is_open]
        if opened and not closed:
            return [Toggle(opened), self]  # close it, so that toggling opens it
        return None

    def __repr__(self) -> str:
        return f"Open({self.desc})"


class PutNext(Task):
    """BabyAI's "put the X next to the Y": pick up an X, drop it beside a Y."""

    def __init__(self, desc_move, desc_fixed):
        self.desc_move = desc_move
        self.desc_fixed = desc_fixed

    def plan(self, oracle: Planner):
        carrying = oracle.env.carrying
        drop = DropNextTo(self.desc_fixed)
        if carrying is not None and any(carrying is o for o in self.desc_move.obj_set):
            return [drop]
        return [Pickup(self.desc_move.obj_set), drop]

    def __repr__(self) -> str:
        return f"PutNext({self.desc_move} -> {self.desc_fixed})"


def tasks_for(instr) -> list[Task]:
    """The tasks of a BabyAI instruction, in the order the oracle does them."""
    if isinstance(instr, GoToInstr):
        return [GoTo(instr.desc)]
    if isinstance(instr, PickupInstr):
        return [Pickup(instr.desc.obj_set)]
    if isinstance(instr, OpenInstr):
        return [Open(instr.desc)]
    if isinstance(instr, PutNextInstr):
        return [PutNext(instr.desc_move, instr.desc_fixed)]
    if isinstance(instr, (BeforeInstr, AndInstr)):
        return tasks_for(instr.instr_a) + tasks_for(instr.instr_b)
    if isinstance(instr, AfterInstr):
        return tasks_for(instr.instr_b) + tasks_for(instr.instr_a)
    raise TypeError(f"the oracle cannot handle instruction {instr!r}")


def _keys_for(oracle: Planner, colors: set[str]) -> list:
    return [
        c
        for c in oracle.env.grid.grid
        if c is not None and c.type == "key" and c.color in colors and c.cur_pos is not None
    ]


def _inside(grid, pos: Pos) -> bool:
    return 0 <= pos[0] < grid.width and 0 <= pos[1] < grid.height


def _drop_cells(oracle: Planner, avoid: set[Pos], strict: bool) -> set[Pos]:
    """Empty cells to drop an object on; ``strict`` keeps only those that block nothing."""
    env = oracle.env
    grid = env.grid
    agent = tuple(int(v) for v in env.agent_pos)
    traps = {c for c, p in oracle.belief.known().items() if p == "trap"}

    def free(pos: Pos) -> bool:
        if not _inside(grid, pos):
            return False
        cell = grid.get(*pos)
        if cell is None or pos == agent:
            return True
        if cell.type == "floor":
            return cell.color not in traps
        return cell.type == "door" and cell.is_open

    cells = set()
    for y in range(1, grid.height - 1):
        for x in range(1, grid.width - 1):
            if grid.get(x, y) is not None or (x, y) == agent or (x, y) in avoid:
                continue
            if strict:
                near = [grid.get(x + dx, y + dy) for dx, dy in NEIGHBOURS_4]
                if any(c is not None and c.type in ("door", "key", "ball", "box") for c in near):
                    continue
                ring = [free((x + dx, y + dy)) for dx, dy in RING_8]
                changes = sum(ring[i] != ring[i - 1] for i in range(8))
                if changes > 2:
                    continue
            cells.add((x, y))
    return cells
