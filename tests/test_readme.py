"""The README's code recipes run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(marker: str) -> str:
    """The fenced python block right after ``<!-- marker -->`` in the README."""
    match = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", README.read_text(), re.S)
    assert match, f"README has no python block after <!-- {marker} -->"
    return match.group(1)


def test_sb3_recipe_trains_saves_and_loads_safely(tmp_path, monkeypatch):
    pytest.importorskip("stable_baselines3")
    from babyaipp.eval.sb3_safe import load_sb3_model

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_block("sb3-recipe"), "README.md:sb3-recipe", "exec"), namespace)
    policy = namespace["policy"]
    assert policy.name == "sb3-ppo-film"
    assert namespace["model"].num_timesteps >= 256
    # The saved zip loads without trusting remote code (the path `babyaipp evaluate` takes).
    loaded = load_sb3_model("PPO", tmp_path / "ppo_babyaipp.zip")
    obs, _ = namespace["env"].reset(seed=3)
    assert (
        loaded.predict(obs, deterministic=True)[0]
        == namespace["model"].predict(obs, deterministic=True)[0]
    )


def test_plain_sb3_policy_fails_as_the_readme_says():
    """The failure the recipe names is real: plain MultiInputPolicy cannot take a 7x7 image."""
    pytest.importorskip("stable_baselines3")
    import gymnasium as gym
    from stable_baselines3 import PPO

    import babyaipp

    assert "Kernel size: (8 x 8)" in README.read_text()
    env = babyaipp.TokenizeText(gym.make("BabyAIPP-GoToRedBall-Train-v1"))
    with pytest.raises(RuntimeError, match=r"Kernel size: \(8 x 8\)"):
        PPO("MultiInputPolicy", env)
