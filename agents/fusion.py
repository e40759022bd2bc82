"""The fusion models: how the grid view and the text become one feature vector.

Every model is an ``nn.Module`` built from the observation space and a width, mapping the
observation tensors to ``(N, features_dim)``. The recurrent core and the actor/critic heads
(:mod:`babyaipp.agents.model`) and the stable-baselines3 adapter (:mod:`babyaipp.agents.sb3`)
sit on top of any of them. :data:`MODELS` maps a name to its class; :func:`register_model`
adds your own.

======================  =====================================================================
name                    what the text does
======================  =====================================================================
``image``               nothing: the text-blind baseline
``concat``              instruction and (mean) sentence vectors concatenated to the image vector
``film``                FiLM: instruction and sentences scale and shift the grid features
``attention``           the original BabyAI++ fusion: per-cell weights over sentence *slots*,
                        computed from the image alone (keyed by position, so it cannot tell
                        which sentence names which colour once the order is shuffled)
``cross-attention``     ours: each cell attends over the description's words (keys from the
                        words, values from their sentences), so a cell finds the sentence that
                        names its colour wherever it is; then FiLM by the instruction
``floor-reader``        cross-attention whose grid sees floor tiles only through what they read
                        (no floor colour): no per-colour prior to memorise
``tile-reader``         floor-reader in which only floor tiles read (the others get nothing from
                        the text): a held-out pair changes only the tiles it is about
======================  =====================================================================
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from gymnasium import spaces
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX
from torch import nn

from babyaipp.agents.config import DEFAULT_GRID_CONV
from babyaipp.agents.encoders import (
    NUM_COLORS,
    CellTable,
    GridEncoder,
    GridHead,
    TextEncoder,
    make_grid_conv,
    masked_mean,
)
from babyaipp.vocab import PAD, WORD_TO_ID

Obs = dict[str, torch.Tensor]


class Fusion(nn.Module):
    """Base class: a grid encoder, a text encoder (if ``uses_text``) and a flattening head.

    Subclasses implement :meth:`forward` and may override :meth:`attention`. ``features_dim``
    is the width of the output; ``grid_conv`` (a name in
    :data:`babyaipp.agents.encoders.GRID_CONVS`) is the kind of the 3×3 convolutions over the
    grid, which subclasses pass on to the blocks they add.
    """

    uses_text: ClassVar[bool] = True

    def __init__(
        self, observation_space: spaces.Dict, dim: int = 128, grid_conv: str = DEFAULT_GRID_CONV
    ):
        super().__init__()
        height, width, _ = observation_space["image"].shape
        self.dim = dim
        self.features_dim = dim
        self.grid_conv = grid_conv
        self.grid = GridEncoder(dim, conv=grid_conv)
        if self.uses_text:
            vocab_size = int(observation_space["mission"].high.max()) + 1
            self.text = TextEncoder(vocab_size, dim)
        # LayerNorm before the ReLU: without it most units die within a few updates (the input
        # is 49 cells wide), and no batch norm, whose statistics would differ in rollouts
        self.flatten = GridHead(dim * height * width, dim)

    def encode_text(self, obs: Obs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Instruction vector (N, D), sentence vectors (N, K, D) and sentence mask (N, K)."""
        sentences, mask = self.text.sentences(obs["description"])
        return self.text(obs["mission"]), sentences, mask

    def forward(self, obs: Obs) -> torch.Tensor:
        raise NotImplementedError

    def attention(self, obs: Obs) -> torch.Tensor | None:
        """Per view cell, the sentence it attends to most (index, or -1); None: no attention."""
        return None


class ImageOnly(Fusion):
    """No text: the grid features, flattened."""

    uses_text = False

    def forward(self, obs: Obs) -> torch.Tensor:
        return self.flatten(self.grid(obs["image"], obs["direction"]))


class Concat(Fusion):
    """Image vector ‖ instruction vector ‖ mean of the sentence vectors, then a linear layer."""

    def __init__(
        self, observation_space: spaces.Dict, dim: int = 128, grid_conv: str = DEFAULT_GRID_CONV
    ):
        super().__init__(observation_space, dim, grid_conv)
        self.mix = nn.Sequential(nn.Linear(3 * dim, dim), nn.ReLU())

    def forward(self, obs: Obs) -> torch.Tensor:
        instruction, sentences, mask = self.encode_text(obs)
        image = self.flatten(self.grid(obs["image"], obs["direction"]))
        return self.mix(torch.cat([image, instruction, masked_mean(sentences, mask)], dim=1))


class FiLMBlock(nn.Module):
    """A residual conv block whose features are scaled and shifted by a conditioning vector."""

    def __init__(self, dim: int, cond_dim: int, conv: str = DEFAULT_GRID_CONV):
        super().__init__()
        self.conv = make_grid_conv(conv, dim)
        self.gamma = nn.Linear(cond_dim, dim)
        self.beta = nn.Linear(cond_dim, dim)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = (
            self.conv(x) * (1 + self.gamma(cond))[:, :, None, None]
            + self.beta(cond)[:, :, None, None]
        )
        return x + torch.relu(h)


class FiLM(Fusion):
    """Two FiLM blocks conditioned on instruction ‖ mean sentence vector (BabyAI 1.1 style)."""

    def __init__(
        self, observation_space: spaces.Dict, dim: int = 128, grid_conv: str = DEFAULT_GRID_CONV
    ):
        super().__init__(observation_space, dim, grid_conv)
        self.films = nn.ModuleList(FiLMBlock(dim, 2 * dim, self.grid_conv) for _ in range(2))

    def forward(self, obs: Obs) -> torch.Tensor:
        instruction, sentences, mask = self.encode_text(obs)
        cond = torch.cat([instruction, masked_mean(sentences, mask)], dim=1)
        x = self.grid(obs["image"], obs["direction"])
        for film in self.films:
            x = film(x, cond)
        return self.flatten(x)


class SlotAttention(Fusion):
    """The original BabyAI++ attention fusion ("MMA"), HEAD version.

    A conv on the *image features alone* gives each cell a softmax over K+1 slots: one per
    sentence position plus a null slot, dropped after the softmax. Each cell's text feature
    is the weighted sum of the sentence vectors in those slots; it is concatenated to the grid
    features and mixed by a 1×1 conv. Because the weights never see the text, slot k can only
    mean "the k-th sentence": the model relies on a fixed sentence order. The instruction,
    which the original cut off, is concatenated to the output here.
    """

    def __init__(
        self, observation_space: spaces.Dict, dim: int = 128, grid_conv: str = DEFAULT_GRID_CONV
    ):
        super().__init__(observation_space, dim, grid_conv)
        self.slots = observation_space["description"].shape[0]
        self.slot_logits = nn.Conv2d(dim, self.slots + 1, 3, padding=1)
        self.mix = nn.Sequential(nn.Conv2d(2 * dim, dim, 1), nn.ReLU())
        self.out = nn.Sequential(nn.Linear(2 * dim, dim), nn.ReLU())

    def _weights(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.slot_logits(x), dim=1)  # (N, K+1, H, W); slot K is null

    def forward(self, obs: Obs) -> torch.Tensor:
        instruction, sentences, mask = self.encode_text(obs)
        x = self.grid(obs["image"], obs["direction"])
        weights = self._weights(x)[:, : self.slots]
        sentences = sentences * mask.unsqueeze(2).to(sentences.dtype)
        text = torch.einsum("nkhw,nkd->ndhw", weights, sentences)
        image = self.flatten(self.mix(torch.cat([x, text], dim=1)))
        return self.out(torch.cat([image, instruction], dim=1))

    def attention(self, obs: Obs) -> torch.Tensor:
        x = self.grid(obs["image"], obs["direction"])
        best = self._weights(x).argmax(dim=1)  # (N, H, W)
        padded = torch.cat(
            [obs["description"].ne(0).any(dim=2), best.new_zeros(len(best), 1).bool()], 1
        )
        has_sentence = padded.gather(1, best.flatten(1)).view_as(best)
        return torch.where(has_sentence, best, torch.full_like(best, -1))


class CrossAttention(Fusion):
    """Text-keyed cross-attention: every view cell attends over the words of the description.

    Each cell's query comes from the embeddings of its object and colour; each word of each
    sentence is a key (from its word embedding) whose value is the (layer-normalised) vector of
    the sentence it belongs to. So the match depends on what the text says, not where it is: a
    blue cell finds the word "blue" and reads the meaning of "blue floors are trap" wherever
    that sentence is. A learned null key (with a zero value) lets cells that no sentence names
    attend to nothing; padding is masked out. What a cell reads is added to its embedding
    before the grid encoder's convolutions, as if the tile's property were one more channel
    of the view; then a FiLM block conditioned on the instruction.

    Initialisation (a starting point, not a constraint): each colour's grid embedding starts
    equal to the word embedding of its name and the query and key projections start equal, so
    a cell's colour starts out attending to the word that names it. Without this, learning sat
    on a long plateau before the attention found the colour words (see docs/agents.md).
    """

    def __init__(
        self, observation_space: spaces.Dict, dim: int = 128, grid_conv: str = DEFAULT_GRID_CONV
    ):
        super().__init__(observation_space, dim, grid_conv)
        self.query = nn.Linear(dim, dim, bias=False)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Sequential(nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.null_key = nn.Parameter(torch.zeros(1, 1, dim))
        self.film = FiLMBlock(dim, dim, self.grid_conv)
        with torch.no_grad():
            self.key.weight.copy_(self.query.weight)
            for name, index in COLOR_TO_IDX.items():
                if name in WORD_TO_ID and WORD_TO_ID[name] < len(self.text.embedding.weight):
                    self.grid.color.weight[index] = self.text.embedding.weight[WORD_TO_ID[name]]

    def _lookup(
        self, queries: torch.Tensor, description: torch.Tensor, sentences: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention of ``queries`` (B, Q, D) over the words of ``description`` (B, K, W), whose
        sentence vectors are ``sentences`` (B, K, D): weights (B, Q, K·W + 1; the last is
        null) and values (B, K·W + 1, D)."""
        n, _, words = description.shape
        keys = self.key(self.text.embedding(description)).flatten(1, 2)  # (B, K·W, D)
        values = self.value(sentences).repeat_interleave(words, dim=1)  # each word: its sentence
        keys = torch.cat([keys, self.null_key.expand(n, 1, -1)], dim=1)
        values = torch.cat([values, values.new_zeros(n, 1, self.dim)], dim=1)
        logits = self.query(queries) @ keys.transpose(1, 2) / math.sqrt(self.dim)
        valid = torch.cat([description.flatten(1) != PAD, description.new_ones(n, 1).bool()], dim=1)
        logits = logits.masked_fill(~valid.unsqueeze(1), torch.finfo(logits.dtype).min)
        return torch.softmax(logits, dim=2), values

    def _attend(self, obs: Obs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Weights (N, HW, K·W + 1; the last is null), values (N, K·W + 1, D), instruction."""
        instruction, sentences, _ = self.encode_text(obs)
        image = obs["image"].long()
        cells = (self.grid.object(image[..., 0]) + self.grid.color(image[..., 1])).flatten(1, 2)
        weights, values = self._lookup(cells, obs["description"].long(), sentences)
        return weights, values, instruction

    def read(self, obs: Obs) -> tuple[torch.Tensor, torch.Tensor]:
        """What each view cell reads (N, H, W, D), and the instruction vector (N, D)."""
        text, instruction = self._reading(obs)
        return (text.per_cell() if isinstance(text, CellTable) else text), instruction

    def _reading(self, obs: Obs) -> tuple[torch.Tensor | CellTable, torch.Tensor]:
        """:meth:`read`, as a table of what each kind of cell reads in each description when
        autograd is on (a PPO update).

        A cell's reading depends only on its object, its colour and the frame's description,
        and a minibatch of 128 frames holds some ten descriptions and ten kinds of cell against
        6,272 cells: so it is computed once per (description, kind), and the instruction and
        sentences in one text-encoder call, ~0.3x the time with its backward. The rounding
        differs (~1e-7), so without autograd (rollouts, evaluation, the committed entries'
        re-plays) every cell is computed as before, bit for bit.
        """
        if not torch.is_grad_enabled():
            weights, values, instruction = self._attend(obs)
            return (weights @ values).view(*obs["image"].shape[:3], self.dim), instruction
        description = obs["description"].long()
        n, sentences, words = description.shape
        texts, text_of_frame = self.text.distinct_rows(description.flatten(1))
        texts = texts.view(-1, sentences, words)
        image = obs["image"].long()
        kind = image[..., 0] * NUM_COLORS + image[..., 1]
        kinds, kind_of_cell = torch.unique(kind, return_inverse=True)  # (C,), (N, H, W)
        queries = self.grid.object(kinds // NUM_COLORS) + self.grid.color(kinds % NUM_COLORS)
        vectors, instruction = self.text.encode(texts.flatten(0, 1), obs["mission"])
        vectors = vectors.view(len(texts), sentences, self.dim)
        weights, values = self._lookup(queries.expand(len(texts), -1, -1), texts, vectors)
        table = (weights @ values).flatten(0, 1)  # row t·C + c: text t read by kind c
        return CellTable(
            table, text_of_frame.view(n, 1, 1) * len(kinds) + kind_of_cell
        ), instruction

    def forward(self, obs: Obs) -> torch.Tensor:
        text, instruction = self._reading(obs)
        readers = self.reading_cells(obs)
        if readers is not None and isinstance(text, CellTable):
            text = text.only_where(readers)
        elif readers is not None:
            text = text * readers.unsqueeze(-1).to(text.dtype)
        hidden = self.hidden_colors(obs)
        x = self.grid(obs["image"], obs["direction"], extra=text, hide_color=hidden)
        x = self.film(x, instruction)
        return self.flatten(x)

    def hidden_colors(self, obs: Obs) -> torch.Tensor | None:
        """Cells whose colour the grid encoder leaves out (N, H, W), or None: none."""
        return None

    def reading_cells(self, obs: Obs) -> torch.Tensor | None:
        """Cells that get what they read (bool, N, H, W); the others get nothing. None: all."""
        return None

    def attention(self, obs: Obs) -> torch.Tensor:
        weights, _, _ = self._attend(obs)
        n, cells, _ = weights.shape
        sentences = obs["description"].shape[1]
        per_sentence = weights[..., :-1].reshape(n, cells, sentences, -1).sum(dim=3)
        best = torch.cat([per_sentence, weights[..., -1:]], dim=2).argmax(dim=2)
        best = torch.where(best == sentences, torch.full_like(best, -1), best)
        best = best.view(obs["image"].shape[:3])
        readers = self.reading_cells(obs)
        return best if readers is None else best.masked_fill(~readers, -1)


class FloorReader(CrossAttention):
    """Cross-attention whose grid never sees a floor tile's colour, only what the tile reads.

    The same text-keyed lookup as ``cross-attention`` (a tile's colour is its query), but in the
    cell embedding the grid encoder convolves, a floor tile's colour embedding is left out: the
    policy can know the tile only through the sentence the lookup returns. So it cannot learn
    a per-colour prior such as "green is never a trap" (true in leaderboard-v2's Train split,
    false in HeldOut) from the pixels; objects keep their colours (the mission names them).
    """

    def hidden_colors(self, obs: Obs) -> torch.Tensor:
        return floor_cells(obs)


class TileReader(FloorReader):
    """floor-reader in which only floor tiles read: every other cell gets nothing from the text.

    The description is about floors, but in cross-attention and floor-reader every cell reads:
    each cell's query (its object and colour embeddings) settles on some word. Trained on
    leaderboard-v2's GoToRedBall-v1, the red ball's query settles on the word "green": in Train
    the goal then reads "fliplr" or "slippery", in HeldOut (green is the trap there) it reads
    "trap", and the policy no longer goes to it (docs/results.md, attempt 4). So what a cell
    reads is kept only for floor tiles; walls, objects and empty cells read nothing, and the
    held-out pair changes nothing but the tiles it is about.
    """

    def reading_cells(self, obs: Obs) -> torch.Tensor:
        return floor_cells(obs)


def floor_cells(obs: Obs) -> torch.Tensor:
    """Where the view shows a floor tile (bool, N, H, W)."""
    return obs["image"][..., 0].long() == FLOOR


FLOOR = OBJECT_TO_IDX["floor"]

MODELS: dict[str, type[Fusion]] = {
    "image": ImageOnly,
    "concat": Concat,
    "film": FiLM,
    "attention": SlotAttention,
    "cross-attention": CrossAttention,
    "floor-reader": FloorReader,
    "tile-reader": TileReader,
}
"""Model name → fusion class. Add your own with :func:`register_model`."""


def register_model(name: str, cls: type[Fusion]) -> None:
    """Make ``cls`` (a :class:`Fusion` subclass) selectable as ``--model name``."""
    if not (isinstance(cls, type) and issubclass(cls, Fusion)):
        raise TypeError(f"model {name!r}: {cls!r} is not a Fusion subclass")
    if name in MODELS:
        raise ValueError(f"model {name!r} is already registered; pick another name")
    MODELS[name] = cls


def get_model_class(name: str) -> type[Fusion]:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid: {list(MODELS)}") from None
