"""Attempt 6b: the trainer's command line with three candidate separable convolutions added to
``GRID_CONVS`` (for these runs only; none was adopted, see docs/results.md, attempt 6b).

- ``separable-x3``: ``separable`` with the 1×1 weights ×√3 at init, so that the block's output
  variance at init equals the full 3×3 conv's (PyTorch's default init gives the depthwise +
  1×1 pair a third of it).
- ``separable-gain``: each of the two convs stores its weights divided by a fixed gain and
  multiplies them back in the forward, the same function at init, but under Adam (whose steps
  do not depend on the gradient's scale) its weights move ``gain`` times faster relative to
  their size; the gains (√(9·dim/9), √(9·dim/dim)) give both the full conv's relative step.
- ``separable-wide``: a depthwise stage with two filters per channel (then 1×1 from 2·dim).

Run: python exp_train.py [babyaipp train flags] --grid-conv separable-x3 ...
"""

import math
import sys

import torch
from torch import nn

from babyaipp.agents import encoders
from babyaipp.agents.trainer import main


def separable_x3(dim: int) -> nn.Module:
    conv = encoders.separable_conv(dim)
    with torch.no_grad():
        conv[1].weight.mul_(math.sqrt(3))
    return conv


class GainConv2d(nn.Conv2d):
    """Conv2d whose parameters are stored divided by ``gain`` (the same function at init)."""

    def __init__(self, *args, gain: float = 1.0, **kwargs):
        self.gain = gain
        super().__init__(*args, **kwargs)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            self.weight.div_(self.gain)
            self.bias.div_(self.gain)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.gain, self.bias * self.gain)


def separable_gain(dim: int) -> nn.Module:
    full_fan_in = 9 * dim
    return nn.Sequential(
        GainConv2d(dim, dim, 3, padding=1, groups=dim, gain=math.sqrt(full_fan_in / 9)),
        GainConv2d(dim, dim, 1, gain=math.sqrt(full_fan_in / dim)),
    )


def separable_wide(dim: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(dim, 2 * dim, 3, padding=1, groups=dim), nn.Conv2d(2 * dim, dim, 1)
    )


CANDIDATES = {
    "separable-x3": separable_x3,
    "separable-gain": separable_gain,
    "separable-wide": separable_wide,
}
encoders.GRID_CONVS.update(CANDIDATES)
if __name__ == "__main__":
    main(sys.argv[1:])
