"""What a GoToLocal-v1 agent does with greedy vs sampled actions (HeldOut, the suite's seeds).

Run: python results/attempts/05-greedy-gotolocal/greedy_vs_sampled.py CHECKPOINT [EPISODES]

For each mode it prints the outcomes, the action frequencies, how many "forward" actions
did not move the agent (blocked by a wall, an object or a closed door), and, over the
episodes that timed out, how many distinct (position, direction) states the agent visited.
"""

import collections
import sys

import gymnasium as gym
import numpy as np

import babyaipp
from babyaipp.eval.policies import load_checkpoint_policy
from babyaipp.eval.suites import load_suite

FORWARD = 2
FIRST_SEED = load_suite("leaderboard-v2").seed_start  # the suite's first episode seed


def play(policy, env_id: str, seed: int, greedy: bool) -> tuple[str, list[int], int, int]:
    """One episode: its outcome, actions, blocked forwards, distinct (pos, dir) states."""
    env = babyaipp.TokenizeText(gym.make(env_id))
    obs, _ = env.reset(seed=seed)
    state, start = policy.initial_state(1), np.array([True])
    actions, blocked, seen = [], 0, set()
    while True:
        batch = {k: np.asarray(v)[None] for k, v in obs.items()}
        action, state = policy.act(batch, state, start, greedy=greedy)
        start = np.array([False])
        agent = env.unwrapped
        before = tuple(agent.agent_pos)
        seen.add((before, agent.agent_dir))
        obs, reward, terminated, truncated, _ = env.step(int(action[0]))
        actions.append(int(action[0]))
        blocked += actions[-1] == FORWARD and tuple(agent.agent_pos) == before
        if terminated or truncated:
            env.close()
            outcome = "success" if reward > 0 else "timeout" if truncated else "other"
            return outcome, actions, blocked, len(seen)


def main() -> None:
    checkpoint, episodes = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 30
    policy = load_checkpoint_policy(checkpoint)
    env_id = babyaipp.get_family("GoToLocal-v1").env_id("HeldOut")
    for greedy in (True, False):
        outcomes, actions, blocked, distinct = collections.Counter(), collections.Counter(), 0, []
        for seed in range(FIRST_SEED, FIRST_SEED + episodes):
            outcome, acts, b, states = play(policy, env_id, seed, greedy)
            outcomes[outcome] += 1
            actions.update(acts)
            blocked += b
            if outcome == "timeout":
                distinct.append(states)
        total = sum(actions.values())
        print(
            f"{'greedy' if greedy else 'sampled'}: {dict(outcomes)}; actions "
            + ", ".join(f"{a}:{n / total:.2f}" for a, n in sorted(actions.items()))
            + f"; blocked forwards {blocked}/{actions[FORWARD]}"
            + f"; distinct states per timeout {np.mean(distinct) if distinct else 0:.1f}"
        )


if __name__ == "__main__":
    main()
