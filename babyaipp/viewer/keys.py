"""Key bindings of the viewer, as pure data and one pure function.

Keys are named as ``pygame.key.name`` names them (``"left"``, ``"page up"``, ``"return"``) or,
for printable keys, by the character typed (``"+"``, ``"."``); :func:`command_for_key` maps a
name to a :class:`Command`, given the mode. Applying a command to a session lives in
:meth:`babyaipp.viewer.session.Session.apply`, so all of the key handling is tested without a
screen.

Human mode uses minigrid's ``manual_control`` keys: arrows turn and move, space toggles,
page up / tab pick up, page down / left shift drop, enter says done, backspace restarts the
episode. Both modes add ``n`` (next seed), ``d`` (reveal the dynamics), ``a`` (attention
overlay), ``h`` (help) and escape (close the help, else quit). Agent mode replaces the
action keys by space (pause), ``.`` (one step), ``+`` / ``-`` (speed).
"""

from __future__ import annotations

from dataclasses import dataclass

from minigrid.core.actions import Actions

ACTION_NAMES: tuple[str, ...] = tuple(a.name for a in Actions)

# minigrid's manual_control names, plus pygame-ce's spellings of the same keys.
ACTION_KEYS: dict[str, Actions] = {
    "left": Actions.left,
    "right": Actions.right,
    "up": Actions.forward,
    "space": Actions.toggle,
    "page up": Actions.pickup,
    "pageup": Actions.pickup,
    "tab": Actions.pickup,
    "page down": Actions.drop,
    "pagedown": Actions.drop,
    "left shift": Actions.drop,
    "return": Actions.done,
    "enter": Actions.done,
}

VIEW_KEYS: dict[str, str] = {
    "backspace": "restart",
    "n": "next_seed",
    "d": "toggle_dynamics",
    "a": "toggle_attention",
    "h": "toggle_help",
    "escape": "escape",
}

AGENT_KEYS: dict[str, str] = {
    "space": "pause",
    ".": "step_once",
    "+": "faster",
    "=": "faster",  # the unshifted '+' key
    "[+]": "faster",
    "-": "slower",
    "[-]": "slower",
}

# (keys, what they do) for the help overlay, per mode.
HELP_HUMAN: tuple[tuple[str, str], ...] = (
    ("left / right", "turn"),
    ("up", "move forward"),
    ("space", "toggle (open a door)"),
    ("page up / tab", "pick up"),
    ("page down / l-shift", "drop"),
    ("enter", "done"),
)
HELP_AGENT: tuple[tuple[str, str], ...] = (
    ("space", "pause / resume the agent"),
    (".", "one agent step (pauses)"),
    ("+ / -", "faster / slower"),
)
HELP_COMMON: tuple[tuple[str, str], ...] = (
    ("backspace", "restart this seed"),
    ("n", "next seed"),
    ("d", "reveal the dynamics (property of each tile)"),
    ("a", "attention overlay (attention models)"),
    ("h", "this help"),
    ("escape", "close help / quit"),
)


@dataclass(frozen=True)
class Command:
    """What a key asks for: ``name`` is ``"act"`` (with ``action``) or a name from the maps."""

    name: str
    action: int | None = None


def command_for_key(key: str, agent_mode: bool) -> Command | None:
    """The command bound to ``key`` in the given mode, or None if the key is unbound."""
    if key in VIEW_KEYS:
        return Command(VIEW_KEYS[key])
    if agent_mode:
        return Command(AGENT_KEYS[key]) if key in AGENT_KEYS else None
    if key in ACTION_KEYS:
        return Command("act", int(ACTION_KEYS[key]))
    return None


def help_lines(agent_mode: bool) -> tuple[tuple[str, str], ...]:
    """The (keys, meaning) rows of the help overlay."""
    return (HELP_AGENT if agent_mode else HELP_HUMAN) + HELP_COMMON
