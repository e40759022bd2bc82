"""Observation wrappers: the text as BabyAI-style agents and as neural networks want it."""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from babyaipp import vocab
from babyaipp.text import CHARSET
from babyaipp.vector import Text


class AppendDescription(gym.ObservationWrapper):
    """``mission`` becomes the instruction followed by the description, as one string.

    ``"go to the red ball. blue floors are fliplr. green floors are slippery."`` — the form the
    original BabyAI++ fed its agents. ``description`` stays in the observation.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        space = env.observation_space
        length = space["mission"].max_length + space["description"].max_length + 2
        self.observation_space = spaces.Dict(
            {**space.spaces, "mission": Text(length, min_length=0, charset=CHARSET)}
        )

    def observation(self, obs: dict) -> dict:
        if obs["description"]:
            obs = {**obs, "mission": f"{obs['mission']}. {obs['description']}"}
        return obs


@functools.lru_cache(maxsize=4096)
def _instruction_tokens(text: str) -> np.ndarray:
    return vocab.encode_padded(text, vocab.MAX_INSTRUCTION_TOKENS)


@functools.lru_cache(maxsize=4096)
def _description_tokens(text: str) -> np.ndarray:
    sentences = [s for s in text.split(".") if s.strip()]
    return vocab.encode_sentences(sentences)


def tokenized_observation_space(
    image: spaces.Box | None = None, direction: spaces.Discrete | None = None
) -> spaces.Dict:
    """The observation space of :class:`TokenizeText` around a babyaipp env.

    ``image`` and ``direction`` default to minigrid's (a 7×7×3 uint8 view, 4 headings).
    """
    high = vocab.VOCAB_SIZE - 1
    return spaces.Dict(
        {
            "image": image if image is not None else spaces.Box(0, 255, (7, 7, 3), np.uint8),
            "direction": direction if direction is not None else spaces.Discrete(4),
            "mission": spaces.Box(0, high, (vocab.MAX_INSTRUCTION_TOKENS,), np.int64),
            "description": spaces.Box(
                0, high, (vocab.MAX_SENTENCES, vocab.SENTENCE_TOKENS), np.int64
            ),
        }
    )


class TokenizeText(gym.ObservationWrapper):
    """Text as fixed-shape int64 token arrays (ids from :mod:`babyaipp.vocab`).

    - ``mission``: shape ``(MAX_INSTRUCTION_TOKENS,)``, right-padded with 0;
    - ``description``: shape ``(MAX_SENTENCES, SENTENCE_TOKENS)``, one sentence a row, unused
      rows all 0.

    ``image`` and ``direction`` pass through, so the result works with
    ``gym.make_vec(..., vectorization_mode="async")`` (shared memory) and SB3's ``check_env``.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        self.observation_space = tokenized_observation_space(
            env.observation_space["image"], env.observation_space["direction"]
        )

    def observation(self, obs: dict) -> dict:
        return {
            "image": obs["image"],
            "direction": obs["direction"],
            "mission": _instruction_tokens(obs["mission"]).copy(),
            "description": _description_tokens(obs["description"]).copy(),
        }
