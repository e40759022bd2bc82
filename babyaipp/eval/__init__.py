"""babyaipp.eval: score any policy on frozen suites, with honest statistics; the leaderboard.

Torch-free (only :func:`load_checkpoint_policy` imports torch, through ``babyaipp.agents``).
See docs/evaluation.md. The usual path::

    from babyaipp.eval import RandomPolicy, evaluate, load_suite, write_results

    results = evaluate(RandomPolicy(seed=0), load_suite("leaderboard-v1"), num_envs=8)
    write_results(results, "random-seed0.json")
"""

from __future__ import annotations

from babyaipp.eval.metrics import (
    iqm,
    probability_of_improvement,
    run_aggregates,
    score_aggregates,
)
from babyaipp.eval.policies import (
    CallablePolicy,
    RandomPolicy,
    SB3Policy,
    load_checkpoint_policy,
    policy_from_spec,
    policy_kinds,
    register_policy_kind,
)
from babyaipp.eval.results import (
    SCHEMA_VERSION,
    ResultsError,
    check_results,
    evaluate,
    load_results,
    make_results,
    write_results,
)
from babyaipp.eval.runner import assign_seeds, run_env, run_suite
from babyaipp.eval.suites import (
    EVAL_SEED_START,
    Suite,
    SuiteError,
    builtin_suites,
    load_suite,
    make_suite,
    write_suite,
)

__all__ = [
    "EVAL_SEED_START",
    "SCHEMA_VERSION",
    "CallablePolicy",
    "RandomPolicy",
    "ResultsError",
    "SB3Policy",
    "Suite",
    "SuiteError",
    "assign_seeds",
    "builtin_suites",
    "check_results",
    "evaluate",
    "iqm",
    "load_checkpoint_policy",
    "load_results",
    "load_suite",
    "make_results",
    "make_suite",
    "policy_from_spec",
    "policy_kinds",
    "probability_of_improvement",
    "register_policy_kind",
    "run_aggregates",
    "run_env",
    "run_suite",
    "score_aggregates",
    "write_results",
    "write_suite",
]
