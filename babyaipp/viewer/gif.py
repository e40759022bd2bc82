"""GIF export with Pillow: frames in, one file out, written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from babyaipp.io import atomic_path

# Frames shorter than this play at the GIF viewer's whim (many clamp 10 ms to 100 ms).
MIN_FRAME_MS = 40
MAX_FRAME_MS = 2000
LAST_FRAME_MS = 1500


def output_path(path: str | Path, suffix: str, what: str) -> Path:
    """``path`` as a Path, after checking its suffix and that its folder exists."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise ValueError(f"{what} path {str(path)!r} must end in {suffix}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {str(path.parent)!r} for {path.name} does not exist")
    return path


def write_gif(path: str | Path, frames: Sequence, durations_ms: int | Sequence[int]) -> Path:
    """Write ``frames`` ((H, W, 3) uint8 arrays or PIL images) as a looping GIF at ``path``.

    ``durations_ms`` is one duration for every frame or one per frame. The file appears only
    when complete (written to a temporary name in the same folder, then renamed).
    """
    from PIL import Image

    if not frames:
        raise ValueError(f"no frames to write to {path}")
    path = output_path(path, ".gif", "GIF")
    images = [f if isinstance(f, Image.Image) else Image.fromarray(np.asarray(f)) for f in frames]
    if isinstance(durations_ms, int):
        durations_ms = [durations_ms] * len(images)
    if len(durations_ms) != len(images):
        raise ValueError(f"{len(durations_ms)} durations for {len(images)} frames")
    with atomic_path(path) as tmp:
        images[0].save(
            tmp,
            format="GIF",
            save_all=True,
            append_images=images[1:],
            duration=[int(d) for d in durations_ms],
            loop=0,
        )
    return path


class Recorder:
    """Collects timed frames of a session and writes them as a GIF.

    Each frame is shown for the time until the next one (between MIN_FRAME_MS and
    MAX_FRAME_MS); the last for LAST_FRAME_MS. Frames are palette-quantized as they come, to
    keep memory low; after ``max_frames`` further frames are dropped (``dropped`` counts them).
    """

    def __init__(self, path: str | Path, max_frames: int = 1000):
        self.path = output_path(path, ".gif", "GIF")
        self.max_frames = max_frames
        self.frames: list = []
        self.times: list[float] = []
        self.dropped = 0

    def add(self, frame: np.ndarray, at: float) -> None:
        """Add ``frame``, first shown at time ``at`` (seconds, any monotonic clock)."""
        from PIL import Image

        if len(self.frames) >= self.max_frames:
            self.dropped += 1
            return
        self.frames.append(
            Image.fromarray(frame).quantize(colors=256, method=Image.Quantize.FASTOCTREE)
        )
        self.times.append(at)

    def durations_ms(self) -> list[int]:
        gaps = [1000 * (b - a) for a, b in zip(self.times[:-1], self.times[1:], strict=True)]
        clamped = [int(min(MAX_FRAME_MS, max(MIN_FRAME_MS, g))) for g in gaps]
        return clamped + [LAST_FRAME_MS] if self.frames else []

    def save(self) -> Path:
        return write_gif(self.path, self.frames, self.durations_ms())
