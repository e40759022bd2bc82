"""The description generator: one sentence per floor colour, and its ablations.

A true sentence reads ``"<colour> floors are <property>."``. The description joins the
episode's sentences with single spaces. Text modes (the ``text=`` make kwarg):

- ``"full"``: the true sentences.
- ``"none"``: no description at all (the empty string).
- ``"shuffled"``: wrong information. The properties of the map are permuted across its colours so
  that as many colours as the map allows are described with a property other than their own (a
  map whose colours all share one property cannot be falsified this way and stays true).
- ``"random"``: each sentence is replaced by four words drawn from :data:`FILLER_WORDS`.

Sentence order is shuffled with the env's generator (``sentence_order="shuffled"``, default) or
follows the colours' order in :data:`minigrid.core.constants.COLOR_NAMES`
(``sentence_order="sorted"``). ``withhold=k`` then hides k sentences chosen at random.
"""

from __future__ import annotations

import itertools
import string

import numpy as np
from minigrid.core.constants import COLOR_NAMES

TEXT_MODES: tuple[str, ...] = ("full", "none", "shuffled", "random")
SENTENCE_ORDERS: tuple[str, ...] = ("shuffled", "sorted")

# Words for text="random": a fixed list, none of them a colour or a property.
FILLER_WORDS: tuple[str, ...] = (
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit",
    "sed", "do", "eiusmod", "tempor", "incididunt", "ut", "labore", "magna",
)  # fmt: skip

# Everything the instruction grammar and this generator write uses these characters.
CHARSET: str = string.ascii_lowercase + " ,."
MAX_MISSION_CHARS = 512
MAX_DESCRIPTION_CHARS = 512
WORDS_PER_SENTENCE = 4


def sentence(color: str, prop: str) -> str:
    return f"{color} floors are {prop}."


def described_map(floor_map: dict[str, str], mode: str, rng: np.random.Generator) -> dict[str, str]:
    """The colour→property pairs the text states (equal to ``floor_map`` except when shuffled)."""
    if mode != "shuffled":
        return dict(floor_map)
    colors = list(floor_map)
    props = [floor_map[c] for c in colors]
    perms = list(itertools.permutations(range(len(colors))))
    wrong = [sum(props[p[i]] != props[i] for i in range(len(colors))) for p in perms]
    best = [p for p, w in zip(perms, wrong, strict=True) if w == max(wrong)]
    perm = best[int(rng.integers(len(best)))]
    return {c: props[perm[i]] for i, c in enumerate(colors)}


def make_sentences(
    floor_map: dict[str, str],
    rng: np.random.Generator,
    *,
    mode: str = "full",
    order: str = "shuffled",
    withhold: int = 0,
) -> list[str]:
    """The episode's description sentences, in the order they are shown."""
    if mode not in TEXT_MODES:
        raise ValueError(f"unknown text mode {mode!r}; valid: {list(TEXT_MODES)}")
    if order not in SENTENCE_ORDERS:
        raise ValueError(f"unknown sentence_order {order!r}; valid: {list(SENTENCE_ORDERS)}")
    if mode == "none":
        return []
    stated = described_map(floor_map, mode, rng)
    colors = sorted(stated, key=COLOR_NAMES.index)
    if order == "shuffled":
        colors = [colors[i] for i in rng.permutation(len(colors))]
    if withhold:
        keep = np.sort(rng.permutation(len(colors))[: len(colors) - withhold])
        colors = [colors[i] for i in keep]
    if mode == "random":
        words = rng.integers(len(FILLER_WORDS), size=(len(colors), WORDS_PER_SENTENCE))
        return [" ".join(FILLER_WORDS[w] for w in row) + "." for row in words]
    return [sentence(c, stated[c]) for c in colors]


def parse_description(text: str) -> dict[str, str]:
    """Read ``"<colour> floors are <property>."`` sentences back into a colour→property map.

    Sentences of any other form are ignored, so this is safe on ablated text.
    """
    out = {}
    for part in text.split("."):
        words = part.split()
        if len(words) == 4 and words[1:3] == ["floors", "are"]:
            out[words[0]] = words[3]
    return out
