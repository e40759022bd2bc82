"""The training configuration: one typed dataclass that is also the command line.

Every field of :class:`TrainConfig` is a flag (``num_envs`` → ``--num-envs``; booleans get
``--flag/--no-flag``; ``env_kwargs`` takes JSON) and the docstring under it is its help.
Precedence: the defaults (the original BabyAI++ settings where sensible), then ``--preset``,
then flags given explicitly.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import time
import typing
from dataclasses import dataclass, field
from typing import Any

ENV_BACKENDS = ("reference", "batched", "batched-numpy", "batched-numba", "batched-torch")


DEFAULT_GRID_CONV = "separable"
"""The grid convolutions of a model built without naming them (a name in
:data:`babyaipp.agents.encoders.GRID_CONVS`)."""


@dataclass
class TrainConfig:
    """Recurrent PPO on a babyaipp env; defaults follow the original (docs/original-babyaipp.md)."""

    env_id: str = "BabyAIPP-GoToRedBall-Train-v0"
    """the training env id"""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """extra gym.make kwargs of the train and eval envs, as JSON: '{"sentence_order": "sorted"}'"""
    model: str = "cross-attention"
    """the model: image, concat, film, attention, cross-attention (or one you registered)"""
    dim: int = 128
    """width of the encoders, fusion output and memory"""
    memory: bool = True
    """use the LSTM memory core"""
    grid_conv: str = DEFAULT_GRID_CONV
    """the 3×3 convolutions over the grid: separable (depthwise 3×3 + 1×1) or full (the
    leaderboard-v2 table's: 1.1-1.65x slower to train, more sample-efficient early on; see
    docs/results.md, attempt 6)"""
    seed: int = 1
    """seed of torch and of the envs"""
    total_frames: int = 5_000_000
    """total env frames (vector-env steps × num_envs) to train for"""
    num_envs: int = 64
    """parallel envs"""
    num_steps: int = 40
    """steps per env per rollout (frames per proc)"""
    recurrence: int = 20
    """BPTT length: the rollout is cut into sequences this long (must divide num_steps)"""
    update_epochs: int = 4
    """PPO epochs per rollout"""
    num_minibatches: int = 1
    """minibatches per epoch (the original used one: all sequences)"""
    learning_rate: float = 1e-4
    """Adam learning rate"""
    adam_eps: float = 1e-5
    """Adam epsilon"""
    anneal_lr: bool = True
    """anneal the learning rate linearly to 0"""
    gamma: float = 0.99
    """discount factor"""
    gae_lambda: float = 0.99
    """GAE lambda"""
    clip_coef: float = 0.2
    """PPO clip range (also the value-clip range)"""
    clip_vloss: bool = True
    """clip the value loss"""
    ent_coef: float = 0.01
    """entropy bonus coefficient"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 0.5
    """gradient clipping norm"""
    norm_adv: bool = True
    """normalise advantages per minibatch"""
    reward_scale: float = 20.0
    """rewards are multiplied by this for training (logs show unscaled returns)"""
    device: str = "auto"
    """auto (cuda when present, else cpu), cpu, cuda or cuda:N"""
    amp: bool = True
    """bfloat16 autocast on CUDA (ignored on CPU)"""
    env_backend: str = "reference"
    """reference (a gymnasium vector of reference envs, see --vector-mode) or batched (the
    batched engine, all envs stepped as arrays in this process: on a CPU the numba engine when
    numba is installed, else numpy; torch tensors on the training device when that is a GPU;
    batched-numpy / batched-numba / batched-torch force one). Families the engine does not
    support fall back to reference envs with a warning"""
    bank_size: int = 1000
    """batched backend: layouts per trap set in the engine's layout bank (built once and cached
    in $BABYAIPP_BANK_DIR, default ~/.cache/babyaipp/banks)"""
    vector_mode: str = "auto"
    """reference backend only: auto (async when num_envs > 1), async or sync"""
    torch_threads: int = 1
    """torch CPU threads (0: torch's default); 1 leaves the other cores to the env workers and
    avoids OpenMP spin-waiting, which slowed updates 10x on a busy 2-core machine"""
    eval_env_id: str = "auto"
    """env of the periodic evaluation (auto: the family's HeldOut split; none: no evaluation)"""
    eval_interval: int = 10
    """evaluate every this many iterations (0: only at the end)"""
    eval_episodes: int = 100
    """episodes per evaluation (greedy actions)"""
    checkpoint_interval: int = 10
    """write the checkpoint every this many iterations (and at the end)"""
    run_dir: str = "runs"
    """where run directories are created"""
    run_name: str = ""
    """name of this run's directory (default: <env_id>__<model>__<seed>__<time>)"""
    resume: str = ""
    """continue from this checkpoint (a checkpoint.pt or a run directory)"""
    progress: bool = True
    """show a progress bar"""
    preset: str = ""
    """apply a preset first: small (learns the v0 GoToRedBall on a 2-core CPU in minutes), medium
    (larger updates: learns the v1 designs of leaderboard-v2) or original"""

    # to be filled at run time
    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        return max(1, self.total_frames // self.batch_size)

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the first bad value (as its flag, ``--seed=-1``) and what
        is valid; fill ``run_name``; return self. Creates nothing: ``train`` calls it before
        it makes the run directory."""
        for name in (
            "num_envs",
            "bank_size",
            "num_steps",
            "recurrence",
            "update_epochs",
            "num_minibatches",
            "dim",
            "total_frames",
            "checkpoint_interval",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{_flag(name)}={getattr(self, name)} must be at least 1")
        for name in ("seed", "eval_interval", "eval_episodes", "torch_threads"):
            if getattr(self, name) < 0:
                raise ValueError(
                    f"{_flag(name)}={getattr(self, name)} must be a non-negative integer"
                )
        for name in ("learning_rate", "adam_eps", "max_grad_norm", "clip_coef", "reward_scale"):
            if not getattr(self, name) > 0:  # also refuses NaN
                raise ValueError(f"{_flag(name)}={getattr(self, name)} must be positive")
        for name in ("gamma", "gae_lambda"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{_flag(name)}={getattr(self, name)} must be in [0, 1]")
        for name in ("ent_coef", "vf_coef"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{_flag(name)}={getattr(self, name)} must be non-negative")
        _check_env_id("env_id", self.env_id)
        if self.eval_env_id not in ("auto", "none", ""):
            _check_env_id("eval_env_id", self.eval_env_id)
        elif self.eval_env_id == "auto":
            from babyaipp.agents.evaluate import heldout_env_id

            heldout = heldout_env_id(self.env_id)
            if heldout is not None:
                try:
                    _check_env_id("eval_env_id", heldout)
                except ValueError:
                    raise ValueError(
                        f"--eval-env-id=auto: {heldout} is not registered; "
                        f"give --eval-env-id ID or --eval-env-id none"
                    ) from None
        if self.num_steps % self.recurrence:
            raise ValueError(f"recurrence={self.recurrence} must divide num_steps={self.num_steps}")
        sequences = self.num_envs * self.num_steps // self.recurrence
        if sequences % self.num_minibatches:
            raise ValueError(
                f"num_minibatches={self.num_minibatches} must divide the {sequences} sequences "
                f"(num_envs * num_steps / recurrence)"
            )
        if self.vector_mode not in ("auto", "async", "sync"):
            raise ValueError(f"vector_mode={self.vector_mode!r}; valid: auto, async, sync")
        if self.env_backend not in ENV_BACKENDS:
            raise ValueError(f"env_backend={self.env_backend!r}; valid: {', '.join(ENV_BACKENDS)}")
        from babyaipp.agents.encoders import GRID_CONVS
        from babyaipp.agents.fusion import get_model_class

        get_model_class(self.model)
        if self.grid_conv not in GRID_CONVS:
            raise ValueError(
                f"{_flag('grid_conv')}={self.grid_conv!r}; valid: {', '.join(GRID_CONVS)}"
            )
        if not self.run_name:
            self.run_name = f"{self.env_id}__{self.model}__{self.seed}__{int(time.time())}"
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _flag(name: str) -> str:
    """The command-line flag of a config field: ``total_frames`` → ``--total-frames``."""
    return "--" + name.replace("_", "-")


def _check_env_id(name: str, env_id: str) -> None:
    """Raise ValueError unless ``env_id`` is a babyaipp id, or another registered gymnasium id
    whose observations are babyaipp's (a custom level, e.g. the tests' described choice)."""
    import gymnasium as gym

    import babyaipp  # noqa: F401  (registers the babyaipp ids)
    from babyaipp.catalog import check_env_id
    from babyaipp.registration import ENTRY_POINT

    if env_id.split(":")[-1].startswith("BabyAIPP-"):
        try:
            check_env_id(env_id)
        except ValueError as error:
            # check_env_id's message starts with the id: name the flag in front of it.
            raise ValueError(f"{_flag(name)}={error}; see `babyaipp list`") from None
    spec = gym.registry.get(env_id)
    if spec is None:
        raise ValueError(
            f"{_flag(name)}={env_id!r} is not a registered env id; valid: the ids of "
            "`babyaipp list`, e.g. BabyAIPP-GoToRedBall-Train-v0"
        )
    if spec.entry_point == ENTRY_POINT:
        return
    env = gym.make(env_id)
    try:
        space = env.observation_space
    finally:
        env.close()
    if not (isinstance(space, gym.spaces.Dict) and BABYAIPP_KEYS <= set(space.spaces)):
        raise ValueError(
            f"{_flag(name)}={env_id!r} is not a babyaipp env id and its observations are not "
            f"babyaipp's (a Dict of {', '.join(sorted(BABYAIPP_KEYS))}); valid: the ids of "
            "`babyaipp list`, e.g. BabyAIPP-GoToRedBall-Train-v0"
        )


LEGACY_VALUES: dict[str, Any] = {"grid_conv": "full"}
"""Fields added since the first runs were stored, with the value those runs had: a stored
config (or a checkpoint's model arguments) without the field meant this."""


def with_legacy_values(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored config (or model arguments) with :data:`LEGACY_VALUES` filled in where absent."""
    return {**LEGACY_VALUES, **stored}


BABYAIPP_KEYS = frozenset({"image", "direction", "mission", "description"})
"""The observation keys the models read (before TokenizeText)."""


PRESETS: dict[str, dict[str, Any]] = {
    "original": {},
    # 32 envs x 32 steps in 4 minibatches of 32 sequences x 8 steps (until Dec 2026: 16 envs,
    # minibatches of 128 frames, evaluation and checkpoint every 10 iterations). The same frames
    # between evaluations; half the gradient steps per frame, each on twice the frames. It
    # learnt the same within noise in a learning check and trains 1.3-1.55x as fast
    # (docs/results.md, attempt 10).
    "small": {
        "dim": 32,
        "num_envs": 32,
        "num_steps": 32,
        "recurrence": 8,
        "num_minibatches": 4,
        "learning_rate": 1e-3,
        "gae_lambda": 0.95,
        "reward_scale": 1.0,
        "total_frames": 200_000,
        "eval_interval": 5,
        "eval_episodes": 100,
        "checkpoint_interval": 5,
    },
}
# The v1 designs (leaderboard-v2) need larger updates than `small` gives: with 512 frames per
# update (the small preset then) and learning rate 1e-3 success collapses to ~0, with 4096 and
# 3e-4 it learns (docs/results.md, attempts 1 and 2).
PRESETS["medium"] = {
    **PRESETS["small"],
    "num_envs": 64,
    "num_steps": 64,
    "num_minibatches": 4,  # pinned, as the table's runs: not small's to change
    "learning_rate": 3e-4,
    "total_frames": 1_000_000,
    "eval_interval": 25,
    "checkpoint_interval": 10,
}
"""Named overrides of the defaults, applied before explicit flags."""


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each dataclass field (as cleanrl/tyro read them)."""
    try:
        tree = ast.parse(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (frozen app): no help texts
        return {}
    body = tree.body[0].body
    docs = {}
    for node, following in zip(body[:-1], body[1:], strict=True):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = following.value.value
    return docs


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error}): {text!r}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


def add_config_arguments(parser: argparse.ArgumentParser, cls: type = TrainConfig) -> None:
    """One flag per dataclass field; defaults are suppressed so explicit flags can be told apart."""
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        kind = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f"{docs.get(f.name, '')} (default: {default!r})"
        if kind is bool:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        elif typing.get_origin(kind) is dict:
            parser.add_argument(
                flag, type=_json_dict, default=argparse.SUPPRESS, metavar="JSON", help=help_text
            )
        else:
            choices = list(PRESETS) if f.name == "preset" else None
            parser.add_argument(
                flag, type=kind, default=argparse.SUPPRESS, choices=choices, help=help_text
            )


def config_from_args(
    args: argparse.Namespace | dict[str, Any],
) -> tuple[TrainConfig, dict[str, Any]]:
    """The config (defaults < preset < explicit values) and the explicit values alone."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    explicit = {k: v for k, v in given.items() if k in names}
    preset = explicit.get("preset", "")
    if preset and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {list(PRESETS)}")
    return TrainConfig(**{**PRESETS.get(preset, {}), **explicit}), explicit


def parse_config(argv: list[str] | None = None) -> tuple[TrainConfig, dict[str, Any]]:
    """Parse a command line into a config (see :func:`config_from_args`)."""
    parser = argparse.ArgumentParser(
        prog="python -m babyaipp.agents.train", description=TrainConfig.__doc__
    )
    add_config_arguments(parser)
    return config_from_args(parser.parse_args(argv))
