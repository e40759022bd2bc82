"""babyaipp.agents: text-conditioned policies and the PPO trainer (imports torch)."""
