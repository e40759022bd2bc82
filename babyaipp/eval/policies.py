"""Adapters that make things into :class:`babyaipp.policy.Policy`, and policy specs.

Adapters: :class:`RandomPolicy`, :class:`CallablePolicy` (a plain function),
:class:`SB3Policy` (a stable-baselines3 model, duck-typed) and :func:`load_checkpoint_policy`
(babyaipp's own checkpoints, through ``babyaipp.agents.load_policy``; torch is imported only
there).

A *policy spec* is a string that rebuilds a policy, so that a results file can be re-run
(``babyaipp leaderboard verify``): ``kind`` or ``kind:argument``. Built-in kinds:

- ``random:seed=0`` — :class:`RandomPolicy` with that seed;
- ``checkpoint:path/to/agent.pt`` — :func:`load_checkpoint_policy` (a relative path is looked
  up next to the results file first, then in the working directory);
- ``sb3:PPO:path/to/model.zip`` — a stable-baselines3 model behind :class:`SB3Policy`, loaded
  without unpickling anything in the file (:mod:`babyaipp.eval.sb3_safe`) unless the caller
  passes ``trust_remote_code=True`` to :func:`policy_from_spec` (never a spec's own choice: a
  results file must not be able to make its verifier run code).

Other code adds kinds with :func:`register_policy_kind` (e.g. the oracle), given either a
factory or a lazy ``"module:function"`` import path.
"""

from __future__ import annotations

import contextvars
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from babyaipp.io import file_sha256
from babyaipp.policy import Policy

NUM_ACTIONS = 7  # minigrid's actions

_TRUST_REMOTE_CODE = contextvars.ContextVar("trust_remote_code", default=False)
"""Whether the factory being run may unpickle code from the files it loads (set only by
:func:`policy_from_spec`'s caller)."""

PolicyFactory = Callable[[str, Path], Policy]
"""``factory(argument, base_dir)``: the policy of spec ``kind:argument``; relative paths in
the argument are relative to ``base_dir``."""


class RandomPolicy:
    """Uniformly random actions from a seeded generator (greedy and sampled play alike).

    Text-blind, stateless. Its spec is ``random:seed=<seed>``.
    """

    uses_text = False
    privileged = False
    needs_env = False

    def __init__(self, seed: int = 0):
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"random policy seed {seed!r} must be a non-negative integer")
        self.seed = int(seed)
        self.name = "random"
        self.spec = f"random:seed={self.seed}"
        self._rng = np.random.default_rng(self.seed)

    def initial_state(self, num_envs: int) -> None:
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        return self._rng.integers(0, NUM_ACTIONS, size=len(episode_start), dtype=np.int64), None


class CallablePolicy:
    """A plain function as a policy: ``fn(obs) -> actions`` (``fn(obs, envs)`` if ``needs_env``).

    Stateless; ``greedy`` is not passed on. State ``uses_text`` / ``privileged`` honestly: the
    leaderboard files entries by them.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str = "callable",
        *,
        uses_text: bool = True,
        privileged: bool = False,
        needs_env: bool = False,
    ):
        if not callable(fn):
            raise TypeError(f"CallablePolicy needs a callable, got {fn!r}")
        self.fn = fn
        self.name = name
        self.uses_text = uses_text
        self.privileged = privileged or needs_env
        self.needs_env = needs_env

    def initial_state(self, num_envs: int) -> None:
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        actions = self.fn(obs, envs) if self.needs_env else self.fn(obs)
        return np.asarray(actions, dtype=np.int64), None


class SB3Policy:
    """A stable-baselines3 model (anything with SB3's ``predict``) as a policy.

    Calls ``model.predict(obs, state, episode_start, deterministic=greedy)``; the recurrent
    state (sb3-contrib's LSTM policies) travels through ``state``. The model must have been
    trained on :class:`babyaipp.TokenizeText` observations.
    """

    privileged = False
    needs_env = False

    def __init__(self, model: Any, name: str | None = None, *, uses_text: bool = True):
        if not callable(getattr(model, "predict", None)):
            raise TypeError(f"SB3Policy needs a model with a predict method, got {model!r}")
        self.model = model
        self.name = name or type(model).__name__
        self.uses_text = uses_text

    def initial_state(self, num_envs: int) -> None:
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        actions, state = self.model.predict(
            obs, state=state, episode_start=episode_start, deterministic=greedy
        )
        return np.asarray(actions, dtype=np.int64).reshape(-1), state


def load_checkpoint_policy(path: str | Path, device: str = "cpu") -> Policy:
    """babyaipp's own checkpoint as a policy, via ``babyaipp.agents.load_policy``.

    The returned policy carries ``checkpoint_sha256`` (of the file) and ``spec``
    (``checkpoint:<path>``). Raises FileNotFoundError for a missing file, ImportError when
    torch or ``babyaipp.agents`` is missing, and ValueError for a checkpoint built on another
    vocabulary than :data:`babyaipp.VOCAB_HASH`.
    """
    from babyaipp.vocab import VOCAB_HASH

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} not found")
    try:
        import torch  # noqa: F401  (only to give a clear message)
    except ImportError:
        raise ImportError(
            f"evaluating checkpoint {path} needs torch: pip install 'babyaipp[agents]'"
        ) from None
    try:
        from babyaipp.agents import load_policy
    except ImportError as error:
        raise ImportError(
            f"evaluating checkpoint {path} needs babyaipp.agents.load_policy ({error})"
        ) from None
    policy = load_policy(path, device=device)
    vocab_hash = getattr(policy, "vocab_hash", None)
    if vocab_hash != VOCAB_HASH:
        raise ValueError(
            f"checkpoint {path} was built on vocabulary {vocab_hash!r}, but this babyaipp uses "
            f"{VOCAB_HASH!r}: its token ids would mean other words"
        )
    policy.checkpoint_sha256 = file_sha256(path)
    policy.spec = f"checkpoint:{path.as_posix()}"
    return policy


# -- policy specs ----------------------------------------------------------------------------


def parse_options(argument: str, spec: str = "") -> dict[str, str]:
    """``"a=1,b=x"`` → ``{"a": "1", "b": "x"}`` (the empty string gives ``{}``)."""
    options = {}
    for item in filter(None, argument.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"policy spec {spec!r}: {item!r} is not key=value")
        options[key.strip()] = value.strip()
    return options


def _random_factory(argument: str, base_dir: Path) -> Policy:
    options = parse_options(argument, f"random:{argument}")
    unknown = sorted(set(options) - {"seed"})
    if unknown:
        raise ValueError(
            f"policy spec random:{argument}: unknown options {unknown}; valid: ['seed']"
        )
    seed = options.get("seed", "0")
    if not seed.isdigit():
        raise ValueError(f"policy spec random:{argument}: seed {seed!r} must be an integer >= 0")
    return RandomPolicy(int(seed))


def _resolve(path: str, base_dir: Path) -> Path:
    """``path`` next to ``base_dir`` if it is relative and there, else as given."""
    candidate = Path(path)
    if not candidate.is_absolute() and (base_dir / candidate).is_file():
        return base_dir / candidate
    return candidate


def _checkpoint_factory(argument: str, base_dir: Path) -> Policy:
    if not argument:
        raise ValueError("policy spec 'checkpoint:' needs a path, e.g. checkpoint:runs/a/agent.pt")
    policy = load_checkpoint_policy(_resolve(argument, base_dir))
    policy.spec = f"checkpoint:{argument}"  # as given, so the spec stays relative
    return policy


def _sb3_factory(argument: str, base_dir: Path) -> Policy:
    from babyaipp.eval.sb3_safe import load_sb3_model

    algorithm, _, file = argument.partition(":")
    if not algorithm or not file:
        raise ValueError(
            f"policy spec sb3:{argument} must be sb3:<Algorithm>:<path>, e.g. sb3:PPO:ppo.zip"
        )
    path = _resolve(file, base_dir)
    if not path.is_file():
        raise FileNotFoundError(f"stable-baselines3 model {file!r} not found")
    try:
        import stable_baselines3  # noqa: F401  (only to give a clear message)
    except ImportError:
        raise ImportError(
            f"policy spec sb3:{argument} needs stable-baselines3: pip install 'babyaipp[agents]'"
        ) from None
    model = load_sb3_model(algorithm, path, trust_remote_code=_TRUST_REMOTE_CODE.get())
    policy = SB3Policy(model, name=f"sb3-{algorithm}")
    policy.checkpoint_sha256 = file_sha256(path)
    policy.spec = f"sb3:{argument}"
    return policy


_KINDS: dict[str, PolicyFactory | str] = {
    "random": _random_factory,
    "checkpoint": _checkpoint_factory,
    "sb3": _sb3_factory,
    "oracle": "babyaipp.oracle.policy:from_spec",  # oracle, oracle:blind (privileged)
    "checkpoints": "babyaipp.eval.family_checkpoints:from_spec",  # one checkpoint per family
}


def register_policy_kind(kind: str, factory: PolicyFactory | str) -> None:
    """Make ``kind:argument`` specs build policies with ``factory(argument, base_dir)``.

    ``factory`` may be a ``"module:function"`` string, imported on first use (so a kind can be
    known without importing its module). Re-registering a kind replaces it.
    """
    if not kind.isidentifier():
        raise ValueError(f"policy kind {kind!r} must be an identifier, like 'oracle'")
    _KINDS[kind] = factory


def policy_kinds() -> list[str]:
    return sorted(_KINDS)


def policy_from_spec(
    spec: str, base_dir: str | Path = ".", *, trust_remote_code: bool = False
) -> Policy:
    """Build the policy a spec names; sets ``policy.spec = spec`` (unless the factory did).

    ``trust_remote_code`` lets factories load files in ways that may run code stored in them
    (SB3's pickled fields); keep it False for files you did not make.
    """
    kind, _, argument = spec.partition(":")
    if kind not in _KINDS:
        raise ValueError(f"unknown policy kind {kind!r} in spec {spec!r}; known: {policy_kinds()}")
    factory = _KINDS[kind]
    if isinstance(factory, str):
        module_name, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as error:
            raise ImportError(
                f"policy kind {kind!r}: cannot import {_KINDS[kind]!r} ({error})"
            ) from None
    token = _TRUST_REMOTE_CODE.set(bool(trust_remote_code))
    try:
        policy = factory(argument, Path(base_dir))
    finally:
        _TRUST_REMOTE_CODE.reset(token)
    if not getattr(policy, "spec", None):
        policy.spec = spec
    check_policy(policy)
    return policy


def check_policy(policy: Any) -> None:
    """TypeError unless ``policy`` has every member of the Policy protocol."""
    missing = [
        m
        for m in ("name", "uses_text", "privileged", "needs_env", "initial_state", "act")
        if not hasattr(policy, m)
    ]
    if missing:
        raise TypeError(f"{policy!r} is not a babyaipp Policy: it lacks {missing}")


def policy_record(policy: Policy) -> dict[str, Any]:
    """What a results file says about the policy (spec None: it cannot be re-run)."""
    return {
        "spec": getattr(policy, "spec", None),
        "name": str(policy.name),
        "uses_text": bool(policy.uses_text),
        "privileged": bool(policy.privileged),
        "checkpoint_sha256": getattr(policy, "checkpoint_sha256", None),
        "vocab_hash": getattr(policy, "vocab_hash", None),
    }
