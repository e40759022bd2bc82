"""Registers every env id of the catalog with gymnasium, in one loop."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym

from babyaipp.catalog import FAMILIES, FamilySpec, load_builtin_catalog

# gymnasium calls an id "out of date" when a higher version is registered. babyaipp's versions
# are designs with boards of their own (v0: leaderboard-v1, v1: leaderboard-v2), both kept and
# verifiable, so the warning would be wrong for them.
warnings.filterwarnings(
    "ignore", message=r".*BabyAIPP-\w+-\w+-v\d+ is out of date", category=DeprecationWarning
)

ENTRY_POINT = "babyaipp.env:make_env"
VECTOR_ENTRY_POINT = "babyaipp.engine:make_vector_env"


def _register_spec(spec: FamilySpec, kwargs_family: str | dict) -> list[str]:
    ids = []
    for split in spec.splits:
        env_id = spec.env_id(split)
        gym.register(
            id=env_id,
            entry_point=ENTRY_POINT,
            vector_entry_point=VECTOR_ENTRY_POINT,
            kwargs={"family": kwargs_family, "split": split},
            disable_env_checker=False,
        )
        ids.append(env_id)
    return ids


def register_family(spec: FamilySpec | Mapping[str, Any] | str | Path) -> list[str]:
    """Register a user-defined family (a spec, a dict or a TOML file); returns its new env ids.

    The spec's full dict travels in the gym kwargs, so the ids also work in vector-env worker
    processes. Raises ValueError if a family of that name is already registered.
    """
    if isinstance(spec, (str, Path)):
        spec = FamilySpec.from_file(spec)
    elif not isinstance(spec, FamilySpec):
        spec = FamilySpec.from_dict(spec)
    if spec.key in FAMILIES:
        raise ValueError(f"family {spec.key!r} is already registered; pick another name")
    FAMILIES[spec.key] = spec
    return _register_spec(spec, spec.to_dict())


def register_builtin_families() -> list[str]:
    """Register the shipped catalog (called once by ``import babyaipp``)."""
    ids = []
    for key, spec in load_builtin_catalog().items():
        FAMILIES[key] = spec
        ids += _register_spec(spec, key)
    return ids


def registered_ids() -> list[str]:
    """Every babyaipp env id currently registered, in catalog order."""
    return [spec.env_id(split) for spec in FAMILIES.values() for split in spec.splits]
