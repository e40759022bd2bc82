"""The learning test: on a level where the right action is told only in the description, the
text-blind model stays at the best a blind agent can do (50 %) and cross-attention beats it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

from babyaipp import vocab

torch = pytest.importorskip("torch")
# One thread: on a busy 2-core machine OpenMP spin-waiting makes small models 10x slower.
torch.set_num_threads(1)

from babyaipp.agents import TrainConfig, load_policy, run_episodes, train  # noqa: E402

LEFT, FORWARD = 0, 2
COLORS = ("blue", "green", "grey", "purple", "yellow")
ENV_ID = "BabyAIPPTest-DescribedChoice-v0"


class DescribedChoice(gym.Env):
    """One step. A floor tile lies in front of the agent; the description says which of two
    colours is a trap (colours and order redrawn every episode). Step forward onto a safe tile
    or turn left from a trap: reward 1, else 0. Only the description tells which is which."""

    def __init__(self):
        high = vocab.VOCAB_SIZE - 1
        self.observation_space = spaces.Dict(
            {
                "image": spaces.Box(0, 255, (7, 7, 3), np.uint8),
                "direction": spaces.Discrete(4),
                "mission": spaces.Box(0, high, (vocab.MAX_INSTRUCTION_TOKENS,), np.int64),
                "description": spaces.Box(
                    0, high, (vocab.MAX_SENTENCES, vocab.SENTENCE_TOKENS), np.int64
                ),
            }
        )
        self.action_space = spaces.Discrete(7)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        trap, safe = self.np_random.choice(COLORS, size=2, replace=False)
        sentences = [f"{trap} floors are trap", f"{safe} floors are slippery"]
        if self.np_random.random() < 0.5:
            sentences.reverse()
        self.on_trap = bool(self.np_random.random() < 0.5)
        image = np.zeros((7, 7, 3), np.uint8)
        image[..., 0] = OBJECT_TO_IDX["empty"]
        image[3, 5] = (OBJECT_TO_IDX["floor"], COLOR_TO_IDX[trap if self.on_trap else safe], 0)
        obs = {
            "image": image,
            "direction": 0,
            "mission": vocab.encode_padded("avoid the trap"),
            "description": vocab.encode_sentences(sentences),
        }
        return obs, {}

    def step(self, action):
        success = action == (LEFT if self.on_trap else FORWARD)
        obs, _ = self.reset()
        return obs, float(success), True, False, {"success": success}


gym.register(ENV_ID, entry_point=DescribedChoice)


def _success(model: str, tmp_path) -> float:
    cfg = TrainConfig(
        env_id=ENV_ID,
        model=model,
        dim=32,
        num_envs=16,
        num_steps=8,
        recurrence=4,
        num_minibatches=2,
        learning_rate=1e-3,
        reward_scale=1.0,
        total_frames=16_000,
        vector_mode="sync",
        eval_env_id="none",
        checkpoint_interval=1000,
        progress=False,
        run_dir=str(tmp_path),
        run_name=model,
    )
    summary = train(cfg)
    policy = load_policy(summary["checkpoint"])
    return run_episodes(policy, ENV_ID, 300, seed=123)["success"]


@pytest.mark.slow
def test_text_is_needed_and_cross_attention_reads_it(tmp_path):
    blind = _success("image", tmp_path)
    reader = _success("cross-attention", tmp_path)
    assert 0.35 <= blind <= 0.62, f"the text-blind model cannot beat 50 %, got {blind:.2f}"
    assert reader >= 0.8, f"cross-attention should read the description, got {reader:.2f}"
