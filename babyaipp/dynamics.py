"""Tile properties: a registry of named floor rules, each with its spec as its docstring.

A step runs in phases (see :class:`babyaipp.env.DynamicsLevel`):

1. the property of the tile under the agent when the step starts is looked up;
2. every active rule's :meth:`TileRule.before_action` runs, in registry order (it may rewrite the
   action, turn the agent, or move it);
3. the minigrid action and BabyAI's mission check run;
4. for every cell the agent entered during the step (a ``"move"`` by the forward action, a
   ``"slide"`` or a ``"push"``), the rule of that cell's property runs :meth:`TileRule.on_enter`.

Rules never touch the environment directly: they read and write a small :class:`StepContext`
(position, heading, action, the rules' own memory carried between steps) and ask a
:class:`World` what lies where. That keeps them reusable by anything that needs to simulate a
step (the oracle's planner, the batched engine's tests) without a minigrid env.

Add a property with :func:`register_property`; it becomes usable in family specs at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from minigrid.core.actions import Actions

Pos = tuple[int, int]

# Direction vectors, as minigrid's DIR_TO_VEC, as plain tuples (no numpy in the hot path).
DIR_TO_VEC: tuple[Pos, ...] = ((1, 0), (0, 1), (-1, 0), (0, -1))
SOUTH = 1


class World(Protocol):
    """What a rule may ask about the grid."""

    def property_at(self, pos: Pos) -> str | None:
        """The property of the floor tile at ``pos``, or None if there is no tile."""

    def color_at(self, pos: Pos) -> str | None:
        """The colour of the floor tile at ``pos``, or None if there is no tile."""

    def can_enter(self, pos: Pos) -> bool:
        """Whether the agent may stand on ``pos`` (empty, a floor tile or an open door)."""


@dataclass(slots=True)
class StepContext:
    """The mutable state of one step, shared by the rules.

    ``memory`` is the rules' state carried from step to step (the sticky wait, the magic
    counter); it belongs to the episode and is reset with it.
    """

    pos: Pos
    dir: int
    action: int
    start_property: str | None
    start_color: str | None
    memory: dict
    entered: list[tuple[Pos, str]] = field(default_factory=list)
    died: bool = False

    def enter(self, pos: Pos, how: str, world: World) -> None:
        """Move the agent onto ``pos`` and run the entry rule of that cell."""
        self.pos = pos
        self.entered.append((pos, how))
        prop = world.property_at(pos)
        if prop is not None:
            PROPERTIES[prop].on_enter(self, world, how)


def step_pos(pos: Pos, direction: int) -> Pos:
    dx, dy = DIR_TO_VEC[direction]
    return (pos[0] + dx, pos[1] + dy)


class TileRule:
    """Base class of a floor property. Subclasses set ``name`` and override the hooks they need.

    ``symbol`` is the one-letter mark used in ASCII pictures and the viewer.
    """

    name: str = ""
    symbol: str = "?"

    def reset(self, memory: dict) -> None:
        """Initialise this rule's entries in the episode memory."""

    def before_action(self, ctx: StepContext, world: World) -> None:
        """Runs at the start of every step of an episode whose map uses this property."""

    def on_enter(self, ctx: StepContext, world: World, how: str) -> None:
        """Runs when the agent enters a tile of this property (``how``: move, slide or push)."""

    def __repr__(self) -> str:
        return f"<TileRule {self.name}>"


class Trap(TileRule):
    """Entering a trap tile ends the episode as a failure.

    - Any entry counts: a forward move, a slide off a slippery tile, or a magic push.
    - ``terminated=True``, reward 0, ``info["success"]=False``, ``info["failure"]="trap"``.
    - The trap wins over the mission: if the same step also completed the instruction, the
      step is still a trap death with reward 0.
    - A push into a trap happens before the action, so the action of that step is not taken.
    """

    name = "trap"
    symbol = "X"

    def on_enter(self, ctx: StepContext, world: World, how: str) -> None:
        ctx.died = True


class Sticky(TileRule):
    """After the agent enters a sticky tile, its next two actions cannot move it forward.

    - A ``forward`` during the wait is a no-op; turns, pickup, drop and toggle still act. Every
      action, whatever it is, uses up one unit of the wait, so from the third action after
      entering, ``forward`` works again.
    - A slide or a magic push onto a sticky tile is an entry too. A push happens before the
      action of its step, so that step's own action is the first of the two held actions.
    """

    name = "sticky"
    symbol = "S"
    WAIT = 2

    def reset(self, memory: dict) -> None:
        memory["sticky_wait"] = 0

    def before_action(self, ctx: StepContext, world: World) -> None:
        if ctx.memory["sticky_wait"] > 0:
            ctx.memory["sticky_wait"] -= 1
            if ctx.action == Actions.forward:
                # ``done`` is inert in BabyAI unless minigrid's BABYAI_DONE_ACTIONS variable is
                # set, which babyaipp does not support.
                ctx.action = Actions.done

    def on_enter(self, ctx: StepContext, world: World, how: str) -> None:
        ctx.memory["sticky_wait"] = self.WAIT


class FlipUpDown(TileRule):
    """A forward taken on a flipud tile first turns the agent 180°, then moves it one cell.

    The agent therefore moves backwards and keeps the reversed heading. If the cell behind is
    blocked it only turns around. Other actions are unaffected.
    """

    name = "flipud"
    symbol = "V"

    def before_action(self, ctx: StepContext, world: World) -> None:
        if ctx.start_property == self.name and ctx.action == Actions.forward:
            ctx.dir = (ctx.dir + 2) % 4


class FlipLeftRight(TileRule):
    """On a fliplr tile, ``left`` and ``right`` are swapped."""

    name = "fliplr"
    symbol = "H"

    def before_action(self, ctx: StepContext, world: World) -> None:
        if ctx.start_property == self.name:
            if ctx.action == Actions.left:
                ctx.action = Actions.right
            elif ctx.action == Actions.right:
                ctx.action = Actions.left


class Slippery(TileRule):
    """Entering a slippery tile by a forward move makes the agent slide one more cell.

    - The slide goes one cell further in the direction of travel, only if that cell can be
      entered (empty, a floor tile or an open door); otherwise the agent stays on the tile.
    - Only a forward move starts a slide: a slide or a push onto a slippery tile does not, so
      slides never chain.
    - The slide is an entry: sliding into a trap kills, sliding onto a sticky tile starts its
      wait.
    - The mission check runs before the slide (the step's action is what BabyAI verifies).

    The original BabyAI++ only halved the step counter on slippery floors, which made the
    property visible in the reward alone; here it changes movement, so it can be observed.
    """

    name = "slippery"
    symbol = "I"

    def on_enter(self, ctx: StepContext, world: World, how: str) -> None:
        if how != "move":
            return
        ahead = step_pos(ctx.pos, ctx.dir)
        if world.can_enter(ahead):
            ctx.enter(ahead, "slide", world)


class Magic(TileRule):
    """A magic floor pushes the agent south every second step it spends on it.

    - The counter counts consecutive steps that *start* on magic floor of the same colour
      (walking from one magic tile to another of the same colour keeps counting; any other
      start tile resets it).
    - On the 2nd, 4th, 6th… such step, before the action, the agent is pushed one cell south
      (absolute +y, whatever its heading) if that cell can be entered: empty, a floor tile or an
      open door (so a push can carry it through an open door).
    - The push is an entry: a push into a trap kills (and the action is not taken), a push onto
      a sticky tile starts its wait. The action then runs from the new cell.

    This is the paper-era counter of the original; its later ``.all()`` position counter was a
    bug.
    """

    name = "magic"
    symbol = "M"

    def reset(self, memory: dict) -> None:
        memory["magic_color"] = None
        memory["magic_count"] = 0

    def before_action(self, ctx: StepContext, world: World) -> None:
        if ctx.start_property != self.name:
            memory = ctx.memory
            memory["magic_color"] = None
            memory["magic_count"] = 0
            return
        memory = ctx.memory
        if memory["magic_color"] == ctx.start_color:
            memory["magic_count"] += 1
        else:
            memory["magic_color"] = ctx.start_color
            memory["magic_count"] = 1
        if memory["magic_count"] % 2 == 0:
            south = step_pos(ctx.pos, SOUTH)
            if world.can_enter(south):
                ctx.enter(south, "push", world)


PROPERTIES: dict[str, TileRule] = {}
"""Every registered property by name, in the order their ``before_action`` hooks run."""


def register_property(rule: TileRule, *, before: str | None = None) -> TileRule:
    """Register a new floor property so that family specs can name it.

    ``before`` inserts the rule ahead of an existing one in the hook order (default: last).
    Raises ``ValueError`` if the name is empty or taken.
    """
    if not rule.name or not rule.name.isidentifier():
        raise ValueError(f"property name {rule.name!r} must be a non-empty identifier")
    if rule.name in PROPERTIES:
        raise ValueError(f"property {rule.name!r} is already registered")
    if before is not None and before not in PROPERTIES:
        raise ValueError(f"unknown property {before!r} in before=; known: {sorted(PROPERTIES)}")
    items = list(PROPERTIES.items())
    index = len(items) if before is None else [n for n, _ in items].index(before)
    items.insert(index, (rule.name, rule))
    PROPERTIES.clear()
    PROPERTIES.update(items)
    return rule


def get_property(name: str) -> TileRule:
    """The rule registered as ``name``; a ValueError naming the valid choices otherwise."""
    try:
        return PROPERTIES[name]
    except KeyError:
        raise ValueError(f"unknown property {name!r}; valid: {list(PROPERTIES)}") from None


def begin_step(
    world: World, pos: Pos, direction: int, action: int, memory: dict, rules: list[TileRule]
) -> StepContext:
    """Phases 1–2 of a step: look up the start tile and run the pre-action hooks of ``rules``.

    ``memory`` is updated in place (copy it first to explore without committing).
    """
    ctx = StepContext(
        pos=pos,
        dir=direction,
        action=int(action),
        start_property=world.property_at(pos),
        start_color=world.color_at(pos),
        memory=memory,
    )
    for rule in rules:
        rule.before_action(ctx, world)
    return ctx


def simulate_step(
    world: World, pos: Pos, direction: int, action: int, memory: dict, rules: list[TileRule]
) -> StepContext:
    """A whole step for the movement actions (left, right, forward; others do not move).

    The same phases as the env's step with minigrid's movement in phase 3 (turns; forward
    into a cell that can be entered), for planners and tests that need no minigrid env. The
    env itself runs minigrid's own action in phase 3; a test checks that both agree.
    """
    ctx = begin_step(world, pos, direction, action, memory, rules)
    if ctx.died:
        return ctx
    if ctx.action == Actions.left:
        ctx.dir = (ctx.dir - 1) % 4
    elif ctx.action == Actions.right:
        ctx.dir = (ctx.dir + 1) % 4
    elif ctx.action == Actions.forward:
        ahead = step_pos(ctx.pos, ctx.dir)
        if world.can_enter(ahead):
            ctx.enter(ahead, "move", world)
    return ctx


def active_rules(properties) -> list[TileRule]:
    """The registered rules for ``properties`` (any iterable of names), in hook order."""
    used = set(properties)
    return [rule for name, rule in PROPERTIES.items() if name in used]


def reset_memory(rules: list[TileRule]) -> dict:
    """A fresh episode memory for ``rules``."""
    memory: dict = {}
    for rule in rules:
        rule.reset(memory)
    return memory


# The built-in six, in hook order: the magic push comes first so that a push onto a sticky
# tile holds the action of the same step (see Sticky).
for _rule in (Magic(), FlipLeftRight(), FlipUpDown(), Sticky(), Trap(), Slippery()):
    register_property(_rule)

BUILTIN_PROPERTIES: tuple[str, ...] = ("trap", "sticky", "flipud", "fliplr", "slippery", "magic")
"""The original BabyAI++ property ids 0–5, in that order."""
