"""The batched engine: thousands of babyaipp envs stepped as arrays, identical to the reference.

``gym.make_vec("BabyAIPP-<Family>-<Split>-v0", N, vectorization_mode="vector_entry_point")``
calls :func:`make_vector_env`, which returns the numpy engine
(:class:`~babyaipp.engine.numpy_env.NumpyBatchedEnv`) for the families it supports
(:func:`backend_of`) and a ``SyncVectorEnv`` of :class:`babyaipp.TokenizeText`-wrapped reference
envs for the others, so both give the same observation dict. ``backend="torch"`` (with
``device=``) gives :class:`~babyaipp.engine.torch_env.TorchBatchedEnv`, the same engine on
torch tensors, for GPUs; ``backend="numba"`` gives
:class:`~babyaipp.engine.numba_env.NumbaBatchedEnv`, the numpy engine with each step one
compiled loop (the fastest on CPUs; ``pip install "babyaipp[numba]"``). See docs/engine.md.

Importing this package imports numpy, gymnasium and minigrid only; torch or numba only when
their backend is asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from babyaipp.catalog import FamilySpec
from babyaipp.engine.bank import DEFAULT_BANK_SIZE, BankError, LayoutBank, build_bank, load_or_build

__all__ = [
    "BACKENDS",
    "DEFAULT_BANK_SIZE",
    "ENGINE_BASES",
    "BankError",
    "LayoutBank",
    "backend_of",
    "build_bank",
    "load_or_build",
    "make_vector_env",
]

BACKENDS: tuple[str, ...] = ("auto", "numpy", "numba", "torch", "reference")
ENGINE_BASES: frozenset[str] = frozenset(
    {
        "minigrid.envs.babyai.goto:GoToRedBallNoDists",
        "minigrid.envs.babyai.goto:GoToRedBall",
        "minigrid.envs.babyai.goto:GoToLocal",
        "minigrid.envs.babyai.goto:GoTo",
        "babyaipp.base_levels:GoToRedBallMaze",
        "minigrid.envs.babyai.putnext:PutNextLocal",
        "minigrid.envs.babyai.pickup:PickupLoc",
        "minigrid.envs.babyai.unlock:Unlock",
        "minigrid.envs.babyai.goto:GoToSeq",
    }
)
"""Base levels the engine reproduces (GoTo, PutNext, Pickup and Open instructions, and the
``and`` / ``then`` / ``after`` sequences of go-tos)."""
LEVELGEN = "minigrid.envs.babyai.core.levelgen:LevelGen"
# the single (action) instructions of a LevelGen level that the engine verifies
_LEVELGEN_ACTIONS = frozenset({"goto", "putnext", "pickup", "open"})

# kwargs the engine understands; any other env kwarg needs the reference envs.
_ENGINE_ENV_KWARGS = frozenset({"text", "sentence_order", "withhold", "density", "max_steps"})


def backend_of(family: str | FamilySpec, **env_kwargs: Any) -> str:
    """``"batched"`` if the engine runs this family with these env kwargs, else ``"reference"``."""
    return "batched" if _unsupported_reason(_as_spec(family), env_kwargs) is None else "reference"


def _unsupported_reason(spec: FamilySpec, env_kwargs: Mapping[str, Any]) -> str | None:
    from babyaipp.dynamics import BUILTIN_PROPERTIES

    if spec.base == LEVELGEN:
        actions = spec.base_kwargs.get("action_kinds", ["goto", "open", "pickup", "putnext"])
        kinds = spec.base_kwargs.get("instr_kinds", ["action", "and", "seq"])
        single = set(actions) <= _LEVELGEN_ACTIONS and list(kinds) == ["action"]
        if not single and list(actions) != ["goto"]:
            return (
                f"LevelGen with action_kinds={actions} and instr_kinds={kinds}: the engine "
                f"verifies single {sorted(_LEVELGEN_ACTIONS)} instructions and sequences of "
                "go-tos only"
            )
    elif spec.base not in ENGINE_BASES:
        return f"base level {spec.base} is not one the engine reproduces"
    odd = sorted(p for p in spec.properties if p not in BUILTIN_PROPERTIES)
    if odd:
        return f"properties {odd} are not built in"
    from minigrid.envs.babyai.core import verifier

    if verifier.use_done_actions:
        return "BABYAI_DONE_ACTIONS is set (the engine verifies without done actions)"
    if env_kwargs.get("placement", "uniform") != "uniform":
        return "placement='original' draws tile colours by property (no bank for it)"
    other = sorted(set(env_kwargs) - _ENGINE_ENV_KWARGS - {"placement"})
    if other:
        return f"env kwargs {other} are not supported by the engine"
    return None


def _as_spec(family: str | Mapping[str, Any] | FamilySpec) -> FamilySpec:
    from babyaipp.env import _as_spec as as_spec

    return as_spec(family)


def _numba_engine_class():
    """``NumbaBatchedEnv``, or an error that says how to install numba."""
    try:
        from babyaipp.engine.numba_env import NumbaBatchedEnv
    except ModuleNotFoundError as error:
        if error.name != "numba":
            raise
        raise ModuleNotFoundError(
            'backend="numba" needs numba, which is not installed: pip install "babyaipp[numba]"',
            name="numba",
        ) from None
    return NumbaBatchedEnv


def make_vector_env(
    num_envs: int = 1,
    family: str | Mapping[str, Any] | FamilySpec = "GoToRedBall",
    split: str = "Train",
    *,
    backend: str = "auto",
    bank_size: int = DEFAULT_BANK_SIZE,
    bank_seed: int = 0,
    bank_dir: str | None = None,
    bank: LayoutBank | None = None,
    device: str | None = None,
    **env_kwargs: Any,
):
    """The ``vector_entry_point`` of every babyaipp id (see the module docstring).

    ``backend``: ``"auto"`` (the engine where supported, else reference envs), ``"numpy"``
    (the engine, or an error naming why it cannot), ``"numba"`` (the same engine compiled with
    numba; same errors, and one if numba is not installed), ``"torch"`` (the engine on torch
    tensors on ``device``, default ``"cpu"``; same errors) or ``"reference"``. ``bank_size`` layouts
    per trap set, ``bank_seed`` and ``bank_dir`` select the layout bank (built on first use,
    with a progress bar on stderr); ``bank`` passes one directly. Other kwargs are the env's
    (``text``, ``sentence_order``, ``withhold``, ``density``, ``max_steps``; others need
    ``"reference"``).
    """
    import gymnasium as gym

    from babyaipp.env import make_env
    from babyaipp.wrappers import TokenizeText

    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {list(BACKENDS)}")
    if device is not None and backend != "torch":
        raise ValueError(f"device={device!r} needs backend='torch', not {backend!r}")
    numba_engine = _numba_engine_class() if backend == "numba" else None  # fail early
    spec = _as_spec(family)
    env_kwargs.pop("max_episode_steps", None)  # gymnasium's; babyaipp levels use max_steps
    probe = TokenizeText(make_env(spec, split, **env_kwargs))  # validates kwargs, gives spaces
    reason = _unsupported_reason(spec, env_kwargs)
    if backend in ("numpy", "numba", "torch") and reason is not None:
        raise ValueError(f"backend={backend!r} cannot run {spec.key}: {reason}")
    if backend == "reference" or reason is not None:
        if backend == "auto" and spec.base in ENGINE_BASES | {LEVELGEN}:
            warnings.warn(f"{spec.key}: using reference envs ({reason})", stacklevel=2)
        probe.close()
        return gym.vector.SyncVectorEnv(
            [lambda: TokenizeText(make_env(spec, split, **env_kwargs))] * num_envs
        )
    env_kwargs.pop("placement", None)
    density = env_kwargs.get("density")
    if bank is None:
        bank = load_or_build(spec, bank_size, bank_seed, density, root=bank_dir)
    space = probe.observation_space
    probe.close()
    if backend == "torch":
        from babyaipp.engine.torch_env import TorchBatchedEnv

        return TorchBatchedEnv(
            num_envs, spec, split, bank, space, device=device or "cpu", **env_kwargs
        )
    if backend == "numba":
        return numba_engine(num_envs, spec, split, bank, space, **env_kwargs)
    from babyaipp.engine.numpy_env import NumpyBatchedEnv

    return NumpyBatchedEnv(num_envs, spec, split, bank, space, **env_kwargs)
