"""File helpers shared by the whole package: atomic writes and file hashes.

Every file babyaipp writes (results, leaderboard pages, banks, demonstrations, checkpoints,
GIFs, screenshots) goes through :func:`atomic_path`, so a crash or a full disk leaves either
the old file or the new one, never half of one.
"""

from __future__ import annotations

import glob
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(
    path: str | os.PathLike, *, suffix: str = ".tmp", overwrite: bool = True
) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path``.

    Write the whole file to the yielded path inside the ``with`` block. On normal exit it is
    made world-readable (``mkstemp`` creates 0600), flushed to disk (``fsync``, so a crash
    right after the rename cannot leave an empty file under the new name) and renamed onto
    ``path`` with ``os.replace`` (atomic on one file system); on an exception it is deleted
    and ``path`` is untouched. A process killed inside the block leaves the temporary file
    (``.<name>.<random><suffix>``): :func:`remove_stale_temp_files` clears those. ``suffix``
    is the temporary name's ending, for writers that pick a format from it (e.g. ``".png"``).
    The folder is created if missing. With ``overwrite=False`` an existing ``path`` is kept
    and FileExistsError raised, also when another process creates it meanwhile (the new file
    is published with a hard link, which fails if the name exists).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        _fsync_file(tmp)
        if overwrite:
            os.replace(tmp, path)
        else:
            _publish_new(tmp, path)
        _fsync_folder(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _publish_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` unless that exists (FileExistsError naming it)."""
    try:
        os.link(tmp, path)  # atomic: fails if the name exists
    except FileExistsError:
        raise FileExistsError(f"{path} exists") from None
    except OSError:  # no hard links on this file system: check, then rename
        if path.exists():
            raise FileExistsError(f"{path} exists") from None
        os.replace(tmp, path)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temp_files(path: str | os.PathLike, *, suffix: str = ".tmp") -> list[Path]:
    """Delete the temporary files that killed :func:`atomic_path` writes of ``path`` left.

    Call it where no other writer of ``path`` can be running (e.g. when training starts in
    its run directory). Returns the deleted paths.
    """
    path = Path(path)
    removed = []
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*{suffix}"):
        if stale.is_file():
            stale.unlink(missing_ok=True)
            removed.append(stale)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | os.PathLike, text: str, *, overwrite: bool = True) -> None:
    """Write ``text`` as UTF-8 to ``path`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
