"""What the numpy and the torch engines share: arguments, spaces, the episode stream, geometry."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from babyaipp.catalog import FamilySpec
from babyaipp.engine.bank import VERIFIERS, LayoutBank
from babyaipp.engine.sampling import EpisodeSampler, EpisodeStream
from babyaipp.engine.view import PAD

NUM_ACTIONS = 7


def refuse_bools(actions) -> None:
    """Raise ValueError if a list or tuple of actions holds a bool.

    ``np.asarray([True, 2])`` is an integer array, so the engines' dtype checks (which refuse
    bool arrays) would take ``True`` as action 1; this catches it before the conversion.
    """
    if isinstance(actions, (list, tuple)) and any(isinstance(a, (bool, np.bool_)) for a in actions):
        raise ValueError(f"actions {actions!r} hold a bool; valid: integers 0-6")


class BatchedEngine(VectorEnv):
    """Base of the batched engines: ``num_envs`` episodes of one family and split.

    Sets the gymnasium attributes (spaces, ``metadata``), checks the arguments, and builds
    the episode stream (:class:`~babyaipp.engine.sampling.EpisodeStream`) that every engine
    consumes in the same order, and the padded grid geometry (``_h``, ``_w`` the bank's grid,
    ``_hp``, ``_wp`` with :data:`~babyaipp.engine.view.PAD` walls around it).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(
        self,
        num_envs: int,
        spec: FamilySpec,
        split: str,
        bank: LayoutBank,
        single_observation_space: spaces.Dict,
        *,
        text: str = "full",
        sentence_order: str = "shuffled",
        withhold: int | None = None,
        density: float | None = None,
        max_steps: int | None = None,
    ):
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs={num_envs!r} must be a positive integer")
        if bank.verifier not in VERIFIERS:
            raise ValueError(f"unknown verifier kind {bank.verifier!r}; valid: {VERIFIERS}")
        self.num_envs = n = int(num_envs)
        self.spec, self.split, self.bank = spec, split, bank
        self.text_mode, self.density, self.max_steps_override = text, density, max_steps
        self.withhold = spec.withhold if withhold is None else int(withhold)
        self.sampler = EpisodeSampler(spec, split, text, sentence_order, self.withhold)
        self._stream = EpisodeStream(self.sampler, bank, chunk=max(n, 256))
        self.render_mode = None
        self.single_observation_space = single_observation_space
        self.observation_space = batch_space(single_observation_space, n)
        self.single_action_space = spaces.Discrete(NUM_ACTIONS)
        self.action_space = batch_space(self.single_action_space, n)
        self._np_random = None
        self._np_random_seed = None
        self._num_slots = spec.num_floor_colors
        _, self._h, self._w = bank.cells.shape
        self._hp, self._wp = self._h + 2 * PAD, self._w + 2 * PAD
        self._verifier = bank.verifier
        self._was_reset = False

    def _entry_max_steps(self) -> np.ndarray:
        """(entries,) int64: each bank entry's time limit, or the ``max_steps`` override."""
        if self.max_steps_override is None:
            return self.bank.max_steps.astype(np.int64)
        return np.full(len(self.bank.seeds), self.max_steps_override, dtype=np.int64)

    def _reseed(self, seed: int | None) -> bool:
        """Seed the batch's generator (one int); True if it was re-seeded."""
        if seed is None:
            return False
        if not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"seed={seed!r}: the batched engine takes one int seed for the whole batch"
            )
        self._np_random, self._np_random_seed = seeding.np_random(int(seed))
        self._stream.restart()
        return True

    def _reset_mask(self, options: dict | None) -> np.ndarray:
        """The envs a ``reset`` restarts: ``options["reset_mask"]`` (checked), else all."""
        if not options or "reset_mask" not in options:
            return np.ones(self.num_envs, dtype=bool)
        given = options["reset_mask"]
        mask = np.asarray(given.cpu() if hasattr(given, "cpu") else given)
        if mask.shape != (self.num_envs,) or mask.dtype != np.bool_ or not mask.any():
            raise ValueError(
                f"options['reset_mask'] must be a bool array of shape ({self.num_envs},) "
                f"with at least one True, got {given!r}"
            )
        return mask

    def close_extras(self, **kwargs) -> None:
        pass
