"""The two encoders every model shares: one for the grid view, one for text.

Both take the tensors of a :class:`babyaipp.TokenizeText` observation (see
:func:`babyaipp.agents.model.obs_to_tensors`): ``image`` (N, 7, 7, 3) integer minigrid
encoding, ``direction`` (N,), ``mission`` (N, L) and ``description`` (N, K, W) token ids,
right-padded with 0.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX, STATE_TO_IDX
from torch import nn

from babyaipp.agents.config import DEFAULT_GRID_CONV
from babyaipp.vocab import PAD

NUM_OBJECTS = len(OBJECT_TO_IDX)
NUM_COLORS = len(COLOR_TO_IDX)
NUM_STATES = len(STATE_TO_IDX)


class _IndexAddLookup(torch.autograd.Function):
    """Rows of ``weight`` at ``indices``; the backward sums the gradients with ``index_add_``."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(indices)
        ctx.rows = weight.shape[0]
        return weight.index_select(0, indices.reshape(-1)).view(*indices.shape, weight.shape[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (indices,) = ctx.saved_tensors
        flat = grad.reshape(-1, grad.shape[-1])
        weight_grad = flat.new_zeros(ctx.rows, flat.shape[1])
        return weight_grad.index_add_(0, indices.reshape(-1), flat), None


def gather_rows(rows: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``rows[index]`` (index's shape + rows' width); with autograd on CPU, its backward sums
    the gradients with ``index_add_``, several times faster there than ``rows[index]``'s."""
    if rows.device.type != "cpu" or not torch.is_grad_enabled():
        return rows[index]
    return _IndexAddLookup.apply(rows, index)


class TableEmbedding(nn.Embedding):
    """``nn.Embedding`` for the grid's small tables (a few rows, ~50 lookups per observation).

    The same parameters and the same forward values (a row lookup), but on CPU with autograd
    its backward sums the gradients with ``index_add_``, about 6x faster there than torch's
    dense embedding backward for such shapes, which took 15% of a PPO update's time.
    """

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        plain = self.padding_idx is not None or indices.device.type != "cpu"
        if plain or not (torch.is_grad_enabled() and self.weight.requires_grad):
            return super().forward(indices)
        return _IndexAddLookup.apply(self.weight, indices.long())


class GridHead(nn.Sequential):
    """``Flatten → Linear → LayerNorm → ReLU`` over ``(N, C, H, W)`` grid features: the
    parameters, the state-dict keys and (without autograd, bit for bit) the values of that
    ``nn.Sequential``.

    With autograd and channels-last features (what the grid encoder makes), it flattens them in
    their own (H, W, C) order, a free view, and permutes the linear layer's weight to match
    (the same sums in another order, ~1e-7 apart). ``nn.Flatten`` of channels-last features
    is a transposing copy, forward and backward: 7% of a PPO minibatch's time.
    """

    def __init__(self, in_features: int, dim: int):
        super().__init__(nn.Flatten(), nn.Linear(in_features, dim), nn.LayerNorm(dim), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flatten, linear, *rest = self
        if x.dim() == 4 and torch.is_grad_enabled() and is_channels_last(x):
            n, c, h, w = x.shape
            weight = linear.weight.view(-1, c, h, w).permute(0, 2, 3, 1).reshape(-1, h * w * c)
            x = nn.functional.linear(x.permute(0, 2, 3, 1).reshape(n, -1), weight, linear.bias)
        else:
            x = linear(flatten(x))
        for module in rest:
            x = module(x)
        return x


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether ``x`` (N, C, H, W) is laid out channels-last (and not also NCHW-contiguous)."""
    return not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)


def full_conv(dim: int) -> nn.Module:
    """A 3×3 convolution, ``dim`` → ``dim`` channels (9·dim² weights per cell)."""
    return nn.Conv2d(dim, dim, 3, padding=1)


def separable_conv(dim: int) -> nn.Module:
    """A depthwise 3×3 convolution then a 1×1 one (MobileNet's): the same 3×3 neighbourhood
    with 9·dim + dim² weights per cell instead of 9·dim². On the CPU at width 32 its forward
    and backward take ~0.55x the time of :func:`full_conv` (channels-last input)."""
    return nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1, groups=dim), nn.Conv2d(dim, dim, 1))


GRID_CONVS = {"full": full_conv, "separable": separable_conv}
"""The 3×3 convolutions a model's grid layers can use (``grid_conv``): name → factory."""


def make_grid_conv(name: str, dim: int) -> nn.Module:
    """The ``name`` convolution of :data:`GRID_CONVS` at width ``dim``."""
    try:
        return GRID_CONVS[name](dim)
    except KeyError:
        raise ValueError(f"unknown grid_conv {name!r}; valid: {list(GRID_CONVS)}") from None


def unique_rows(rows: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of ``rows`` (n, w), integers in ``[0, 2**bits)``, in any order, and per
    row the index of its distinct row (``rows == distinct[inverse]``).

    Exact, and ~50x faster on CPU than ``torch.unique(dim=0)``: the columns are packed, as
    many as fit, into one int64 key per row for a 1-D ``torch.unique``; wider rows take more
    passes, each packing the previous pass's row ids with the next columns.
    """
    n, width = rows.shape
    inverse, ids, start = rows.new_zeros(n), 1, 0
    while start < width or start == 0:
        id_bits = (ids - 1).bit_length()
        stop = start + max(1, (63 - id_bits) // bits)
        chunk = rows[:, start:stop]
        shifts = torch.arange(chunk.shape[1], device=rows.device) * bits
        key = (inverse << (bits * chunk.shape[1])) + (chunk << shifts).sum(dim=1)
        keys, inverse = torch.unique(key, return_inverse=True)
        ids, start = len(keys), stop
    first = torch.full((ids,), n, dtype=torch.long, device=rows.device)
    first.scatter_reduce_(0, inverse, torch.arange(n, device=rows.device), reduce="amin")
    return rows[first], inverse


class CellTable(NamedTuple):
    """Per-cell vectors ``rows[index]`` (N, H, W, D) kept as a table: ``rows`` (M, D) and
    ``index`` (N, H, W), for when far fewer than N·H·W of them are distinct."""

    rows: torch.Tensor
    index: torch.Tensor

    def per_cell(self) -> torch.Tensor:
        return gather_rows(self.rows, self.index)

    def only_where(self, mask: torch.Tensor) -> CellTable:
        """The same table with zero vectors where the bool ``mask`` (N, H, W) is False."""
        rows = torch.cat([self.rows, self.rows.new_zeros(1, self.rows.shape[1])])
        return CellTable(rows, self.index.masked_fill(~mask, len(self.rows)))


class GridEncoder(nn.Module):
    """Minigrid view → per-cell features ``(N, dim, H, W)``.

    Each cell's object, colour and state index gets a learned embedding (not the raw integers
    the original fed its CNN); the three and an embedding of the agent's direction are summed
    and layer-normalised, then residual 3×3 conv blocks (``conv``, a name in
    :data:`GRID_CONVS`) mix neighbouring cells (the residual path keeps each cell's own
    identity readable).

    With autograd (a PPO update) the embedding is computed once per distinct cell (object,
    colour, state, direction, row of ``extra``) and gathered: a 128-frame minibatch has 6,272
    cells but some hundreds of distinct ones. The values are the same bit for bit (the same
    additions in the same order, row by row); its backward takes a fraction of the time.
    """

    def __init__(self, dim: int, blocks: int = 1, conv: str = DEFAULT_GRID_CONV):
        super().__init__()
        self.object = TableEmbedding(NUM_OBJECTS, dim)
        self.color = TableEmbedding(NUM_COLORS, dim)
        self.state = TableEmbedding(NUM_STATES, dim)
        self.direction = TableEmbedding(4, dim)
        self.norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(
            nn.Sequential(make_grid_conv(conv, dim), nn.ReLU()) for _ in range(blocks)
        )

    def forward(
        self,
        image: torch.Tensor,
        direction: torch.Tensor,
        extra: torch.Tensor | CellTable | None = None,
        hide_color: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cell features; ``extra`` (N, H, W, dim), if given, is added to each cell's embedding;
        where the bool mask ``hide_color`` (N, H, W) is true, the cell's colour is left out."""
        image, direction = image.long(), direction.long()[:, None, None]
        if torch.is_grad_enabled() and not torch.is_tensor(extra):
            x = self._embed_each_distinct_cell(image, direction, extra, hide_color)
        else:
            if isinstance(extra, CellTable):
                extra = extra.per_cell()
            x = self._embed(image.unbind(-1), direction, extra, hide_color)
        x = x.permute(0, 3, 1, 2)  # (N, dim, H, W)
        for block in self.blocks:
            x = x + block(x)
        return x

    def _embed(
        self,
        cell: tuple[torch.Tensor, ...],
        direction: torch.Tensor,
        extra: torch.Tensor | None,
        hide_color: torch.Tensor | None,
    ) -> torch.Tensor:
        """The layer-normalised embeddings of cells: ``cell`` is their (object, colour, state)
        indices, the other arguments one value per cell, as in :meth:`forward`."""
        color = self.color(cell[1])
        if hide_color is not None:
            color = color.masked_fill(hide_color.unsqueeze(-1), 0.0)
        x = self.object(cell[0]) + color + self.state(cell[2]) + self.direction(direction)
        if extra is not None:
            x = x + extra
        return self.norm(x)

    def _embed_each_distinct_cell(
        self,
        image: torch.Tensor,
        direction: torch.Tensor,
        extra: CellTable | None,
        hide_color: torch.Tensor | None,
    ) -> torch.Tensor:
        columns = [*image.unbind(-1), direction.expand(image.shape[:3])]
        if hide_color is not None:
            columns.append(hide_color.long())
        if extra is not None:
            columns.append(extra.index)
        keys = torch.stack(columns, dim=-1).flatten(0, 2)  # (N·H·W, columns)
        bits = max(
            NUM_OBJECTS, NUM_COLORS, NUM_STATES, 4, len(extra.rows) if extra is not None else 0
        )
        distinct, inverse = unique_rows(keys, (bits - 1).bit_length())
        x = self._embed(
            tuple(distinct[:, :3].T),
            distinct[:, 3],
            extra.rows[distinct[:, -1]] if extra is not None else None,
            distinct[:, 4].bool() if hide_color is not None else None,
        )
        return gather_rows(x, inverse).view(*image.shape[:3], -1)


class TextEncoder(nn.Module):
    """Token ids ``(B, L)`` → one vector per sequence ``(B, dim)``: word embeddings + a GRU.

    The vector is the GRU output at the last non-pad token, so trailing padding never changes
    it (the GRU is causal); an all-pad sequence gives the zero vector. Identical rows are
    encoded once (in a batch of rollouts most missions and sentences repeat), which is exact
    and saves most of the GRU's time. Without autograd (rollouts, evaluation) the vectors are
    also cached across calls until a parameter changes: a text stays the same for a whole
    episode.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.gru = nn.GRU(dim, dim, batch_first=True)
        self.dim = dim
        self._cache: dict[bytes, torch.Tensor] = {}
        self._cache_key: tuple = ()

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = tokens.long()
        lengths = (tokens != PAD).sum(dim=1)
        out = tokens.new_zeros((tokens.shape[0], self.dim), dtype=self.embedding.weight.dtype)
        longest = int(lengths.max()) if tokens.numel() else 0
        if longest == 0:
            return out
        unique, inverse = self.distinct_rows(tokens[:, :longest])
        if torch.is_grad_enabled():
            return self._encode(unique)[inverse]
        return self._encode_cached(unique)[inverse]

    def distinct_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The distinct rows and, per row, the index of its distinct row (any order)."""
        return unique_rows(rows, max(1, (self.embedding.num_embeddings - 1).bit_length()))

    def _encode(self, unique: torch.Tensor) -> torch.Tensor:
        lengths = (unique != PAD).sum(dim=1)
        hidden, _ = self.gru(self.embedding(unique))
        last = hidden[torch.arange(len(unique), device=unique.device), (lengths - 1).clamp(min=0)]
        return last * (lengths > 0).unsqueeze(1).to(last.dtype)

    def _encode_cached(self, unique: torch.Tensor) -> torch.Tensor:
        # Parameters change in place (optimizer steps, load_state_dict), which bumps their
        # version counters; a move to another device changes their storage.
        key = (
            tuple((p.data_ptr(), p._version) for p in self.parameters()),
            torch.is_autocast_enabled(unique.device.type),
        )
        if key != self._cache_key or len(self._cache) > 100_000:
            self._cache, self._cache_key = {}, key
        rows = [row.tobytes() for row in unique.cpu().numpy()]
        missing = [i for i, row in enumerate(rows) if row not in self._cache]
        if missing:
            for i, vector in zip(missing, self._encode(unique[missing]), strict=True):
                self._cache[rows[i]] = vector
        return torch.stack([self._cache[row] for row in rows])

    def encode(self, *batches: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`forward` of each token batch ``(B_i, L_i)``, in one call: one GRU run over
        the distinct rows of them all (exact: trailing padding changes no vector)."""
        width = max(batch.shape[1] for batch in batches)
        rows = torch.cat(
            [nn.functional.pad(b, (0, width - b.shape[1]), value=PAD) for b in batches]
        )
        return list(self.forward(rows).split([len(batch) for batch in batches]))

    def sentences(self, description: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(N, K, W)`` → sentence vectors ``(N, K, dim)``, mask ``(N, K)`` (True: text)."""
        n, k, w = description.shape
        vectors = self.forward(description.reshape(n * k, w)).reshape(n, k, self.dim)
        return vectors, (description != PAD).any(dim=2)


def masked_mean(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors`` (N, K, D) over the rows where ``mask`` (N, K) is True (0 if none)."""
    weights = mask.to(vectors.dtype).unsqueeze(2)
    return (vectors * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
