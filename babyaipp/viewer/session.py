"""The state of one viewer session: the env, the seed, the policy and the display toggles.

No pygame here: :class:`Session` is what the keys change and what the painter draws, so the
whole interaction is testable without a screen. ``version`` increases on every change, which
tells the event loop when to redraw and the recorder when to keep a frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from babyaipp.catalog import check_env_id
from babyaipp.viewer.keys import Command
from babyaipp.wrappers import TokenizeText

# Agent steps per second that + and - cycle through.
SPEEDS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)
DEFAULT_SPEED = 4.0
# How long agent mode shows the end of an episode before it starts the next seed.
END_HOLD_S = 1.5

END_REASONS: tuple[str, ...] = ("success", "trap", "timeout", "mission")


@dataclass(frozen=True)
class EpisodeEnd:
    """Why and how an episode ended."""

    reason: str  # one of END_REASONS
    reward: float
    steps: int
    max_steps: int
    color: str | None = None  # the floor colour under the agent at the end

    def message(self) -> str:
        if self.reason == "success":
            return f"Success: {self.steps} steps, reward {self.reward:.2f}"
        if self.reason == "trap":
            return f"Trap: died on a {self.color} floor at step {self.steps}"
        if self.reason == "timeout":
            return f"Timeout: all {self.max_steps} steps used"
        return f"Mission failed at step {self.steps}: it can no longer be done"


def make_viewer_env(env_id: str, **env_kwargs: Any) -> gym.Env:
    """``gym.make(env_id)`` with a clear error for an id that is not a babyaipp id."""
    check_env_id(env_id)  # names what is wrong: the form, family, version or split
    return gym.make(env_id, **env_kwargs)


class Session:
    """One env played by a human (``policy=None``) or watched while a policy plays it.

    ``policy`` follows :class:`babyaipp.policy.Policy`; if it also has
    ``explain(obs, state) -> {"action_probs": (N, 7), "attention": (N, 7, 7) or None}`` the
    viewer shows its action probabilities and, for attention models, which sentence each
    visible cell attends to. Agent mode starts paused when ``paused`` is True.
    """

    def __init__(
        self,
        env_id: str,
        *,
        seed: int = 0,
        policy: Any = None,
        greedy: bool = True,
        speed: float = DEFAULT_SPEED,
        paused: bool = False,
        max_episodes: int | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ):
        if speed <= 0:
            raise ValueError(f"speed={speed!r} must be a positive number of steps per second")
        if max_episodes is not None and max_episodes < 1:
            raise ValueError(f"max_episodes={max_episodes!r} must be at least 1")
        self.env_id = env_id
        self.env = make_viewer_env(env_id, **(env_kwargs or {}))
        self.policy = policy
        self.greedy = greedy
        self.speed = float(speed)
        self.paused = paused
        self.max_episodes = max_episodes
        self.show_dynamics = False
        self.show_help = False
        self.show_attention = True
        self.quit = False
        self.version = 0
        self.episodes_done = 0
        self._tokenizer = TokenizeText(self.env) if policy is not None else None
        self._clock = 0.0
        self.reset(seed)

    # -- what the painter reads ---------------------------------------------------------------

    @property
    def agent_mode(self) -> bool:
        return self.policy is not None

    @property
    def level(self):
        """The unwrapped babyaipp env."""
        return self.env.unwrapped

    def underfoot_color(self) -> str | None:
        return self.level.color_at(self.level.agent_pos)

    def highlighted_sentence(self) -> int | None:
        """Index of the sentence about the colour of the tile under the agent, if any."""
        color = self.underfoot_color()
        if color is None:
            return None
        for i, text in enumerate(self.level.sentences):
            if text.split(" ", 1)[0] == color:
                return i
        return None

    # -- changes ------------------------------------------------------------------------------

    def reset(self, seed: int | None = None) -> None:
        """Start an episode with ``seed`` (default: the current seed again)."""
        if seed is not None:
            self.seed = int(seed)
        self.obs, self.info = self.env.reset(seed=self.seed)
        self.steps = 0
        self.last_reward: float | None = None
        self.last_action: int | None = None
        self.ended: EpisodeEnd | None = None
        self._clock = 0.0
        self.action_probs: np.ndarray | None = None
        self.attention: np.ndarray | None = None
        if self.agent_mode:
            self.policy_state = self.policy.initial_state(1)
            self.episode_start = True
            self._explain()
        self._changed()

    def next_seed(self) -> None:
        self.reset(self.seed + 1)

    def step(self, action: int) -> bool:
        """Take ``action`` in the env; False (and nothing happens) once the episode has ended."""
        if self.ended is not None:
            return False
        self.obs, reward, terminated, truncated, self.info = self.env.step(action)
        self.steps += 1
        self.last_action = int(action)
        self.last_reward = float(reward)
        if terminated or truncated:
            self._end(reward)
        self._changed()
        return True

    def agent_step(self) -> bool:
        """One action of the policy (agent mode); False once the episode has ended."""
        if self.ended is not None:
            return False
        envs = [self.level] if getattr(self.policy, "needs_env", False) else None
        actions, self.policy_state = self.policy.act(
            self._batched_obs(),
            self.policy_state,
            np.array([self.episode_start]),
            greedy=self.greedy,
            envs=envs,
        )
        self.episode_start = False
        self.step(int(np.asarray(actions).reshape(-1)[0]))
        if self.ended is None:
            self._explain()
        return True

    def apply(self, command: Command | None) -> bool:
        """Carry out a key's command; True if anything changed."""
        if command is None:
            return False
        name = command.name
        before = self.version
        if name == "act":
            self.step(command.action)
        elif name == "restart":
            self.reset()
        elif name == "next_seed":
            self.next_seed()
        elif name == "toggle_dynamics":
            self.show_dynamics = not self.show_dynamics
        elif name == "toggle_attention":
            self.show_attention = not self.show_attention
        elif name == "toggle_help":
            self.show_help = not self.show_help
        elif name == "escape":
            if self.show_help:
                self.show_help = False
            else:
                self.quit = True
        elif name == "pause":
            self.paused = not self.paused
            self._clock = 0.0
        elif name == "step_once":
            self.paused = True
            if self.ended is not None:
                self._after_end()
            else:
                self.agent_step()
        elif name in ("faster", "slower"):
            self.speed = _next_speed(self.speed, +1 if name == "faster" else -1)
        else:
            raise ValueError(f"unknown viewer command {name!r}")
        if self.version == before:
            self._changed()  # a toggle: redraw
        return True

    def update(self, dt: float) -> bool:
        """Advance agent mode by ``dt`` seconds of wall time; True if anything changed.

        At most one agent step per call (the frame rate caps the speed). An ended episode is
        shown for ``max(END_HOLD_S, one step)`` before the next seed starts.
        """
        if not self.agent_mode or self.paused or self.quit:
            return False
        self._clock += dt
        interval = 1.0 / self.speed
        if self.ended is not None:
            if self._clock >= max(END_HOLD_S, interval):
                self._after_end()
                return True
            return False
        if self._clock >= interval:
            self._clock = 0.0
            return self.agent_step()
        return False

    def close(self) -> None:
        self.env.close()

    # -- helpers --------------------------------------------------------------------------------

    def _after_end(self) -> None:
        if self.max_episodes is not None and self.episodes_done >= self.max_episodes:
            self.quit = True
        else:
            self.next_seed()

    def _end(self, reward: float) -> None:
        if self.info.get("success"):
            reason = "success"
        else:
            reason = self.info.get("failure") or "timeout"
        self.ended = EpisodeEnd(
            reason, float(reward), self.steps, self.level.max_steps, self.underfoot_color()
        )
        self.episodes_done += 1
        self._clock = 0.0

    def _changed(self) -> None:
        self.version += 1

    def _batched_obs(self) -> dict[str, np.ndarray]:
        tokens = self._tokenizer.observation(self.obs)
        return {key: np.asarray(value)[None] for key, value in tokens.items()}

    def _explain(self) -> None:
        """The policy's view of the current observation: action probabilities, attention."""
        self.action_probs = None
        self.attention = None
        if not hasattr(self.policy, "explain"):
            return
        out = self.policy.explain(self._batched_obs(), self.policy_state)
        self.action_probs = np.asarray(out["action_probs"], dtype=np.float64)[0]
        if out.get("attention") is not None:
            self.attention = np.asarray(out["attention"])[0]


def _next_speed(speed: float, direction: int) -> float:
    """The next speed up (+1) or down (-1) in SPEEDS from ``speed``."""
    if direction > 0:
        faster = [s for s in SPEEDS if s > speed]
        return faster[0] if faster else SPEEDS[-1]
    slower = [s for s in SPEEDS if s < speed]
    return slower[-1] if slower else SPEEDS[0]
