"""One checkpoint per family behind one policy spec: ``checkpoints:<manifest.json>``.

A leaderboard entry must cover every family of its suite. ``babyaipp reproduce`` trains one
agent per family (as the original BabyAI++ did), so one training seed of an entry is a set of
checkpoints. A *manifest* names them::

    {
      "format": 1,
      "model": "cross-attention",
      "seed": 1,
      "checkpoints": {
        "GoToRedBall": {"path": "GoToRedBall.pt", "sha256": "…"},
        …
      }
    }

Paths are relative to the manifest's folder. The spec ``checkpoints:seed1/manifest.json`` (a
relative path is looked up next to the results file first, as for ``checkpoint:``) builds a
:class:`FamilyCheckpointsPolicy`: it loads every checkpoint, refuses one whose sha256 differs
from the manifest's, and routes each family to its own agent through
:meth:`FamilyCheckpointsPolicy.for_family`, which the suite runner calls before it plays a
family (:func:`babyaipp.eval.runner.run_env`). Its ``checkpoint_sha256`` is the manifest's
hash, which covers every checkpoint's hash. The family is public: it is in the env id the user
passes; the split is not told.

Torch is imported only when the checkpoints are loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babyaipp.io import atomic_write_text, file_sha256
from babyaipp.policy import Policy

MANIFEST_FORMAT = 1
MANIFEST_KEYS = ("format", "model", "seed", "checkpoints")


def write_manifest(
    path: str | Path, model: str, seed: int, checkpoints: dict[str, str | Path]
) -> Path:
    """Write the manifest of ``checkpoints`` (family → checkpoint file in ``path``'s folder,
    each hashed) atomically; return ``path``."""
    path = Path(path)
    entries = {}
    for family, file in checkpoints.items():
        file = Path(file)
        if file.parent.resolve() != path.parent.resolve():
            raise ValueError(f"checkpoint {file} must sit in the manifest's folder {path.parent}")
        entries[family] = {"path": file.name, "sha256": file_sha256(file)}
    manifest = {"format": MANIFEST_FORMAT, "model": model, "seed": seed, "checkpoints": entries}
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest at ``path``, checked (ValueError naming the file otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoints manifest {str(path)!r} not found")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: malformed JSON ({error})") from None
    if not isinstance(manifest, dict) or sorted(manifest) != sorted(MANIFEST_KEYS):
        raise ValueError(f"{path}: a checkpoints manifest has exactly the keys {MANIFEST_KEYS}")
    if manifest["format"] != MANIFEST_FORMAT:
        raise ValueError(f"{path}: manifest format {manifest['format']!r}; expected 1")
    checkpoints = manifest["checkpoints"]
    if not isinstance(checkpoints, dict) or not checkpoints:
        raise ValueError(f"{path}: 'checkpoints' must map families to checkpoints")
    for family, item in checkpoints.items():
        if not isinstance(item, dict) or sorted(item) != ["path", "sha256"]:
            raise ValueError(f"{path}: checkpoint of {family!r} must have 'path' and 'sha256'")
        if Path(item["path"]).name != item["path"]:
            raise ValueError(f"{path}: checkpoint path {item['path']!r} must be a file name")
    return manifest


class FamilyCheckpointsPolicy:
    """Per-family agents behind one :class:`babyaipp.policy.Policy` (see the module doc).

    The suite runner calls :meth:`for_family` and plays the policy it returns; calling
    :meth:`act` directly is an error, since the family is not in the observation.
    """

    privileged = False
    needs_env = False

    def __init__(self, manifest_path: str | Path, device: str = "cpu"):
        from babyaipp.eval.policies import load_checkpoint_policy

        self.manifest_path = Path(manifest_path)
        manifest = read_manifest(self.manifest_path)
        self.model_name = manifest["model"]
        self.name = manifest["model"]
        self.checkpoint_sha256 = file_sha256(self.manifest_path)
        self.policies: dict[str, Policy] = {}
        for family, item in manifest["checkpoints"].items():
            file = self.manifest_path.parent / item["path"]
            if not file.is_file():
                raise FileNotFoundError(f"{self.manifest_path}: checkpoint {file} not found")
            digest = file_sha256(file)
            if digest != item["sha256"]:
                raise ValueError(
                    f"{self.manifest_path}: {file} has sha256 {digest}, the manifest says "
                    f"{item['sha256']}"
                )
            policy = load_checkpoint_policy(file, device=device)
            model = getattr(policy, "model_name", manifest["model"])
            if model != manifest["model"]:
                raise ValueError(
                    f"{self.manifest_path}: {file} holds model {model!r}, the manifest says "
                    f"{manifest['model']!r}"
                )
            self.policies[family] = policy
        uses_text = {bool(p.uses_text) for p in self.policies.values()}
        if len(uses_text) != 1:
            raise ValueError(f"{self.manifest_path}: some checkpoints read text, some do not")
        self.uses_text = uses_text.pop()
        self.vocab_hash = next(iter(self.policies.values())).vocab_hash

    @property
    def families(self) -> list[str]:
        return list(self.policies)

    def for_family(self, family: str) -> Policy:
        """The agent trained on ``family`` (ValueError naming the families it has)."""
        if family not in self.policies:
            raise ValueError(
                f"{self.manifest_path} has no checkpoint for family {family!r}; it has "
                f"{self.families}"
            )
        return self.policies[family]

    def initial_state(self, num_envs: int) -> Any:
        return None

    def act(self, obs, state, episode_start, *, greedy=True, envs=None):
        raise RuntimeError(
            f"{self.name}: one agent per family; call for_family(family) and play the policy "
            "it returns (the suite runner does)"
        )


def from_spec(argument: str, base_dir: Path) -> Policy:
    """The factory of the ``checkpoints:<manifest>`` policy kind."""
    if not argument:
        raise ValueError(
            "policy spec 'checkpoints:' needs a manifest path, e.g. checkpoints:seed1/manifest.json"
        )
    path = Path(argument)
    if not path.is_absolute() and (base_dir / path).is_file():
        path = base_dir / path
    policy = FamilyCheckpointsPolicy(path)
    policy.spec = f"checkpoints:{argument}"  # as given, so the spec stays relative
    return policy
