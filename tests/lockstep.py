"""Two engines in lockstep inside the reference differential harness (shared by the tests of
the torch and numba backends).

:class:`Lockstep` looks like the numpy engine to :func:`babyaipp.engine.reference.
differential_run` (which checks the numpy engine against one reference env per slot) and
steps a second engine beside it with the same seed and actions; a subclass says how to hand
it actions and how to compare its outputs with the numpy engine's. At every restart the two
must hold the same episode (bank entry, map, text).
"""

from __future__ import annotations

import functools

import numpy as np

import babyaipp
from babyaipp.engine import backend_of, make_vector_env
from babyaipp.engine.bank import build_bank

ENGINE_FAMILIES = [
    name for name, spec in babyaipp.FAMILIES.items() if backend_of(spec) == "batched"
]
BANK_SIZE = 12


@functools.cache
def bank(family: str):
    """A small bank per family, built once per test process."""
    return build_bank(babyaipp.get_family(family), BANK_SIZE, progress=False)


def pair(family: str, num_envs: int, backend: str, split: str = "Test", **kwargs):
    """The numpy engine and the ``backend`` engine on the same bank and arguments.

    ``max_steps`` defaults to 60; ``max_steps=None`` takes the family's own limit, capped at
    100 so that big maps still end episodes in a short run.
    """
    kwargs.setdefault("max_steps", 60)
    if kwargs["max_steps"] is None:
        probe = babyaipp.make_env(family, split)
        probe.reset(seed=0)
        kwargs["max_steps"] = min(probe.max_steps, 100)
    return tuple(
        make_vector_env(num_envs, family, split, backend=b, bank=bank(family), **kwargs)
        for b in ("numpy", backend)
    )


class Lockstep:
    """The numpy engine to the harness; ``other`` stepped beside it and compared each call."""

    def __init__(self, numpy_env, other):
        self.numpy_env, self.other = numpy_env, other
        self.checked_steps = 0
        self._ended = np.zeros(numpy_env.num_envs, bool)  # these start an episode next step

    def __getattr__(self, name):
        return getattr(self.numpy_env, name)

    def actions(self, actions: np.ndarray):
        """The actions in the form ``other`` takes."""
        return actions

    def compare(self, want: tuple, got: tuple, where: str) -> None:
        """Raise unless ``got`` (from ``other``) is ``want`` (from the numpy engine)."""
        raise NotImplementedError

    def reset(self, *, seed=None, options=None):
        starting = np.ones(self.numpy_env.num_envs, bool)
        if options and "reset_mask" in options:
            starting = np.asarray(options["reset_mask"])
        out = self.numpy_env.reset(seed=seed, options=options)
        self._check(out, self.other.reset(seed=seed, options=options), starting, "reset")
        self._ended &= ~starting
        return out

    def step(self, actions):
        out = self.numpy_env.step(actions)
        got = self.other.step(self.actions(actions))
        self._check(out, got, self._ended, f"step {self.checked_steps}")
        self._ended = out[2] | out[3]
        self.checked_steps += 1
        return out

    def _check(self, want, got, starting, where):
        self.compare(want, got, where)
        for i in np.flatnonzero(starting):  # the same new episode: entry, map, text
            assert self.other.episode_state(i) == self.numpy_env.episode_state(i), where
