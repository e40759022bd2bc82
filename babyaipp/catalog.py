"""Family specs: the declarative description of one babyaipp level family, and the catalog.

A family is one BabyAI base level plus its floor dynamics. Its spec file (TOML, one per family,
in ``levels/`` for the built-in ones) holds::

    name = "GoToRedBall"                                  # the <Family> part of the env ids
    base = "minigrid.envs.babyai.goto:GoToRedBallNoDists" # module:Class of a RoomGridLevel
    base_kwargs = {}                                      # passed to the base level
    properties = ["trap", "fliplr", "slippery"]           # registered property names
    floor_colors = ["blue", "green"]                      # one sentence per colour
    held_out = { green = ["trap"], blue = ["slippery"] }  # never drawn in Train
    fixed = { green = "slippery", red = "trap" }          # optional: adds the Fixed split
    withhold = 0           # sentences hidden by default (optional)
    density = 0.3          # chance that an eligible cell gets a tile (optional)
    clear_around_objects = false   # keep the 4 cells around objects tile-free (optional)
    doc = "one line shown by `babyaipp list`"            # optional
    version = 0            # the id's -v<N> (optional; see below)
    assignment = "independent"     # or "one-trap" (optional)
    tiles = "scatter"              # or "barrier" (optional)

Every id is ``BabyAIPP-<name>-<split>-v<version>``; splits are Train, HeldOut, Test and, when
``fixed`` is given, Fixed. Versions are designs: ``v0`` is the first (leaderboard-v1), ``v1``
the reading-necessary design of leaderboard-v2 (docs/benchmark-v2.md), which sets
``assignment = "one-trap"`` (exactly one colour is a trap each episode; :mod:`babyaipp.splits`)
and ``tiles = "barrier"`` (a line of tiles across the room; :mod:`babyaipp.placement`). A
family is known by its *key*: its name for version 0, ``<name>-v<version>`` otherwise
(``GoToRedBall``, ``GoToRedBall-v1``), which suites and results use.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.resources
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minigrid.core.constants import COLOR_NAMES

from babyaipp.dynamics import PROPERTIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SPLITS: tuple[str, ...] = ("Train", "HeldOut", "Test", "Fixed")
ID_TEMPLATE = "BabyAIPP-{family}-{split}-v{version}"
ASSIGNMENTS: tuple[str, ...] = ("independent", "one-trap")
TILE_LAYOUTS: tuple[str, ...] = ("scatter", "barrier")


class SpecError(ValueError):
    """A family spec that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class FamilySpec:
    """One level family. Construct with :meth:`from_dict` or :meth:`from_file` to validate."""

    name: str
    base: str
    properties: tuple[str, ...]
    floor_colors: tuple[str, ...]
    held_out: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fixed: Mapping[str, str] | None = None
    base_kwargs: Mapping[str, Any] = field(default_factory=dict)
    withhold: int = 0
    density: float = 0.3
    clear_around_objects: bool = False
    doc: str = ""
    version: int = 0
    assignment: str = "independent"
    tiles: str = "scatter"

    @property
    def key(self) -> str:
        """The family's name in the catalog, suites and results: ``name`` for version 0,
        ``name-v<version>`` otherwise."""
        return family_key(self.name, self.version)

    @property
    def splits(self) -> tuple[str, ...]:
        return SPLITS if self.fixed else SPLITS[:3]

    def env_id(self, split: str) -> str:
        if split not in self.splits:
            raise ValueError(f"family {self.key} has no split {split!r}; valid: {self.splits}")
        return ID_TEMPLATE.format(family=self.name, split=split, version=self.version)

    @property
    def held_out_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset((c, p) for c, props in self.held_out.items() for p in props)

    @property
    def num_floor_colors(self) -> int:
        return len(self.floor_colors)

    def base_class(self) -> type:
        """Import the base level class named by ``base``."""
        module_name, _, class_name = self.base.partition(":")
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as error:
            raise SpecError(
                f"family {self.name}: cannot import base level {self.base!r} ({error})"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_dict` turns back into this spec."""
        out = dataclasses.asdict(self)
        out["properties"] = list(self.properties)
        out["floor_colors"] = list(self.floor_colors)
        out["held_out"] = {c: list(p) for c, p in self.held_out.items()}
        out["fixed"] = dict(self.fixed) if self.fixed else None
        out["base_kwargs"] = dict(self.base_kwargs)
        for name in _OPTIONAL_DEFAULTS:  # left out at their defaults: version-0 dicts unchanged
            if out[name] == _OPTIONAL_DEFAULTS[name]:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> FamilySpec:
        """Validate ``data`` and build a spec; errors name ``source`` and the bad value."""
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise SpecError(f"{source}: unknown keys {unknown}; valid keys: {sorted(valid)}")
        missing = sorted(k for k in ("name", "base", "properties", "floor_colors") if k not in data)
        if missing:
            raise SpecError(f"{source}: missing required keys {missing}")

        def fail(message: str) -> SpecError:
            return SpecError(f"{source}: {message}")

        name = data["name"]
        if not isinstance(name, str) or not name.isalnum() or not name[:1].isupper():
            raise fail(f"name {name!r} must be a CamelCase alphanumeric word, like 'GoToRedBall'")
        base = data["base"]
        if not isinstance(base, str) or ":" not in base:
            raise fail(f"base {base!r} must be 'module:ClassName'")

        properties = tuple(_str_list(data["properties"], "properties", fail))
        for prop in properties:
            if prop not in PROPERTIES:
                raise fail(f"unknown property {prop!r}; valid: {list(PROPERTIES)}")
        if not properties:
            raise fail("properties must name at least one property")
        floor_colors = tuple(_str_list(data["floor_colors"], "floor_colors", fail))
        for color in floor_colors:
            _check_color(color, fail)
        if not floor_colors or len(set(floor_colors)) != len(floor_colors):
            raise fail(f"floor_colors {list(floor_colors)} must be distinct and non-empty")

        held_out: dict[str, tuple[str, ...]] = {}
        raw_held_out = data.get("held_out", {})
        if not isinstance(raw_held_out, Mapping):
            raise fail(f"held_out must be a table colour -> [properties], got {raw_held_out!r}")
        for color, props in raw_held_out.items():
            if color not in floor_colors:
                raise fail(
                    f"held-out colour {color!r} is not a floor colour of this family; "
                    f"valid: {list(floor_colors)}"
                )
            props = tuple(_str_list(props, f"held_out.{color}", fail))
            for prop in props:
                if prop not in properties:
                    raise fail(
                        f"held-out pair ({color}, {prop}) names a property this family does not "
                        f"enable; valid: {list(properties)}"
                    )
            if set(props) >= set(properties):
                raise fail(f"held_out.{color} holds out every property: Train could not draw it")
            held_out[color] = props

        fixed = data.get("fixed")
        if fixed is not None:
            if not isinstance(fixed, Mapping) or len(fixed) < len(floor_colors):
                raise fail(
                    f"fixed must map at least {len(floor_colors)} colours to properties, "
                    f"got {fixed!r}"
                )
            for color, prop in fixed.items():
                _check_color(color, fail)
                if prop not in properties:
                    raise fail(
                        f"fixed pair ({color}, {prop}) names a property this family does not "
                        f"enable; valid: {list(properties)}"
                    )
            fixed = dict(fixed)

        withhold = data.get("withhold", 0)
        if not isinstance(withhold, int) or not 0 <= withhold <= len(floor_colors):
            raise fail(f"withhold {withhold!r} must be an integer in [0, {len(floor_colors)}]")
        density = data.get("density", 0.3)
        if not isinstance(density, (int, float)) or not 0.0 <= density <= 1.0:
            raise fail(f"density {density!r} must be a number in [0, 1]")
        base_kwargs = data.get("base_kwargs", {})
        if not isinstance(base_kwargs, Mapping):
            raise fail(f"base_kwargs must be a table, got {base_kwargs!r}")
        clear = data.get("clear_around_objects", False)
        if not isinstance(clear, bool):
            raise fail(f"clear_around_objects {clear!r} must be true or false")
        version = data.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise fail(f"version {version!r} must be an integer >= 0")
        assignment = data.get("assignment", "independent")
        if assignment not in ASSIGNMENTS:
            raise fail(f"unknown assignment {assignment!r}; valid: {list(ASSIGNMENTS)}")
        tiles = data.get("tiles", "scatter")
        if tiles not in TILE_LAYOUTS:
            raise fail(f"unknown tiles {tiles!r}; valid: {list(TILE_LAYOUTS)}")
        if assignment == "one-trap":
            if "trap" not in properties or len(properties) < 2 or len(floor_colors) < 2:
                raise fail(
                    "assignment 'one-trap' needs 'trap' and another property, and 2+ colours"
                )
            trap_held = [c for c in floor_colors if "trap" in held_out.get(c, ())]
            if not trap_held or len(trap_held) == len(floor_colors):
                raise fail(
                    "assignment 'one-trap' needs the trap held out for some colours but not all "
                    f"(HeldOut draws its trap among them, Train among the others); got {trap_held}"
                )
            if fixed is not None:
                raise fail("assignment 'one-trap' has no Fixed split: drop 'fixed'")
        if tiles == "barrier" and assignment != "one-trap":
            raise fail("tiles 'barrier' needs assignment 'one-trap' (one trap segment)")
        return cls(
            name=name,
            base=base,
            properties=properties,
            floor_colors=floor_colors,
            held_out=held_out,
            fixed=fixed,
            base_kwargs=dict(base_kwargs),
            withhold=withhold,
            density=float(density),
            clear_around_objects=clear,
            doc=str(data.get("doc", "")),
            version=version,
            assignment=assignment,
            tiles=tiles,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> FamilySpec:
        """Read and validate a TOML spec file."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise SpecError(f"{path}: cannot read spec file ({error})") from None
        except tomllib.TOMLDecodeError as error:
            raise SpecError(f"{path}: malformed TOML ({error})") from None
        return cls.from_dict(data, source=str(path))


_OPTIONAL_DEFAULTS = {"version": 0, "assignment": "independent", "tiles": "scatter"}


def family_key(name: str, version: int) -> str:
    """The catalog key of family ``name`` at ``version`` (see :attr:`FamilySpec.key`)."""
    return name if version == 0 else f"{name}-v{version}"


def _str_list(value: Any, key: str, fail) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise fail(f"{key} must be a list of strings, got {value!r}")
    return list(value)


def _check_color(color: str, fail) -> None:
    if color not in COLOR_NAMES:
        raise fail(f"unknown colour {color!r}; valid: {COLOR_NAMES}")


FAMILIES: dict[str, FamilySpec] = {}
"""Every known family by name: the built-in catalog plus those added by ``register_family``."""


def builtin_spec_files() -> list[Path]:
    """The spec files of the shipped catalog (``babyaipp.levels``), sorted by name."""
    root = importlib.resources.files("babyaipp.levels")
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml"))


def load_builtin_catalog() -> dict[str, FamilySpec]:
    specs = [FamilySpec.from_file(path) for path in builtin_spec_files()]
    return {spec.key: spec for spec in specs}


def get_family(name: str) -> FamilySpec:
    """The family whose key is ``name`` (``GoToRedBall``, ``GoToRedBall-v1``); a ValueError
    naming the known families otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown family {name!r}; known: {sorted(FAMILIES)}") from None


def parse_env_id(env_id: str) -> tuple[str, str]:
    """Split ``BabyAIPP-<Family>-<Split>-v<N>`` into (family key, split).

    The id must be well-formed (ValueError otherwise); whether that family has that version
    is :func:`check_env_id`'s question.
    """
    parts = env_id.split(":")[-1].split("-")
    if (
        len(parts) != 4
        or parts[0] != "BabyAIPP"
        or parts[2] not in SPLITS
        or not (parts[3][:1] == "v" and parts[3][1:].isdigit())
    ):
        raise ValueError(f"{env_id!r} is not a babyaipp id like 'BabyAIPP-GoToRedBall-Train-v0'")
    return family_key(parts[1], int(parts[3][1:])), parts[2]


def check_env_id(env_id: str) -> FamilySpec:
    """The family of a registered-looking id; a ValueError naming what is wrong (the form,
    an unknown family, an unknown version of a known family, a split it does not have)."""
    key, split = parse_env_id(env_id)
    name, version = env_id.split(":")[-1].split("-")[1], env_id.split("-")[-1]
    if key not in FAMILIES:
        versions = sorted(f"v{s.version}" for s in FAMILIES.values() if s.name == name)
        if versions:
            raise ValueError(
                f"{env_id!r}: family {name} has no version {version}; valid: {versions}"
            )
        names = sorted({s.name for s in FAMILIES.values()})
        raise ValueError(f"{env_id!r}: unknown family {name!r}; known: {names}")
    spec = FAMILIES[key]
    if split not in spec.splits:
        raise ValueError(f"{env_id!r}: family {key} has no split {split}; valid: {spec.splits}")
    return spec
