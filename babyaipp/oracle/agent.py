"""The oracle: a planner with the full grid and the description text, acting one step at a time.

>>> env = gymnasium.make("BabyAIPP-GoToRedBall-Train-v0")
>>> env.reset(seed=0)
>>> oracle = Oracle(env)                       # reads env.unwrapped.description
>>> obs, reward, terminated, truncated, info = env.step(oracle.act())

or :func:`solve` for a whole episode.

What it may use:

- the privileged full layout (``env.unwrapped``: grid, agent pose, what it carries, BabyAI's
  instruction objects) — never ``floor_map``, ``tiles`` nor ``rule_memory``;
- the description text, parsed with :func:`babyaipp.text.parse_description` (the text-blind
  twin, ``reads_text=False``, ignores it);
- the family's list of properties (public: ``babyaipp list``), as the candidates for colours it
  knows nothing about;
- its own pose after each of its steps, from which it learns (:mod:`babyaipp.oracle.belief`).

Each act: learn from the last step; if the pose is not the one the plan predicted, throw the
plan away; if there is no plan, plan the current task (:mod:`babyaipp.oracle.tasks`) with
:func:`~babyaipp.oracle.search.find_plan`. When no plan exists it looks for what is in the way
by planning through objects and locked doors at a high cost (a locked door on that plan: fetch
its key; an object: move it aside) and plans that first. If that fails too, it is *stuck*: it
records why in :attr:`Oracle.stuck` and
answers ``done`` (an inert action) until the episode ends.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from babyaipp.dynamics import Pos
from babyaipp.oracle.belief import TRAP, Belief
from babyaipp.oracle.search import DONE, Goal, Plan, find_plan
from babyaipp.oracle.tasks import DropAway, Pickup, Task, Toggle, tasks_for
from babyaipp.oracle.world import BeliefWorld, floor_colors
from babyaipp.text import parse_description

DANGER = 200.0
"""Extra cost of entering a tile whose colour may be a trap (as far as the oracle knows)."""
UNSURE = 3.0
"""Extra cost of entering a tile of a colour the oracle knows is no trap but not what it is."""
OBSTACLE = 50.0
"""Extra cost of walking through an obstacle (object, locked door) in the fallback's plan."""
MAX_TASK_CHANGES = 64
MAX_FIXES = 12


@dataclass
class OracleStats:
    """Counters of one episode: plans made, search expansions, planning seconds, surprises
    (steps whose outcome the plan did not predict) and fixes (obstacles cleared)."""

    plans: int = 0
    expansions: int = 0
    plan_seconds: float = 0.0
    surprises: int = 0
    fixes: int = 0
    log: list[str] = field(default_factory=list)


class Oracle:
    """Plans and acts in one episode of a babyaipp env; create it right after ``reset``.

    ``reads_text=False`` makes the text-blind twin. ``description`` overrides the text read
    from the env (e.g. to test it with a lie).
    """

    def __init__(self, env, *, reads_text: bool = True, description: str | None = None):
        unwrapped = env.unwrapped
        if unwrapped.step_count != 0:
            raise ValueError(
                f"create the Oracle right after reset (step_count is {unwrapped.step_count})"
            )
        self.env = unwrapped
        self.reads_text = reads_text
        text = unwrapped.description if description is None else description
        spec = unwrapped.family
        candidates = [*spec.properties, *(spec.fixed or {}).values()]
        stated = parse_description(text) if reads_text else None
        self.belief = Belief(floor_colors(unwrapped.grid), candidates, stated)
        self.tasks: list[Task] = tasks_for(unwrapped.instrs)
        self.stats = OracleStats()
        self.stuck: str | None = None
        self._plan: deque = deque()
        self._last = None  # (pose before, action, expected pose, completes the task)
        self._fixes = 0

    # -- acting -------------------------------------------------------------------------------

    def act(self) -> int:
        """The next action; call once per step, after the previous action was stepped."""
        pose = self.pose()
        if self._last is not None:
            self._learn(pose)
        if not self._plan and self.stuck is None:
            self._make_plan()
        if not self._plan:
            self._last = None
            return DONE
        action, expected, final = self._plan.popleft()
        self._last = (pose, action, expected, final)
        return action

    def pose(self) -> tuple[Pos, int]:
        x, y = self.env.agent_pos
        return (int(x), int(y)), int(self.env.agent_dir)

    def _learn(self, pose) -> None:
        before, action, expected, final = self._last
        self._last = None
        self.belief.observe(self.env.grid, before, action, pose)
        if pose != expected:
            self.stats.surprises += 1
            self._plan.clear()
        elif final:
            task = self.tasks[0]
            if task.achieved(self):
                self.tasks.pop(0)
            else:
                self.stats.surprises += 1
                self._plan.clear()

    # -- planning -----------------------------------------------------------------------------

    def plan_to(self, goal: Goal, obstacles: frozenset[Pos] = frozenset()) -> Plan | None:
        """The cheapest plan to ``goal`` from the current state, under the current belief
        (through ``obstacles`` at a cost of :data:`OBSTACLE` each)."""
        known = self.belief.known()
        world = BeliefWorld(self.env.grid, known, closed_doors=True, obstacles=obstacles)
        penalty = {
            c: DANGER if self.belief.may_be(c, TRAP) else UNSURE
            for c in self.belief.colors
            if c not in known
        }
        start = time.perf_counter()
        plan = find_plan(
            world,
            self.pose(),
            self.belief.planning_memory(),
            self.belief.rules,
            goal,
            penalty,
            obstacle_cost=OBSTACLE if obstacles else 0.0,
        )
        self.stats.plan_seconds += time.perf_counter() - start
        self.stats.plans += 1
        if plan is not None:
            self.stats.expansions += plan.expansions
        return plan

    def _make_plan(self) -> None:
        for _ in range(MAX_TASK_CHANGES):
            if not self.tasks:
                self.stuck = "no task left, yet the episode goes on"
                return
            task = self.tasks[0]
            result = task.plan(self)
            if isinstance(result, Plan):
                last = len(result.actions) - 1
                self._plan.extend(
                    (a, p, i == last)
                    for i, (a, p) in enumerate(zip(result.actions, result.poses, strict=True))
                )
                return
            if isinstance(result, list):
                self.tasks[0:1] = result
                continue
            fix = self._fix(task)
            if fix is None:
                return
            self.tasks[0:0] = fix
        self.stuck = f"the task list kept changing ({MAX_TASK_CHANGES} times)"

    def _fix(self, task: Task) -> list[Task] | None:
        """Tasks that clear the way to ``task`` (None, and :attr:`stuck` set, if none).

        Plans ``task``'s goal again with every object and locked door passable at a cost of
        :data:`OBSTACLE`; the first one that plan walks into is cleared: an object is moved
        aside, a locked door is unlocked with its key (what is carried is put down first and
        picked up again after).
        """
        if self._fixes >= MAX_FIXES:
            self.stuck = f"no plan for {task!r} after {MAX_FIXES} fixes"
            return None
        grid = self.env.grid
        obstacles = frozenset(
            (x, y)
            for y in range(grid.height)
            for x in range(grid.width)
            if _is_obstacle(grid.get(x, y))
        )
        plan = self.plan_to(task.goal(self), obstacles)
        if plan is None:
            self.stuck = f"no way to {task!r}, even moving objects and unlocking doors"
            return None
        blocker = next((p for p in plan.cells if p in obstacles), None)
        if blocker is None:
            self.stuck = f"no plan for {task!r}, though nothing is in the way"
            return None
        cell = grid.get(*blocker)
        avoid = set(plan.cells)
        carrying = self.env.carrying
        if cell.type == "door":
            if carrying is not None and carrying.type == "key" and carrying.color == cell.color:
                fix = [Toggle([cell])]
                carrying = None  # keep holding the key
            else:
                keys = [c for c in grid.grid if c is not None and c.type == "key"]
                keys = [k for k in keys if k.color == cell.color]
                if not keys:
                    self.stuck = f"{task!r}: the {cell.color} door is locked and no key is left"
                    return None
                fix = [Pickup(keys), Toggle([cell]), DropAway(avoid)]
        else:  # an object in the way: move it aside
            fix = [Pickup([cell]), DropAway(avoid)]
        if carrying is not None:
            fix = [DropAway(avoid), *fix, Pickup([carrying])]
        self._fixes += 1
        self.stats.fixes += 1
        self.stats.log.append(f"for {task!r}: clear the {cell.color} {cell.type} at {blocker}")
        return fix


def _is_obstacle(cell) -> bool:
    return cell is not None and (
        cell.type in ("key", "ball", "box") or (cell.type == "door" and cell.is_locked)
    )


@dataclass
class Rollout:
    """One episode played by the oracle."""

    actions: list[int]
    rewards: list[float]
    success: bool
    failure: str | None
    stats: OracleStats
    stuck: str | None


def solve(env, *, reads_text: bool = True, seed: int | None = None, **reset_kwargs) -> Rollout:
    """Reset ``env`` (with ``seed``) and play one episode with the oracle."""
    env.reset(seed=seed, **reset_kwargs)
    oracle = Oracle(env, reads_text=reads_text)
    actions, rewards = [], []
    info = {"success": False, "failure": None}
    done = False
    while not done:
        action = oracle.act()
        _, reward, terminated, truncated, info = env.step(action)
        actions.append(action)
        rewards.append(float(reward))
        done = terminated or truncated
    return Rollout(
        actions, rewards, bool(info["success"]), info["failure"], oracle.stats, oracle.stuck
    )
