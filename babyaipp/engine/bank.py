"""Layout banks: layouts made by the reference generator, cached on disk, reused by the engine.

The reference envs generate a few hundred to a few thousand layouts per second per core; the
engine consumes far more episodes than that. A bank is a fixed set of layouts made once by the
reference generator itself (:func:`babyaipp.engine.reference.forced_map_env`, i.e.
``DynamicsLevel.reset(seed=...)`` with recorded seeds), so each family keeps its exact layout
distribution and placement rules.

**What a bank entry holds** (everything the reference generator makes from its layout and
dynamics streams): the grid (walls, doors, objects), the floor tiles as *slots* (slot k = the
k-th colour of the episode's map), the agent's start cell and heading, the instruction and
the objects it refers to, and ``max_steps``.

**What is drawn per episode** from the vector env's seeded generator
(:mod:`babyaipp.engine.sampling`): the colour→property map, and with it the tile colours
(slot k takes the map's k-th colour), the description text, and which bank entry to use.

**Traps and solvability.** The reference places tiles, then re-draws the placement (and, after
50 failures, the whole layout) while trap tiles cut the agent off from an object. Which cells
may be traps depends on which colours of the map are traps, so a bank is split into buckets
by *trap set* (the set of slots whose property is trap): each bucket is generated with a map
whose trap slots are exactly that set (the other slots get a non-trap property; uniform
placement does not depend on which). An episode first draws its map, then an entry from the
bucket of the map's trap set. Because the reference's layout and tile distribution depends on
the map only through its trap set, every episode's (layout, tiles, map) is distributed exactly
as the reference env's, up to the finite number of layouts per bucket. Only the trap sets some
split of the family can draw get a bucket.

**Size and files.** ``size`` layouts per bucket (:data:`DEFAULT_BANK_SIZE`; like Procgen's
``num_levels``, it bounds how many distinct layouts training sees). A bank is an ``.npz`` file
in :func:`bank_dir` named ``<Family>-<key hash>.npz``; the key hashes the bank format version,
the family spec (everything that shapes layouts), the density, the size, the seed, the minigrid
and babyaipp versions, the source of the generating modules and the engine's cell numbering, so
any change that could alter layouts or their encoding selects a new file. The file also stores
the SHA-256 of its arrays, checked on load. Files are written atomically (temp file +
``os.replace``).

Build with ``babyaipp bank build`` (or ``python -m babyaipp bank build``); the command is
:mod:`babyaipp.engine.cli`, which imports this module (never the other way round).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import minigrid
import numpy as np
from minigrid.envs.babyai.core.verifier import (
    AfterInstr,
    AndInstr,
    BeforeInstr,
    GoToInstr,
    OpenInstr,
    PickupInstr,
    PutNextInstr,
)

import babyaipp
from babyaipp import vocab
from babyaipp.catalog import FamilySpec
from babyaipp.engine import codes
from babyaipp.engine.reference import forced_map_env
from babyaipp.io import atomic_path
from babyaipp.splits import allowed_properties, trap_colors

BANK_FORMAT = 2
DEFAULT_BANK_SIZE = 1000
"""Layouts per trap-set bucket when none is given (a family has 1 to 2**K buckets)."""
GOTO, PUTNEXT, PICKUP, OPEN = "goto", "putnext", "pickup", "open"
VERIFIERS: tuple[str, ...] = (GOTO, PUTNEXT, PICKUP, OPEN)
GOTO_BITS = 0x0F  # tag bits of the (up to 4) go-tos of a GoTo instruction or sequence
"""The BabyAI instructions the engine verifies (a bank holds one kind)."""
_ARRAYS = ("cells", "tags", "agent", "mission", "max_steps", "seeds", "trap_mask", "program")
# Modules whose source shapes layouts and tiles: a change there must select a new bank.
_GENERATOR_MODULES = (
    "babyaipp.env",
    "babyaipp.placement",
    "babyaipp.splits",
    "babyaipp.base_levels",
)


class BankError(RuntimeError):
    """A bank file that cannot be used (corrupt, or made for something else)."""


def bank_dir() -> Path:
    """Where banks are cached: ``$BABYAIPP_BANK_DIR``, else ``~/.cache/babyaipp/banks``."""
    root = os.environ.get("BABYAIPP_BANK_DIR")
    return Path(root) if root else Path.home() / ".cache" / "babyaipp" / "banks"


def trap_masks(spec: FamilySpec) -> list[int]:
    """Every trap set (bit k: slot k is a trap) that some split of ``spec`` can draw."""
    k = spec.num_floor_colors
    if spec.assignment == "one-trap":
        return sorted(
            {1 << spec.floor_colors.index(c) for s in spec.splits for c in trap_colors(spec, s)}
        )
    masks = set()
    for split in spec.splits:
        if split == "Fixed":
            colors = list(spec.fixed)
            for chosen in itertools.combinations(colors, k):
                masks.add(sum(1 << s for s, c in enumerate(chosen) if spec.fixed[c] == "trap"))
            continue
        per_slot = [
            {p == "trap" for p in allowed_properties(spec, split, c)} for c in spec.floor_colors
        ]
        for combo in itertools.product(*per_slot):
            masks.add(sum(1 << s for s, trap in enumerate(combo) if trap))
    return sorted(masks)


def bank_key(spec: FamilySpec, size: int, seed: int, density: float | None) -> dict:
    """Everything a bank's content depends on (its file name hashes this)."""
    shape = spec.to_dict()
    for unused in ("doc", "withhold"):  # text only: no effect on layouts
        shape.pop(unused)
    source = hashlib.sha256()
    for name in _GENERATOR_MODULES:
        source.update(inspect.getsource(importlib.import_module(name)).encode())
    return {
        "format": BANK_FORMAT,
        "spec": shape,
        "density": spec.density if density is None else float(density),
        "size": int(size),
        "seed": int(seed),
        "minigrid": minigrid.__version__,
        "babyaipp": babyaipp.__version__,
        "generator_source": source.hexdigest()[:16],
        # the cell numbering the arrays are written in
        "codes": hashlib.sha256(codes.ENCODING.tobytes()).hexdigest()[:16],
    }


def _key_hash(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def bank_path(
    spec: FamilySpec,
    size: int,
    seed: int = 0,
    density: float | None = None,
    root: str | Path | None = None,
) -> Path:
    root = Path(root) if root is not None else bank_dir()
    return root / f"{spec.key}-{_key_hash(bank_key(spec, size, seed, density))}.npz"


@dataclass(frozen=True)
class LayoutBank:
    """A bank in memory. Entries are sorted by trap set; arrays are indexed by entry.

    - ``cells`` (B, H, W) uint8 engine codes, floor tiles as ``SLOT_BASE + slot``;
    - ``tags`` (B, H, W) uint8: which objects the instruction tracks. GoTo: bit k marks the
      objects of the k-th go-to of the instruction (sequences have up to 4); PutNext: bit 0 the
      fixed objects, bit 1 the objects to move; Pickup and Open: bit 0;
    - ``program`` (B, 2) uint8, GoTo only: the go-tos (bits, as in ``tags``) to complete
      first, in any order, then the ones to complete second (0: none). ``go to X`` is
      ``[1, 0]``; ``X and Y`` is ``[3, 0]``; ``X, then Y and Z`` and ``Y and Z after you X`` are
      ``[1, 6]``;
    - ``agent`` (B, 3) int16: start x, y, heading; ``mission`` (B, 48) uint8 token ids;
      ``max_steps`` (B,) int32; ``seeds`` (B,) int64 the reference reset seed of each entry;
      ``trap_mask`` (B,) int64 the entry's bucket.
    """

    key: dict
    verifier: str
    missions: tuple[str, ...]
    cells: np.ndarray
    tags: np.ndarray
    agent: np.ndarray
    mission: np.ndarray
    max_steps: np.ndarray
    seeds: np.ndarray
    trap_mask: np.ndarray
    program: np.ndarray

    @property
    def size(self) -> int:
        return int(self.key["size"])

    @property
    def buckets(self) -> list[int]:
        return sorted(set(self.trap_mask.tolist()))

    def bucket_table(self, num_slots: int) -> tuple[np.ndarray, np.ndarray]:
        """(start, count) per trap mask 0 .. 2**num_slots - 1 (count 0: no such bucket)."""
        masks = np.arange(1 << num_slots)
        start = np.searchsorted(self.trap_mask, masks, side="left")
        stop = np.searchsorted(self.trap_mask, masks, side="right")
        return start, stop - start

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for name in _ARRAYS:
            array = np.ascontiguousarray(getattr(self, name))
            digest.update(f"{name}{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        digest.update("\n".join(self.missions).encode())
        return digest.hexdigest()

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file in the same folder, then ``os.replace``)."""
        path = Path(path)
        meta = {"key": self.key, "verifier": self.verifier, "content_sha256": self.content_hash()}
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez_compressed(
                f, meta=np.array(json.dumps(meta)), missions=np.array(self.missions), **arrays
            )
        return path

    @classmethod
    def load(cls, path: str | Path, expect_key: dict | None = None) -> LayoutBank:
        """Read a bank; BankError if it is corrupt, or made for another key than ``expect_key``."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in _ARRAYS}
                missions = tuple(str(m) for m in data["missions"])
        except (OSError, ValueError, KeyError) as error:
            raise BankError(f"cannot read layout bank {path}: {error}") from None
        if meta["key"].get("format") != BANK_FORMAT:
            raise BankError(
                f"{path}: bank format {meta['key'].get('format')}, expected {BANK_FORMAT}"
            )
        if expect_key is not None and meta["key"] != expect_key:
            raise BankError(f"{path}: made for another key ({meta['key']} != {expect_key})")
        bank = cls(key=meta["key"], verifier=meta["verifier"], missions=missions, **arrays)
        if bank.content_hash() != meta["content_sha256"]:
            raise BankError(f"{path}: content hash mismatch (corrupt file); delete it to rebuild")
        return bank


def goto_program(instrs) -> tuple[list, tuple[int, int]] | None:
    """A go-to instruction or sequence as (its go-to leaves, the two groups of leaf bits).

    BabyAI's sequences (``AndInstr``, ``BeforeInstr``, ``AfterInstr`` of go-tos) complete a
    first group of go-tos in any order, each latched when it succeeds, then a second group,
    checked from the step the first completes (see ``LayoutBank.program``). None when
    ``instrs`` is anything else (another action, or a sequence with one).
    """
    leaves: list = []

    def group(instr) -> int | None:
        if isinstance(instr, GoToInstr):
            leaves.append(instr)
            return 1 << (len(leaves) - 1)
        if isinstance(instr, AndInstr) and not instr.strict:
            a, b = group(instr.instr_a), group(instr.instr_b)
            return None if a is None or b is None else a | b
        return None

    if isinstance(instrs, (BeforeInstr, AfterInstr)) and not instrs.strict:
        a, b = group(instrs.instr_a), group(instrs.instr_b)
        if a is None or b is None:
            return None
        return leaves, ((a, b) if isinstance(instrs, BeforeInstr) else (b, a))
    first = group(instrs)
    return None if first is None else (leaves, (first, 0))


def encode_layout(env) -> dict:
    """One bank entry from a reference env right after ``reset`` (see :class:`LayoutBank`)."""
    if env.carrying is not None or env.agent_view_size != 7 or env.see_through_walls:
        raise BankError("the engine needs an empty-handed agent, a 7x7 view and occlusion")
    w, h = env.grid.width, env.grid.height
    slot = {color: k for k, color in enumerate(env.floor_map)}
    cells = np.empty(w * h, dtype=np.uint8)
    for i, obj in enumerate(env.grid.grid):
        cells[i] = (
            codes.SLOT_BASE + slot[obj.color]
            if obj is not None and obj.type == "floor"
            else codes.code_of(obj)
        )
    tags = np.zeros(w * h, dtype=np.uint8)
    instrs = env.instrs
    program = np.zeros(2, dtype=np.uint8)
    goto = goto_program(instrs)
    if goto is not None:
        verifier, (leaves, program[:]) = GOTO, goto
        tracked = [(leaf.desc, 1 << k) for k, leaf in enumerate(leaves)]
    elif isinstance(instrs, PutNextInstr):
        verifier, tracked = PUTNEXT, [(instrs.desc_fixed, 1), (instrs.desc_move, 2)]
    elif isinstance(instrs, PickupInstr) and not instrs.strict:
        verifier, tracked = PICKUP, [(instrs.desc, 1)]
    elif isinstance(instrs, OpenInstr) and not instrs.strict:
        verifier, tracked = OPEN, [(instrs.desc, 1)]
    else:
        raise BankError(f"the engine has no verifier for {type(instrs).__name__}")
    ids = {id(obj): i for i, obj in enumerate(env.grid.grid) if obj is not None}
    for desc, bit in tracked:
        where = {ids[id(obj)] for obj in desc.obj_set}
        if where != {int(x) + int(y) * w for x, y in desc.obj_poss}:
            raise BankError("tracked objects and their recorded positions disagree")
        tags[list(where)] |= bit
    return {
        "cells": cells.reshape(h, w),
        "tags": tags.reshape(h, w),
        "agent": np.array([*env.agent_pos, env.agent_dir], dtype=np.int16),
        "mission": vocab.encode_padded(env.mission).astype(np.uint8),
        "max_steps": env.max_steps,
        "program": program,
        "mission_text": env.mission,
        "verifier": verifier,
    }


def build_bank(
    spec: FamilySpec,
    size: int = DEFAULT_BANK_SIZE,
    seed: int = 0,
    density: float | None = None,
    progress: bool = True,
) -> LayoutBank:
    """Generate a bank: ``size`` reference resets per trap set, with recorded seeds."""
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"bank size {size!r} must be a positive integer")
    masks = trap_masks(spec)
    bar = _progress(len(masks) * size, f"bank {spec.key}", progress)
    entries, seeds, buckets = [], [], []
    for mask in masks:
        env = forced_map_env(spec, mask, density=density)
        for s in np.random.default_rng([seed, mask]).integers(2**62, size=size):
            env.reset(seed=int(s))
            entries.append(encode_layout(env))
            seeds.append(int(s))
            buckets.append(mask)
            bar.update(1)
    bar.close()
    verifiers = {e["verifier"] for e in entries}
    if len(verifiers) != 1:
        raise BankError(f"family {spec.key} mixes instruction kinds {sorted(verifiers)}")
    return LayoutBank(
        key=bank_key(spec, size, seed, density),
        verifier=verifiers.pop(),
        missions=tuple(e["mission_text"] for e in entries),
        cells=np.stack([e["cells"] for e in entries]),
        tags=np.stack([e["tags"] for e in entries]),
        agent=np.stack([e["agent"] for e in entries]),
        mission=np.stack([e["mission"] for e in entries]),
        max_steps=np.array([e["max_steps"] for e in entries], dtype=np.int32),
        seeds=np.array(seeds, dtype=np.int64),
        trap_mask=np.array(buckets, dtype=np.int64),
        program=np.stack([e["program"] for e in entries]),
    )


def load_or_build(
    spec: FamilySpec,
    size: int = DEFAULT_BANK_SIZE,
    seed: int = 0,
    density: float | None = None,
    root: str | Path | None = None,
    progress: bool = True,
    rebuild: bool = False,
) -> LayoutBank:
    """The cached bank for these settings, built (and saved) first if missing or stale."""
    path = bank_path(spec, size, seed, density, root)
    key = bank_key(spec, size, seed, density)
    if path.exists() and not rebuild:
        try:
            return LayoutBank.load(path, expect_key=key)
        except BankError as error:
            print(f"babyaipp: rebuilding layout bank ({error})", file=sys.stderr)
    bank = build_bank(spec, size, seed, density, progress)
    bank.save(path)
    return bank


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, desc: str, enabled: bool):
    if not enabled:
        return _NoBar()
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is in the agents/eval extras, not a core dependency
        print(f"{desc}: generating {total} layouts...", file=sys.stderr)
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="layout", file=sys.stderr)
