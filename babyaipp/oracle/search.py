"""Cheapest plans over (position, heading, rules' memory), stepped with the engine's rules.

:func:`find_plan` is Dijkstra's algorithm over the agent's states. A state is its cell, its
heading and the rules' memory (sticky wait, magic colour and parity; see
:func:`babyaipp.oracle.belief.normalise_memory`); a transition is one action simulated with
:func:`babyaipp.dynamics.simulate_step` in a :class:`~babyaipp.oracle.world.BeliefWorld`. So
every rule acts in the plan exactly as in the env: slides, pushes, held steps, reversed moves
and swapped turns. A step that enters a trap is never taken (traps are walls), whether the agent
walks, slides or is pushed into it.

Costs: every action costs 1; entering a tile of a colour the belief does not know costs
``penalty[colour]`` more (the oracle avoids unknown floors when it can); entering one of the
world's ``obstacles`` costs ``obstacle_cost`` more. A closed door in the way costs 2: a
``toggle`` then the ``forward`` into it (the world counts closed doors as enterable, and the
search inserts the toggle).

A :class:`Goal` is a set of cells to face and the action that completes it:

- ``action=None`` (go to): any step after whose action (before a slide, when BabyAI's verifier
  runs) the agent faces a target, and which does not kill it; ``done`` counts as a step that
  stays put (it is inert, unless BabyAI's ``BABYAI_DONE_ACTIONS`` is set).
- ``action=pickup/drop/toggle``: that action, taken when (after the start-of-step rules, e.g. a
  magic push) the agent faces a target.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from minigrid.core.actions import Actions
from minigrid.envs.babyai.core import verifier

from babyaipp.dynamics import Pos, StepContext, simulate_step, step_pos
from babyaipp.oracle.belief import memory_key, normalise_memory
from babyaipp.oracle.world import BeliefWorld, is_closed_door

LEFT, RIGHT, FORWARD = int(Actions.left), int(Actions.right), int(Actions.forward)
PICKUP, DROP, TOGGLE, DONE = (
    int(Actions.pickup),
    int(Actions.drop),
    int(Actions.toggle),
    int(Actions.done),
)
MOVES = (FORWARD, LEFT, RIGHT)
MAX_EXPANSIONS = 400_000

Pose = tuple[Pos, int]


@dataclass(frozen=True)
class Goal:
    """Face one of ``targets`` when ``action`` runs (``None``: any step, BabyAI's go-to)."""

    targets: frozenset[Pos]
    action: int | None = None


@dataclass
class Plan:
    """Actions, the pose expected after each, the cells entered in order, and the cost."""

    actions: list[int]
    poses: list[Pose]
    cells: list[Pos]
    cost: float
    expansions: int


def find_plan(
    world: BeliefWorld,
    pose: Pose,
    memory: dict,
    rules: list,
    goal: Goal,
    penalty: Mapping[str, float] | None = None,
    obstacle_cost: float = 0.0,
    max_expansions: int = MAX_EXPANSIONS,
) -> Plan | None:
    """The cheapest plan from ``pose`` (with the rules' ``memory``) to ``goal``, or None.

    ``world`` should count closed doors as enterable (``closed_doors=True``) for plans that
    may open doors on the way; ``penalty`` maps colours to their extra entry cost.
    """
    if not goal.targets:
        return None
    penalty = penalty or {}
    grid = world.grid
    stay_actions = [goal.action] if goal.action is not None else []
    if goal.action is None and not verifier.use_done_actions:
        stay_actions.append(DONE)

    counter = itertools.count()
    start_memory = normalise_memory(dict(memory))
    start = (pose[0], pose[1], memory_key(start_memory))
    state = {start: (pose[0], pose[1], start_memory)}
    came_from: dict = {start: None}
    best = {start: 0.0}
    heap = [(0.0, next(counter), start)]
    expansions = 0

    while heap:
        cost, _, key = heapq.heappop(heap)
        if key[0] == "goal":
            return _reconstruct(came_from, key, cost, expansions)
        if cost > best[key]:
            continue
        expansions += 1
        if expansions > max_expansions:
            return None
        pos, direction, mem = state[key]

        for action in stay_actions:
            ctx = simulate_step(world, pos, direction, action, dict(mem), rules)
            if not ctx.died and step_pos(ctx.pos, ctx.dir) in goal.targets:
                goal_key = ("goal", next(counter))
                came_from[goal_key] = (key, (action,), ((ctx.pos, ctx.dir),), ())
                heapq.heappush(heap, (cost + 1.0, next(counter), goal_key))

        for action in MOVES:
            step = _move(world, grid, pos, direction, action, mem, rules)
            if step is None:
                continue
            actions, poses, ctx = step
            cells = tuple(p for p, _ in ctx.entered)
            new_cost = cost + len(actions) + sum(penalty.get(c, 0.0) for c in _colors(world, ctx))
            if obstacle_cost:
                new_cost += obstacle_cost * sum(p in world.obstacles for p in cells)
            if goal.action is None and step_pos(_verify_pos(ctx, pos), ctx.dir) in goal.targets:
                goal_key = ("goal", next(counter))
                came_from[goal_key] = (key, actions, poses, cells)
                heapq.heappush(heap, (new_cost, next(counter), goal_key))
            new_mem = normalise_memory(ctx.memory)
            new_key = (ctx.pos, ctx.dir, memory_key(new_mem))
            if new_cost < best.get(new_key, float("inf")):
                best[new_key] = new_cost
                state[new_key] = (ctx.pos, ctx.dir, new_mem)
                came_from[new_key] = (key, actions, poses, cells)
                heapq.heappush(heap, (new_cost, next(counter), new_key))
    return None


def _move(world, grid, pos, direction, action, mem, rules):
    """One movement action (a closed door ahead: toggle, then forward), or None if it kills
    the agent or cannot be taken."""
    ctx = simulate_step(world, pos, direction, action, dict(mem), rules)
    if ctx.died:
        return None
    doors = [(p, how) for p, how in ctx.entered if is_closed_door(grid.get(*p))]
    if not doors:
        return (action,), ((ctx.pos, ctx.dir),), ctx
    # Only a forward move straight into a door it faces can be preceded by opening it.
    if doors[0][1] != "move" or len(doors) > 1 or doors[0][0] != step_pos(pos, direction):
        return None
    opened = simulate_step(world, pos, direction, TOGGLE, dict(mem), rules)
    if opened.died or (opened.pos, opened.dir) != (pos, direction):
        return None
    ctx = simulate_step(world, pos, direction, action, opened.memory, rules)
    if ctx.died or not ctx.entered or ctx.entered[0] != doors[0]:
        return None
    return (TOGGLE, action), ((pos, direction), (ctx.pos, ctx.dir)), ctx


def _verify_pos(ctx: StepContext, start: Pos) -> Pos:
    """Where the agent stood when BabyAI's verifier ran: after a push or a move, before a
    slide."""
    for pos, how in reversed(ctx.entered):
        if how != "slide":
            return pos
    return start


def _colors(world, ctx: StepContext):
    for pos, _ in ctx.entered:
        color = world.color_at(pos)
        if color is not None:
            yield color


def _reconstruct(came_from, goal_key, cost: float, expansions: int) -> Plan:
    actions: list[int] = []
    poses: list[Pose] = []
    cells: list[Pos] = []
    key = goal_key
    while came_from[key] is not None:
        key, step_actions, step_poses, step_cells = came_from[key]
        actions[:0] = step_actions
        poses[:0] = step_poses
        cells[:0] = step_cells
    return Plan(actions, poses, cells, cost, expansions)
