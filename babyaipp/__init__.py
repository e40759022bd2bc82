"""babyaipp: BabyAI levels with coloured floor tiles whose hidden dynamics are told in text.

Importing this package registers every ``BabyAIPP-<Family>-<Split>-v0`` id with gymnasium.
It never imports torch (the agents live in ``babyaipp.agents``).
"""

from __future__ import annotations

from babyaipp.catalog import FAMILIES, SPLITS, FamilySpec, SpecError, get_family
from babyaipp.dynamics import PROPERTIES, StepContext, TileRule, register_property
from babyaipp.env import DynamicsLevel, GenerationError, make_env
from babyaipp.registration import register_family, registered_ids
from babyaipp.vocab import VOCAB_HASH, VOCAB_VERSION
from babyaipp.wrappers import AppendDescription, TokenizeText

__version__ = "0.1.0"

__all__ = [
    "FAMILIES",
    "PROPERTIES",
    "SPLITS",
    "VOCAB_HASH",
    "VOCAB_VERSION",
    "AppendDescription",
    "DynamicsLevel",
    "FamilySpec",
    "GenerationError",
    "SpecError",
    "StepContext",
    "TileRule",
    "TokenizeText",
    "get_family",
    "make_env",
    "register_family",
    "register_property",
    "registered_ids",
]

from babyaipp.registration import register_builtin_families as _register_builtin

_register_builtin()
