"""stable-baselines3 adapter: our encoders and fusion as a features extractor.

Use with SB3's ``MultiInputPolicy`` on a :class:`babyaipp.TokenizeText`-wrapped env::

    from stable_baselines3 import PPO
    from babyaipp.agents.sb3 import BabyAIPPExtractor

    model = PPO("MultiInputPolicy", env, policy_kwargs=BabyAIPPExtractor.policy_kwargs("film"))

SB3 turns observations into floats before the extractor sees them: ``Discrete`` becomes one-hot
and uint8 images are divided by 255 unless ``normalize_images=False``, which
:meth:`BabyAIPPExtractor.policy_kwargs` sets (the extractor needs the integer indices back and
refuses scaled images), and channels-last images are transposed by SB3 (the extractor
transposes them back). SB3's PPO has no memory: the extractor is feed-forward.
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from babyaipp.agents.config import DEFAULT_GRID_CONV, LEGACY_VALUES
from babyaipp.agents.fusion import get_model_class


class BabyAIPPExtractor(BaseFeaturesExtractor):
    """A babyaipp fusion model (by name) as an SB3 features extractor.

    :param observation_space: the Dict space of a TokenizeText-wrapped env.
    :param model: a name in :data:`babyaipp.agents.MODELS`.
    :param dim: the fusion width (= ``features_dim``).
    :param grid_conv: the fusion's grid convolutions (see :class:`~babyaipp.agents.ActorCritic`).
        Its default is what SB3 models saved before the option existed used (SB3 rebuilds the
        extractor from the stored kwargs, which lack it); :meth:`policy_kwargs` names it.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        model: str = "cross-attention",
        dim: int = 128,
        grid_conv: str = LEGACY_VALUES["grid_conv"],
    ):
        image = observation_space["image"]
        # SB3 wraps envs whose images look channels-last in VecTransposeImage: undo it here.
        self.channels_first = image.shape[0] == 3 and image.shape[-1] != 3
        if self.channels_first:
            image = spaces.Box(0, 255, (*image.shape[1:], image.shape[0]), image.dtype)
        fusion = get_model_class(model)(
            spaces.Dict({**observation_space.spaces, "image": image}), dim, grid_conv
        )
        super().__init__(observation_space, features_dim=fusion.features_dim)
        self.fusion = fusion

    @staticmethod
    def policy_kwargs(
        model: str = "cross-attention",
        dim: int = 128,
        grid_conv: str = DEFAULT_GRID_CONV,
        **extra: Any,
    ) -> dict[str, Any]:
        """``policy_kwargs`` for an SB3 algorithm using this extractor."""
        return {
            "features_extractor_class": BabyAIPPExtractor,
            "features_extractor_kwargs": {"model": model, "dim": dim, "grid_conv": grid_conv},
            "normalize_images": False,
            **extra,
        }

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        image = observations["image"]
        if torch.any(image != image.round()):
            raise ValueError(
                "BabyAIPPExtractor got scaled images; pass normalize_images=False in policy_kwargs "
                "(BabyAIPPExtractor.policy_kwargs() does)"
            )
        if self.channels_first:
            image = image.permute(0, 2, 3, 1)
        # SB3 one-hot encodes Discrete spaces: (B, 4), or (B, 1, 4) from its rollout buffer
        direction = observations["direction"].reshape(len(image), -1)
        direction = direction.argmax(dim=1) if direction.shape[1] > 1 else direction[:, 0]
        obs = {
            "image": image.long(),
            "direction": direction.long(),
            "mission": observations["mission"].long(),
            "description": observations["description"].long(),
        }
        return self.fusion(obs)
