"""What the oracle believes about the floor colours, and how it learns from its own moves.

A belief is a set of :class:`Hypothesis` objects. Each one commits some colours to a property
and carries the rules' memory (sticky wait, magic counter) that the episode would have under
it. A colour a hypothesis has not committed is *free*: any candidate property.

- The reading oracle starts from one hypothesis: the description's sentences, parsed with
  :func:`babyaipp.text.parse_description`. Colours the text does not mention (withheld
  sentences) are free.
- The text-blind twin starts with every colour free.

After every step the oracle calls :meth:`Belief.observe` with its pose before and after and the
action it took. Each hypothesis replays the step with the engine's own rules
(:func:`babyaipp.dynamics.simulate_step`); a free colour the step touched is committed to each
candidate in turn; hypotheses that predict another pose are dropped. So the oracle learns from
what happens to it (a slide, a push, a held step, a reversed move or turn), not from
``info["tile"]`` nor from the hidden map.

The reading oracle also keeps the text-free hypotheses alongside: if what happens contradicts
the text (the description lied), it stops trusting the text and falls back on them.

The planner runs the hooks of every candidate property, whether or not the episode's map uses
it; that is exact for rules whose hooks do nothing when no tile has their property (true of the
built-in six).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from babyaipp.dynamics import PROPERTIES, active_rules, reset_memory, simulate_step
from babyaipp.oracle.world import BeliefWorld

Pose = tuple[tuple[int, int], int]

TRAP = "trap"


def normalise_memory(memory: dict) -> dict:
    """``memory`` with unbounded counters folded onto the values that behave alike.

    The magic counter only matters through its colour and its parity (a push on every even
    count), so counts 3, 4, 5… act as 1, 2, 1…; folding them keeps the planner's state space
    finite when the agent waits on a magic tile it cannot be pushed off.
    """
    count = memory.get("magic_count")
    if count is not None and count > 2:
        memory["magic_count"] = 2 - count % 2
    return memory


def memory_key(memory: dict) -> tuple:
    """A hashable key of a (normalised) rules' memory."""
    return tuple(sorted(memory.items()))


@dataclass(frozen=True)
class Hypothesis:
    """Some colours committed to properties, and the rules' memory of the episode under them."""

    assign: Mapping[str, str]
    memory: Mapping

    def key(self) -> tuple:
        return tuple(sorted(self.assign.items())), memory_key(dict(self.memory))


class Belief:
    """The oracle's hypotheses about the colour→property map of one episode.

    ``colors``: the floor colours on the grid. ``candidates``: the properties a colour may
    have (the family's). ``stated``: the parsed description (None for the text-blind twin).
    """

    def __init__(
        self,
        colors: Iterable[str],
        candidates: Iterable[str],
        stated: Mapping[str, str] | None = None,
    ):
        self.colors = tuple(sorted(colors))
        stated = (
            {c: p for c, p in (stated or {}).items() if c in self.colors and p in PROPERTIES}
            if stated is not None
            else None
        )
        self.candidates = tuple(dict.fromkeys([*candidates, *(stated or {}).values()]))
        unknown = [p for p in self.candidates if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown properties {unknown}; valid: {list(PROPERTIES)}")
        self.rules = active_rules(self.candidates)
        start = normalise_memory(reset_memory(self.rules))
        self.open_hypotheses = [Hypothesis({}, start)]
        self.text_hypotheses = [Hypothesis(stated, dict(start))] if stated else []
        self.reads_text = stated is not None
        self.contradicted = False  # the text turned out wrong

    @property
    def hypotheses(self) -> list[Hypothesis]:
        """The hypotheses the oracle acts on: the text's while it holds, else the open ones."""
        return self.text_hypotheses or self.open_hypotheses

    def known(self) -> dict[str, str]:
        """Colours on which every hypothesis agrees, with their property."""
        hyps = self.hypotheses
        first = hyps[0].assign
        return {c: p for c, p in first.items() if all(h.assign.get(c) == p for h in hyps[1:])}

    def may_be(self, color: str, prop: str) -> bool:
        """Whether some hypothesis leaves ``color`` free (and ``prop`` is a candidate) or
        commits it to ``prop``."""
        for h in self.hypotheses:
            got = h.assign.get(color)
            if got == prop or (got is None and prop in self.candidates):
                return True
        return False

    def planning_memory(self) -> dict:
        """The rules' memory the planner starts from (that of the first hypothesis)."""
        return dict(self.hypotheses[0].memory)

    def observe(self, grid, before: Pose, action: int, after: Pose) -> None:
        """Keep the hypotheses under which ``action`` from ``before`` leads to ``after``.

        ``grid`` is the grid after the step; the cells a step's movement depends on are the
        same before and after it (an action changes only the cell in front of the agent,
        which it does not enter in the same step).
        """
        self.open_hypotheses = self._filter(self.open_hypotheses, grid, before, action, after)
        if self.text_hypotheses:
            self.text_hypotheses = self._filter(self.text_hypotheses, grid, before, action, after)
            self.contradicted = not self.text_hypotheses
        if not self.open_hypotheses:  # only if a rule changed under us: start afresh
            start = normalise_memory(reset_memory(self.rules))
            self.open_hypotheses = [Hypothesis({}, start)]

    def _filter(self, hyps, grid, before: Pose, action: int, after: Pose) -> list[Hypothesis]:
        kept: dict[tuple, Hypothesis] = {}
        for hyp in hyps:
            for new, ctx in self._advance(hyp, grid, before, action):
                if not ctx.died and (ctx.pos, ctx.dir) == after:
                    kept.setdefault(new.key(), new)
        return list(kept.values())

    def _advance(self, hyp: Hypothesis, grid, before: Pose, action: int):
        """Every way ``hyp`` continues through the step: (hypothesis, StepContext) pairs."""
        world = BeliefWorld(grid, hyp.assign)
        memory = dict(hyp.memory)
        ctx = simulate_step(world, before[0], before[1], action, memory, self.rules)
        if not world.touched:
            return [(Hypothesis(hyp.assign, normalise_memory(ctx.memory)), ctx)]
        color = min(world.touched)  # commit one colour, then replay (it may touch another)
        out = []
        for prop in self.candidates:
            committed = Hypothesis({**hyp.assign, color: prop}, hyp.memory)
            out.extend(self._advance(committed, grid, before, action))
        return out
