"""A dynamics-aware oracle that reads the description, and its text-blind twin.

- :class:`Oracle` / :func:`solve`: plan and act in one env (privileged full grid + the text);
- :class:`OraclePolicy`: the same behind the :class:`babyaipp.policy.Policy` protocol;
- :mod:`babyaipp.oracle.demos`: demonstrations as ``.npz`` files;
- :mod:`babyaipp.oracle.probe`: the paired-text probe (does a policy read?).

See docs/oracle.md.
"""

from babyaipp.oracle.agent import Oracle, OracleStats, Rollout, solve
from babyaipp.oracle.belief import Belief, Hypothesis
from babyaipp.oracle.search import Goal, Plan, find_plan
from babyaipp.oracle.world import BeliefWorld

__all__ = [
    "Belief",
    "BeliefWorld",
    "Goal",
    "Hypothesis",
    "Oracle",
    "OracleStats",
    "Plan",
    "Rollout",
    "find_plan",
    "solve",
]
