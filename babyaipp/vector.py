"""What babyaipp adds to gymnasium's vector envs: text that survives shared memory, quiet workers.

**Text in ``AsyncVectorEnv``.** With ``shared_memory=True`` (the default of
``gym.make_vec(id, n, vectorization_mode="async")``) gymnasium decodes a ``Text`` space's shared
memory once, when the vector env is built, and returns that tuple of strings on every reset
and step: 512-character ``"aaaa…"`` strings, whatever the envs say (gymnasium 1.x). The
observation spaces of babyaipp use :class:`Text`, a ``gymnasium.spaces.Text`` whose shared
memory is read when the observation is returned: with gymnasium's default ``copy=True``
every ``reset`` and ``step`` gives a plain tuple of the envs' strings, as the sync vector env
does; with ``copy=False`` a live read-only sequence that always shows the latest strings (as
the arrays of the other keys are live views).

**Quiet workers.** :func:`quiet_async_worker` is gymnasium's async worker that ignores
Ctrl-C (the main process closes its workers) and exits silently if the main process is gone,
instead of each worker printing a ``KeyboardInterrupt`` / ``BrokenPipeError`` traceback.
:func:`make_vec` is ``gym.make_vec`` with that worker, and with SIGINT and SIGTERM held while
the workers are forked: a Ctrl-C in that instant would otherwise reach a worker before it
ignores Ctrl-C (a traceback from the worker), or the main process inside ``fork`` (where
Python drops it, and the run goes on as if nothing had been pressed).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import read_from_shared_memory

try:  # gymnasium's worker function (private): wrapped, not copied
    from gymnasium.vector.async_vector_env import _async_worker
except ImportError:  # another gymnasium: its own worker, as it is
    _async_worker = None


class Text(spaces.Text):
    """``gymnasium.spaces.Text`` whose strings are read correctly from an ``AsyncVectorEnv``'s
    shared memory (see the module docstring). Equal to a plain ``Text`` of the same lengths
    and charset."""


class SharedTexts(Sequence):
    """The ``n`` strings of a :class:`Text` space in shared memory, decoded when read.

    ``copy.deepcopy`` (what ``AsyncVectorEnv`` does with ``copy=True``) gives a tuple of str.
    """

    def __init__(self, space: spaces.Text, shared_memory: Any, n: int):
        self._codes = np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(
            n, space.max_length
        )
        self._charset = len(space.character_list)
        # code point of each character index, to decode a row with one array lookup
        self._points = np.array([ord(c) for c in space.character_list], dtype="<u4")

    def __len__(self) -> int:
        return len(self._codes)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self)[index]
        row = self._codes[index]
        return self._points[row[row < self._charset]].tobytes().decode("utf-32-le")

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __deepcopy__(self, memo) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))


@read_from_shared_memory.register(Text)
def _read_text(space: Text, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(space, shared_memory, n)


_HELD_WHILE_FORKING = {signal.SIGINT, signal.SIGTERM}


def quiet_async_worker(*args: Any) -> None:
    """gymnasium's ``AsyncVectorEnv`` worker, without tracebacks when the run is stopped.

    Ctrl-C reaches the whole process group: the worker ignores it and is closed by the main
    process (whose ``close`` waits for it). If the main process is gone (killed), the
    worker's pipe breaks and it exits without a word. SIGTERM ends it at once (the default).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not a handler inherited through fork
    # Held by make_vec while forking: one that came since is now ignored (SIGINT) or ends us.
    if hasattr(signal, "pthread_sigmask"):  # POSIX only
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD_WHILE_FORKING)
    try:
        _async_worker(*args)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        pass


def make_vec(
    env_id: str,
    num_envs: int,
    vectorization_mode: str,
    vector_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> gym.vector.VectorEnv:
    """``gym.make_vec(env_id, num_envs, vectorization_mode, vector_kwargs=..., **kwargs)``, with
    async workers quiet on Ctrl-C from the moment they exist (see the module docstring).

    SIGINT and SIGTERM are blocked in the calling thread while the workers are forked (they
    inherit the mask and unblock it once their handlers are set); a signal that came in the
    meantime is delivered when this returns, and the new vector env is closed before it
    propagates.
    """
    vector_kwargs = dict(vector_kwargs or {})
    if vectorization_mode == "async" and _async_worker is not None:
        vector_kwargs.setdefault("worker", quiet_async_worker)
    hold = (
        vector_kwargs.get("worker") is quiet_async_worker
        and hasattr(signal, "pthread_sigmask")  # POSIX only
        and threading.current_thread() is threading.main_thread()
    )
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_WHILE_FORKING) if hold else None
    try:
        vec = gym.make_vec(
            env_id, num_envs, vectorization_mode=vectorization_mode,
            vector_kwargs=vector_kwargs, **kwargs,
        )  # fmt: skip
    except BaseException:  # e.g. a worker that failed to start
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        raise
    if previous is not None:
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)  # a pending Ctrl-C raises here
        except BaseException:
            vec.close(terminate=True)
            raise
    return vec
