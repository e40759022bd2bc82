"""Load a stable-baselines3 model file without running any code it carries.

An SB3 ``.zip`` holds a ``data`` JSON whose non-JSON values (the policy class, the spaces,
the schedules, ``policy_kwargs`` with classes in it) are cloudpickled under a
``":serialized:"`` key, and SB3's own ``load`` unpickles them: a crafted file runs arbitrary
code the moment it is loaded. :func:`load_sb3_model` never unpickles anything:

- every ``":serialized:"`` value is rebuilt by babyaipp from the plain text SB3 writes beside
  it, and only into things from an allow-list: the algorithm's own policy classes, babyaipp's
  tokenised observation space (channels-last or SB3's transposed form, matched against the
  stored text), minigrid's ``Discrete(7)`` actions, constant schedules, and ``policy_kwargs``
  whose class-valued entries name allowed classes (:data:`ALLOWED_CLASSES`);
- anything else is refused with :class:`UntrustedModelError`, which names the entry and the
  way out (``--trust-remote-code`` on the command line, ``trust_remote_code=True`` here);
- the ``.pth`` weight files are read with ``torch.load(..., weights_only=True)``.

The model that comes back is for evaluation: its schedules are constants parsed from the
file's text (or 0), its rollout buffer class SB3's default. ``trust_remote_code=True`` is
SB3's plain ``load``: use it only on files you made yourself.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

TRUST_FLAG = "--trust-remote-code"

ALLOWED_CLASSES: dict[str, str] = {
    # the text SB3 writes for a class -> "module:attribute" babyaipp imports itself
    "<class 'babyaipp.agents.sb3.BabyAIPPExtractor'>": "babyaipp.agents.sb3:BabyAIPPExtractor",
    **{
        f"<class 'stable_baselines3.common.torch_layers.{name}'>": (
            f"stable_baselines3.common.torch_layers:{name}"
        )
        for name in ("CombinedExtractor", "FlattenExtractor", "NatureCNN")
    },
    **{
        f"<class 'torch.nn.modules.activation.{name}'>": f"torch.nn:{name}"
        for name in ("Tanh", "ReLU", "ELU", "GELU", "LeakyReLU", "SiLU")
    },
    **{
        f"<class 'torch.optim.{module}.{name}'>": f"torch.optim:{name}"
        for module, name in (("adam", "Adam"), ("adamw", "AdamW"), ("rmsprop", "RMSprop"))
    },
}
"""Class-valued ``policy_kwargs`` entries a safe load accepts, by the text SB3 stores."""

_SCHEDULES = ("lr_schedule", "clip_range", "clip_range_vf")
_CONSTANT = re.compile(r"ConstantSchedule\(val=([-+0-9.eE]+)\)")


class UntrustedModelError(ValueError):
    """A model file needs code to be unpickled; it was refused."""


def load_sb3_model(
    algorithm: str, path: str | Path, *, trust_remote_code: bool = False, device: str = "cpu"
) -> Any:
    """The SB3 model of class ``stable_baselines3.<algorithm>`` stored at ``path``.

    Without ``trust_remote_code`` nothing in the file is unpickled (see the module doc);
    raises :class:`UntrustedModelError` for a file that cannot be rebuilt that way,
    ValueError for a file that is not an SB3 zip or an unknown algorithm.
    """
    import stable_baselines3

    cls = getattr(stable_baselines3, algorithm, None)
    if not callable(getattr(cls, "load", None)):
        names = getattr(stable_baselines3, "__all__", dir(stable_baselines3))
        valid = [
            n for n in names if callable(getattr(getattr(stable_baselines3, n, None), "load", None))
        ]
        raise ValueError(f"stable_baselines3 has no algorithm {algorithm!r}; valid: {valid}")
    path = Path(path)
    if trust_remote_code:
        return cls.load(path, device=device)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "data" not in names:
                raise ValueError(f"{path} is a zip without SB3's 'data' entry: not an SB3 model")
            stored = json.loads(archive.read("data").decode("utf-8"))
            weights = {
                os.path.splitext(name)[0]: _load_weights(archive.read(name), path, name, device)
                for name in names
                if name.endswith(".pth")
            }
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a zip file: not a stable-baselines3 model") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: SB3's 'data' entry is not JSON ({error})") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: SB3's 'data' entry is not a JSON object")
    data = {key: _rebuild(cls, key, value, path) for key, value in stored.items()}
    return _assemble(cls, data, weights, device, path)


_TRAINING_STATE = frozenset(
    {
        "_last_obs",
        "_last_original_obs",
        "_last_episode_starts",
        "ep_info_buffer",
        "ep_success_buffer",
    }
)
"""Rollout state and episode statistics that SB3 saves pickled (a Dict space's last observation
is a dict of arrays, the episode buffers are deques): never needed to predict, so a safe load
drops them instead of unpickling them; SB3 refills them on the next ``learn``."""


def _load_weights(raw: bytes, path: Path, name: str, device: str) -> Any:
    import torch

    try:
        return torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, ...
        raise UntrustedModelError(
            f"{path}: {name} is not a plain weights file ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); "
            f"pass {TRUST_FLAG} only if you trust the file's author"
        ) from None


def _refuse(path: Path, key: str, why: str) -> UntrustedModelError:
    return UntrustedModelError(
        f"{path}: refusing to unpickle {key!r} ({why}); a safe load rebuilds only allow-listed "
        f"values. Pass {TRUST_FLAG} only if you trust the file's author: it runs code from it"
    )


def _rebuild(cls: type, key: str, value: Any, path: Path) -> Any:
    """``value`` as SB3's ``json_to_data`` would give it, but built without unpickling."""
    if not (isinstance(value, dict) and ":serialized:" in value):
        return value
    if key == "policy_class":
        return _policy_class(cls, value, path)
    if key == "observation_space":
        return _observation_space(value, path)
    if key == "action_space":
        return _action_space(value, path)
    if key in _SCHEDULES:
        return _constant_schedule(value)
    if key == "rollout_buffer_class":
        return None  # SB3 picks its default buffer for the space
    if key in _TRAINING_STATE:
        return None  # only needed to continue training; SB3 refills it on the next learn()
    if key == "policy_kwargs":
        return _policy_kwargs(value, path)
    raise _refuse(path, key, f"babyaipp does not know how to rebuild {key!r} safely")


def _policy_class(cls: type, value: dict, path: Path) -> type:
    # SB3 stores the class's own __dict__ as text: "__init__" names its qualname.
    init = str(value.get("__init__", ""))
    module = value.get("__module__")
    for candidate in dict.fromkeys(getattr(cls, "policy_aliases", {}).values()):
        if candidate.__module__ == module and init.startswith(
            f"<function {candidate.__qualname__}.__init__ "
        ):
            return candidate
    known = sorted(getattr(cls, "policy_aliases", {}))
    raise _refuse(path, "policy_class", f"not one of {cls.__name__}'s own policies {known}")


def _observation_space(value: dict, path: Path) -> Any:
    from gymnasium import spaces

    from babyaipp.wrappers import tokenized_observation_space

    channels_last = tokenized_observation_space()
    image = channels_last["image"]
    transposed = spaces.Dict(
        {
            **channels_last.spaces,
            "image": spaces.Box(0, 255, (image.shape[2], *image.shape[:2]), image.dtype),
        }
    )
    for candidate in (channels_last, transposed):
        if str(candidate.spaces) == value.get("spaces"):
            return candidate
    raise _refuse(
        path,
        "observation_space",
        f"its text {value.get('spaces')!r} is not babyaipp's TokenizeText space "
        f"{str(channels_last.spaces)!r}",
    )


def _action_space(value: dict, path: Path) -> Any:
    from gymnasium import spaces

    if value.get(":type:") == "<class 'gymnasium.spaces.discrete.Discrete'>" and (
        str(value.get("n")),
        str(value.get("start", "0")),
    ) == ("7", "0"):
        return spaces.Discrete(7)
    raise _refuse(path, "action_space", "not minigrid's Discrete(7)")


def _constant_schedule(value: dict) -> Any:
    from stable_baselines3.common.utils import ConstantSchedule, FloatSchedule

    match = _CONSTANT.search(str(value.get("value_schedule", "")))
    return FloatSchedule(ConstantSchedule(float(match.group(1)) if match else 0.0))


def _policy_kwargs(value: dict, path: Path) -> dict[str, Any]:
    import importlib

    kwargs: dict[str, Any] = {}
    for name, item in value.items():
        if name in (":type:", ":serialized:"):
            continue
        if isinstance(item, str) and item.startswith("<"):
            if item not in ALLOWED_CLASSES:
                raise _refuse(path, f"policy_kwargs.{name}", f"{item} is not allow-listed")
            module, _, attr = ALLOWED_CLASSES[item].partition(":")
            item = getattr(importlib.import_module(module), attr)
        kwargs[name] = item
    if value.get(":type:") != "<class 'dict'>":
        raise _refuse(path, "policy_kwargs", f"it is a {value.get(':type:')}, not a dict")
    return kwargs


def _assemble(cls: type, data: dict, weights: dict, device: str, path: Path) -> Any:
    """What SB3's ``BaseAlgorithm.load`` does after reading the file, for ``env=None``."""
    import torch
    from stable_baselines3.common.save_util import recursive_getattr, recursive_setattr

    for key in ("policy_class", "observation_space", "action_space"):
        if key not in data:
            raise ValueError(f"{path}: SB3's 'data' has no {key!r}: not a complete SB3 model")
    methods = sorted(key for key in data if callable(getattr(cls, key, None)))
    if methods:
        raise _refuse(path, methods[0], "a stored value would replace a method of the model")
    if isinstance(data.get("policy_kwargs"), dict):
        data["policy_kwargs"].pop("device", None)
    variables = weights.pop("pytorch_variables", None) or {}
    model = cls(policy=data["policy_class"], env=None, device=device, _init_setup_model=False)
    model.__dict__.update(data)
    model._setup_model()
    model.set_parameters(weights, exact_match=True, device=device)
    for name, tensor in dict(variables).items():
        try:
            target = recursive_getattr(model, name)
        except AttributeError:
            target = None
        if not (isinstance(target, torch.Tensor) and isinstance(tensor, torch.Tensor)):
            raise _refuse(path, f"pytorch_variables.{name}", "not a tensor of the model")
        recursive_setattr(model, f"{name}.data", tensor.data)
    return model
