"""What the engine draws per episode: the colour→property map and the description text.

Everything here is drawn for a batch of episodes at once from the vector env's one seeded
generator, with the same distribution as the reference env's own draws
(:func:`babyaipp.splits.draw_floor_map` and :func:`babyaipp.text.make_sentences`):

- Train / HeldOut / Test: each floor colour draws its property uniformly among those the
  split allows it; in a one-trap family, one slot uniform among the split's trap colours is
  the trap and every other slot draws among its safe properties. Fixed: a uniformly random
  K-subset of the fixed colours, kept in the fixed map's order, with their fixed properties.
- text ``full``: the true sentences; ``shuffled``: a permutation of the properties chosen
  uniformly among those that falsify the most colours; ``random``: four filler words a
  sentence; ``none``: no sentence. Sentence order: ``sorted`` follows minigrid's
  ``COLOR_NAMES``; ``shuffled`` is a uniform permutation. ``withhold=w`` then keeps a uniform
  random subset of K - w sentences, in order.

The map is held as two (R, K) arrays: ``colors`` (minigrid colour indices) and ``props``
(property ids, :data:`babyaipp.engine.codes.PROPERTY_IDS`); slot k is the map's k-th colour.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from minigrid.core.constants import COLOR_NAMES, COLOR_TO_IDX, IDX_TO_COLOR

from babyaipp import vocab
from babyaipp.catalog import FamilySpec
from babyaipp.dynamics import BUILTIN_PROPERTIES
from babyaipp.engine.codes import NUM_COLORS, PROPERTY_IDS, TRAP
from babyaipp.splits import allowed_properties, safe_properties, trap_colors
from babyaipp.text import FILLER_WORDS, WORDS_PER_SENTENCE

_COLOR_RANK = np.array([COLOR_NAMES.index(IDX_TO_COLOR[i]) for i in range(NUM_COLORS)])
_COLOR_TOKENS = np.array(
    [vocab.WORD_TO_ID.get(IDX_TO_COLOR[i], vocab.UNK) for i in range(NUM_COLORS)]
)
_PROP_TOKENS = np.array([vocab.WORD_TO_ID.get(p, vocab.UNK) for p in BUILTIN_PROPERTIES])
_FILLER_TOKENS = np.array([vocab.WORD_TO_ID.get(w, vocab.UNK) for w in FILLER_WORDS])
_FLOORS, _ARE = vocab.WORD_TO_ID["floors"], vocab.WORD_TO_ID["are"]


@dataclass
class Episodes:
    """A batch of R drawn episodes (everything but the layout)."""

    colors: np.ndarray  # (R, K) int64 colour index of each slot
    props: np.ndarray  # (R, K) int64 property id of each slot
    held_out: np.ndarray  # (R,) bool: the map holds a held-out pair
    trap_mask: np.ndarray  # (R,) int64: bit k set when slot k is a trap
    row_slots: np.ndarray  # (R, K) int64: the slot each sentence describes, -1 past the last
    row_props: np.ndarray  # (R, K) int64: the property each sentence states
    filler: np.ndarray  # (R, K, 4) int64: filler word indices (text="random")
    random_text: bool

    FIELDS = ("colors", "props", "held_out", "trap_mask", "row_slots", "row_props", "filler")

    def __len__(self) -> int:
        return len(self.colors)

    def subset(self, index) -> Episodes:
        """The episodes at ``index`` (a slice or an index array)."""
        return Episodes(
            **{f: getattr(self, f)[index] for f in self.FIELDS}, random_text=self.random_text
        )

    def concat(self, other: Episodes) -> Episodes:
        return Episodes(
            **{f: np.concatenate([getattr(self, f), getattr(other, f)]) for f in self.FIELDS},
            random_text=self.random_text,
        )

    def assign(self, rows: np.ndarray, other: Episodes) -> None:
        """Overwrite the episodes at ``rows`` with ``other`` (same length as ``rows``)."""
        for f in self.FIELDS:
            getattr(self, f)[rows] = getattr(other, f)

    def description_tokens(self) -> np.ndarray:
        """(R, MAX_SENTENCES, SENTENCE_TOKENS) int64, as :class:`babyaipp.TokenizeText`."""
        r, k = self.row_slots.shape
        out = np.zeros((r, vocab.MAX_SENTENCES, vocab.SENTENCE_TOKENS), dtype=np.int64)
        used = self.row_slots >= 0
        if self.random_text:
            out[:, :k][used] = _FILLER_TOKENS[self.filler[used]]
        else:
            colors = np.take_along_axis(self.colors, np.maximum(self.row_slots, 0), axis=1)
            words = np.stack(
                [
                    _COLOR_TOKENS[colors],
                    np.full_like(colors, _FLOORS),
                    np.full_like(colors, _ARE),
                    _PROP_TOKENS[np.maximum(self.row_props, 0)],
                ],
                axis=-1,
            )
            out[:, :k][used] = words[used]
        return out

    def floor_map(self, i: int) -> dict[str, str]:
        """Episode i's map as the reference env holds it (colour → property, slot order)."""
        return {
            IDX_TO_COLOR[int(c)]: BUILTIN_PROPERTIES[int(p)]
            for c, p in zip(self.colors[i], self.props[i], strict=True)
        }

    def sentences(self, i: int) -> list[str]:
        """Episode i's sentences, as :func:`babyaipp.text.make_sentences` writes them."""
        out = []
        for row, slot in enumerate(self.row_slots[i]):
            if slot < 0:
                break
            if self.random_text:
                out.append(" ".join(FILLER_WORDS[w] for w in self.filler[i, row]) + ".")
            else:
                color = IDX_TO_COLOR[int(self.colors[i, slot])]
                out.append(f"{color} floors are {BUILTIN_PROPERTIES[int(self.row_props[i, row])]}.")
        return out


class EpisodeSampler:
    """Draws :class:`Episodes` for one family, split and text setting."""

    def __init__(self, spec: FamilySpec, split: str, text: str, sentence_order: str, withhold: int):
        for prop in spec.properties:
            if prop not in PROPERTY_IDS:
                raise ValueError(
                    f"property {prop!r} is not one of the engine's {BUILTIN_PROPERTIES}"
                )
        self.k = spec.num_floor_colors
        self.split, self.text, self.order, self.withhold = split, text, sentence_order, withhold
        if split == "Fixed":
            self.fixed_colors = np.array([COLOR_TO_IDX[c] for c in spec.fixed])
            self.fixed_props = np.array([PROPERTY_IDS[p] for p in spec.fixed.values()])
        else:
            self.one_trap = spec.assignment == "one-trap"
            if self.one_trap:
                options = [safe_properties(spec, split, c) for c in spec.floor_colors]
                traps = set(trap_colors(spec, split))
                self.trap_slots = np.array(
                    [k for k, c in enumerate(spec.floor_colors) if c in traps]
                )
            else:
                options = [allowed_properties(spec, split, c) for c in spec.floor_colors]
            width = max(len(o) for o in options)
            self.slot_colors = np.array([COLOR_TO_IDX[c] for c in spec.floor_colors])
            self.options = np.array(
                [[PROPERTY_IDS[p] for p in o] + [0] * (width - len(o)) for o in options]
            )
            self.num_options = np.array([len(o) for o in options])
        self.held_table = np.zeros((NUM_COLORS, len(BUILTIN_PROPERTIES)), dtype=bool)
        for color, prop in spec.held_out_pairs:
            self.held_table[COLOR_TO_IDX[color], PROPERTY_IDS[prop]] = True
        self.perms = np.array(list(itertools.permutations(range(self.k))))

    def draw(self, rng: np.random.Generator, r: int) -> Episodes:
        k = self.k
        if self.split == "Fixed":
            chosen = np.sort(
                np.argsort(rng.random((r, len(self.fixed_colors))), axis=1)[:, :k], axis=1
            )
            colors, props = self.fixed_colors[chosen], self.fixed_props[chosen]
        else:
            pick = (rng.random((r, k)) * self.num_options).astype(np.int64)
            colors = np.broadcast_to(self.slot_colors, (r, k)).copy()
            props = self.options[np.arange(k), pick]
            if self.one_trap:
                trap = self.trap_slots[(rng.random(r) * len(self.trap_slots)).astype(np.int64)]
                props[np.arange(r), trap] = TRAP
        trap_mask = ((props == TRAP) << np.arange(k)).sum(axis=1)
        held_out = self.held_table[colors, props].any(axis=1)

        stated = props
        if self.text == "shuffled":
            permuted = props[:, self.perms]  # (r, P, k)
            wrong = (permuted != props[:, None, :]).sum(axis=2)
            best = wrong == wrong.max(axis=1, keepdims=True)
            choice = np.argmax(np.where(best, rng.random(best.shape), -1.0), axis=1)
            stated = permuted[np.arange(r), choice]
        order = np.argsort(_COLOR_RANK[colors], axis=1, kind="stable")
        if self.order == "shuffled":
            order = np.take_along_axis(order, np.argsort(rng.random((r, k)), axis=1), axis=1)
        kept = k - self.withhold if self.text != "none" else 0
        if self.withhold and kept:
            keep = np.sort(np.argsort(rng.random((r, k)), axis=1)[:, :kept], axis=1)
            order = np.take_along_axis(order, keep, axis=1)
        row_slots = np.full((r, k), -1, dtype=np.int64)
        row_slots[:, :kept] = order[:, :kept]
        row_props = np.where(
            row_slots >= 0, np.take_along_axis(stated, np.maximum(row_slots, 0), 1), -1
        )
        filler = np.zeros((r, k, WORDS_PER_SENTENCE), dtype=np.int64)
        if self.text == "random":
            filler[:, :kept] = rng.integers(len(FILLER_WORDS), size=(r, kept, WORDS_PER_SENTENCE))
        return Episodes(
            colors=colors,
            props=props,
            held_out=held_out,
            trap_mask=trap_mask,
            row_slots=row_slots,
            row_props=row_props,
            filler=filler,
            random_text=self.text == "random",
        )


class EpisodeStream:
    """The sequence of episodes a batched env consumes, a deterministic function of its seed.

    Episodes are drawn ahead in chunks of ``chunk`` rows (numpy's cost is per call, not per
    row): each chunk is :meth:`EpisodeSampler.draw` followed by the choice of a bank entry in
    the bucket of each episode's trap set, both from the env's generator. The stream is the
    concatenation of the chunks, so every backend that draws the same chunks in the same
    order sees the same episodes.
    """

    def __init__(self, sampler: EpisodeSampler, bank, chunk: int):
        self.sampler, self.chunk = sampler, int(chunk)
        self._bucket_start, self._bucket_count = bank.bucket_table(sampler.k)
        self._queue: tuple[Episodes, np.ndarray, np.ndarray] | None = None
        self._pos = 0

    def restart(self) -> None:
        """Forget the episodes drawn ahead (after the generator is re-seeded)."""
        self._queue, self._pos = None, 0

    def next_chunk(self, rng: np.random.Generator) -> tuple[Episodes, np.ndarray, np.ndarray]:
        """A fresh chunk: (episodes, bank entries, description tokens), ``chunk`` rows each."""
        m = self.chunk
        eps = self.sampler.draw(rng, m)
        count = self._bucket_count[eps.trap_mask]
        if (count == 0).any():
            missing = int(eps.trap_mask[count == 0][0])
            raise RuntimeError(f"layout bank has no bucket for trap set {missing:#b}")
        entry = self._bucket_start[eps.trap_mask] + (rng.random(m) * count).astype(np.int64)
        return eps, entry, eps.description_tokens()

    def take(self, rng: np.random.Generator, r: int) -> tuple[Episodes, np.ndarray, np.ndarray]:
        """The next ``r`` episodes of the stream (``r`` at most ``chunk``)."""
        if r > self.chunk:
            raise ValueError(f"cannot take {r} episodes at once; the chunk is {self.chunk}")
        if self._queue is None or self._pos + r > len(self._queue[0]):
            fresh = self.next_chunk(rng)
            if self._queue is not None and self._pos < len(self._queue[0]):
                rest = slice(self._pos, None)
                old_eps, old_entry, old_tokens = self._queue
                fresh = (
                    old_eps.subset(rest).concat(fresh[0]),
                    np.concatenate([old_entry[rest], fresh[1]]),
                    np.concatenate([old_tokens[rest], fresh[2]]),
                )
            self._queue, self._pos = fresh, 0
        take = slice(self._pos, self._pos + r)
        self._pos += r
        eps, entry, tokens = self._queue
        return eps.subset(take), entry[take], tokens[take]
