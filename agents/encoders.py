"""The two encoders every model shares: one for the grid view, one for text.

Both take the tensors of a :class:`babyaipp.TokenizeText` observation (see
:func:`babyaipp.agents.model.obs_to_tensors`): ``image`` (N, 7, 7, 3) integer minigrid
encoding, ``direction`` (N,), ``mission`` (N, L) and ``description`` (N, K, W) token ids,
right-padded with 0.
"""

from __future__ import annotations

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


class _FlattenKeepingLayout(torch.autograd.Function):
    """``x.flatten(1)`` whose backward hands back the gradient in ``x``'s channels-last layout."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        ctx.channels_last = not x.is_contiguous() and x.is_contiguous(
            memory_format=torch.channels_last
        )
        return x.flatten(1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.reshape(ctx.shape)
        return grad.contiguous(memory_format=torch.channels_last) if ctx.channels_last else grad


class Flatten(nn.Flatten):
    """``nn.Flatten`` for ``(N, C, H, W)`` grid features: the same values and gradient values,
    but for channels-last features (what the grid encoder makes) the gradient flows back in
    that layout. With ``nn.Flatten`` it came back NCHW-contiguous, and every backward op
    below it ran on mixed layouts: ReLU's backward 5x slower than its forward, a PPO minibatch
    5-15% slower overall."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or not torch.is_grad_enabled():
            return super().forward(x)
        return _FlattenKeepingLayout.apply(x)


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


class GridEncoder(nn.Module):
    """Minigrid view → per-cell features ``(N, dim, H, W)``.

    Each cell's object, colour and state index gets a learned embedding (not the raw integers
    the original fed its CNN); the three and an embedding of the agent's direction are summed
    and layer-normalised, then residual 3×3 conv blocks (``conv``, a name in
    :data:`GRID_CONVS`) mix neighbouring cells (the residual path keeps each cell's own
    identity readable).
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
        extra: torch.Tensor | None = None,
        hide_color: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cell features; ``extra`` (N, H, W, dim), if given, is added to each cell's embedding;
        where the bool mask ``hide_color`` (N, H, W) is true, the cell's colour is left out."""
        image = image.long()
        color = self.color(image[..., 1])
        if hide_color is not None:
            color = color.masked_fill(hide_color.unsqueeze(-1), 0.0)
        x = (
            self.object(image[..., 0])
            + color
            + self.state(image[..., 2])
            + self.direction(direction.long())[:, None, None, :]
        )
        if extra is not None:
            x = x + extra
        x = self.norm(x).permute(0, 3, 1, 2)  # (N, dim, H, W)
        for block in self.blocks:
            x = x + block(x)
        return x


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
        unique, inverse = self._unique_rows(tokens[:, :longest])
        if torch.is_grad_enabled():
            return self._encode(unique)[inverse]
        return self._encode_cached(unique)[inverse]

    def _unique_rows(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The distinct rows and, per row, the index of its distinct row (any order).

        Short rows are packed into one int64 key each (a token id takes ``bits`` bits), whose
        1-D ``torch.unique`` is ~50x faster on CPU than ``torch.unique(dim=0)``.
        """
        bits = max(1, (self.embedding.num_embeddings - 1).bit_length())
        n, width = rows.shape
        if width * bits > 63:
            return torch.unique(rows, dim=0, return_inverse=True)
        shifts = torch.arange(width, device=rows.device) * bits
        keys, inverse = torch.unique((rows << shifts).sum(dim=1), return_inverse=True)
        first = torch.full((len(keys),), n, dtype=torch.long, device=rows.device)
        first.scatter_reduce_(0, inverse, torch.arange(n, device=rows.device), reduce="amin")
        return rows[first], inverse

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

    def sentences(self, description: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(N, K, W)`` → sentence vectors ``(N, K, dim)``, mask ``(N, K)`` (True: text)."""
        n, k, w = description.shape
        vectors = self.forward(description.reshape(n * k, w)).reshape(n, k, self.dim)
        return vectors, (description != PAD).any(dim=2)


def masked_mean(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``vectors`` (N, K, D) over the rows where ``mask`` (N, K) is True (0 if none)."""
    weights = mask.to(vectors.dtype).unsqueeze(2)
    return (vectors * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
