"""Colour→property maps per split: which pairs an episode may draw.

- ``Train``: each floor colour draws uniformly among the family's properties minus its held-out
  ones, so held-out pairs never occur.
- ``HeldOut``: each floor colour that has held-out properties draws uniformly among them only
  (the original's TargetPairOnly); a colour without any draws from all properties. In every
  built-in family but GoTo2x2Partial every colour has held-out pairs, so HeldOut episodes hold
  only unseen pairs.
- ``Test``: each floor colour draws uniformly among all properties (seen and held-out mixed).
- ``Fixed``: the family's fixed map; each episode uses K of its colours (K = number of floor
  colours), chosen at random, with their fixed properties.

Colours draw independently, so two colours may share a property, as in the original.

Families with ``assignment = "one-trap"`` (the v1 designs of leaderboard-v2) draw instead
exactly one trap colour per episode, so that which colour to avoid changes from episode to
episode and only the text tells it:

- the trap colour is uniform among :func:`trap_colors` (Train: the colours whose trap is not
  held out; HeldOut: those whose trap is; Test: all);
- every other colour draws uniformly among its non-trap properties that the split allows
  (:func:`allowed_properties` minus trap; in HeldOut a colour with held-out non-trap pairs
  draws among those, else among all non-trap properties).
"""

from __future__ import annotations

import numpy as np

from babyaipp.catalog import FamilySpec


def allowed_properties(spec: FamilySpec, split: str, color: str) -> tuple[str, ...]:
    """The properties ``color`` may take in ``split`` (not used by Fixed)."""
    held = spec.held_out.get(color, ())
    if split == "Train":
        return tuple(p for p in spec.properties if p not in held)
    if split == "HeldOut":
        return held or spec.properties
    if split == "Test":
        return spec.properties
    raise ValueError(f"split {split!r} has no per-colour draw; valid: Train, HeldOut, Test")


def trap_colors(spec: FamilySpec, split: str) -> tuple[str, ...]:
    """The colours that may be the trap of a one-trap episode of ``split``."""
    held = {c for c in spec.floor_colors if "trap" in spec.held_out.get(c, ())}
    if split == "Train":
        return tuple(c for c in spec.floor_colors if c not in held)
    if split == "HeldOut":
        return tuple(c for c in spec.floor_colors if c in held)
    if split == "Test":
        return spec.floor_colors
    raise ValueError(f"split {split!r} has no one-trap draw; valid: Train, HeldOut, Test")


def safe_properties(spec: FamilySpec, split: str, color: str) -> tuple[str, ...]:
    """The non-trap properties ``color`` may take in a one-trap episode of ``split``."""
    if split == "HeldOut":
        held = tuple(p for p in spec.held_out.get(color, ()) if p != "trap")
        if held:
            return held
        return tuple(p for p in spec.properties if p != "trap")
    return tuple(p for p in allowed_properties(spec, split, color) if p != "trap")


def draw_floor_map(spec: FamilySpec, split: str, rng: np.random.Generator) -> dict[str, str]:
    """Draw one episode's colour→property map (insertion order = the family's colour order)."""
    if split == "Fixed":
        if not spec.fixed:
            raise ValueError(f"family {spec.name} has no Fixed split; valid: {spec.splits}")
        colors = list(spec.fixed)
        chosen = rng.permutation(len(colors))[: spec.num_floor_colors]
        return {colors[i]: spec.fixed[colors[i]] for i in sorted(chosen)}
    if split not in spec.splits:
        raise ValueError(f"unknown split {split!r}; valid: {spec.splits}")
    if spec.assignment == "one-trap":
        traps = trap_colors(spec, split)
        trap = traps[int(rng.integers(len(traps)))]
        floor_map = {}
        for color in spec.floor_colors:
            options = ("trap",) if color == trap else safe_properties(spec, split, color)
            floor_map[color] = options[int(rng.integers(len(options)))]
        return floor_map
    floor_map = {}
    for color in spec.floor_colors:
        options = allowed_properties(spec, split, color)
        floor_map[color] = options[int(rng.integers(len(options)))]
    return floor_map


def has_held_out_pair(spec: FamilySpec, floor_map: dict[str, str]) -> bool:
    """Whether the map holds at least one of the family's held-out pairs."""
    pairs = spec.held_out_pairs
    return any((c, p) in pairs for c, p in floor_map.items())
