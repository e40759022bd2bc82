"""Attempt 4's model variants, for re-running its runs (docs/results.md, attempt 4).

    python results/attempts/04-who-reads/variants.py train --env-id BabyAIPP-GoToRedBall-Train-v1 \
        --preset medium --model values-only-reader --seed 2 --env-backend batched \
        --torch-threads 1 --eval-interval 25 --total-frames 1000000
    python results/attempts/04-who-reads/variants.py probe BabyAIPP-GoToRedBall-HeldOut-v1 \
        --policy <checkpoint> --episodes 200

Registers, next to the project's models, the two arms of the 2x2 ablation that are not
registered models (``floor-reader`` and ``tile-reader`` are):

- ``values-only-reader``: floor-reader whose sentence values leave the colour word out (every
  colour word becomes ``<unk>`` before the sentence is encoded; the keys keep the words), so
  "blue floors are trap" and "green floors are trap" give the same value;
- ``predicate-reader``: tile-reader with the same values.

The run named ``floor-only-seed2-GoToRedBall`` was trained as ``floor-only-reader``, the name
tile-reader had during the attempt; it is registered here as an alias of tile-reader.
"""

from __future__ import annotations

import sys

import torch
from minigrid.core.constants import COLOR_TO_IDX

from babyaipp.agents.fusion import FloorReader, TileReader, register_model
from babyaipp.cli import main
from babyaipp.vocab import UNK, WORD_TO_ID


class PredicateValues:
    """Mixin: encode each sentence with its colour words replaced by ``<unk>``."""

    def encode_text(self, obs):
        colors = torch.tensor([WORD_TO_ID[c] for c in COLOR_TO_IDX if c in WORD_TO_ID])
        description = obs["description"].long()
        predicates = description.masked_fill(torch.isin(description, colors), UNK)
        return super().encode_text({**obs, "description": predicates})


class ValuesOnlyReader(PredicateValues, FloorReader):
    pass


class PredicateReader(PredicateValues, TileReader):
    pass


register_model("values-only-reader", ValuesOnlyReader)
register_model("predicate-reader", PredicateReader)
register_model("floor-only-reader", TileReader)

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
