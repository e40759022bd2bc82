"""The interactive pygame viewer: play a level, read its text, watch an agent, record GIFs.

``babyaipp play ID`` and ``babyaipp gallery`` are its commands (:mod:`babyaipp.commands.play`).
The parts, each usable alone:

- :mod:`~babyaipp.viewer.keys`: key bindings and :func:`command_for_key` (pure);
- :mod:`~babyaipp.viewer.session`: :class:`Session`, the env + policy + toggles the keys change
  (no pygame);
- :mod:`~babyaipp.viewer.draw`: :class:`Painter`, which draws a session (off-screen too);
- :mod:`~babyaipp.viewer.app`: the window and event loop;
- :mod:`~babyaipp.viewer.gif`, :mod:`~babyaipp.viewer.gallery`, :mod:`~babyaipp.viewer.bot`:
  GIF export, the docs gallery, the dynamics-blind demo policy.

Only :mod:`~babyaipp.viewer.app` opens a display; everything else runs headless.
"""

from babyaipp.viewer.keys import Command, command_for_key
from babyaipp.viewer.session import EpisodeEnd, Session

__all__ = ["Command", "EpisodeEnd", "Session", "command_for_key"]
