"""``babyaipp play`` (a level in a pygame window, by hand or watching an agent) and
``babyaipp gallery`` (one GIF per family for the docs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from babyaipp.cli import CommandError
from babyaipp.commands import seed

BOT = "bot"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "play",
        help="play a level in a window, or watch an agent play it",
        description="Arrows turn and move, space toggles, page up picks up, page down drops, "
        "enter is done, backspace restarts, n is the next seed, d reveals the dynamics, "
        "h shows every key, escape quits. With --agent: space pauses, . steps, +/- speed.",
    )
    p.add_argument("env_id", metavar="ID", help="e.g. BabyAIPP-GoToRedBall-Train-v0")
    p.add_argument("--seed", type=seed, default=0, help="first episode's seed (default 0)")
    p.add_argument(
        "--agent",
        metavar="CHECKPOINT",
        help=f"watch this checkpoint play (or '{BOT}': minigrid's BabyAI bot, blind to dynamics)",
    )
    p.add_argument("--sample", action="store_true", help="agent samples actions (default greedy)")
    p.add_argument("--speed", type=float, default=4.0, help="agent steps per second (default 4)")
    p.add_argument("--paused", action="store_true", help="agent mode starts paused")
    p.add_argument("--episodes", type=int, help="agent mode: quit after this many episodes")
    p.add_argument("--record", metavar="OUT.gif", help="write a GIF of the session on exit")
    p.add_argument("--screenshot", metavar="OUT.png", help="save the last frame as a PNG on exit")
    p.add_argument("--reveal", action="store_true", help="start with the dynamics revealed (d)")
    p.add_argument("--text", default="full", help="text mode: full, none, shuffled, random")
    p.add_argument("--tile-size", type=int, help="pixels per grid cell (default: fit 744 px)")
    p.set_defaults(func=run_play)

    g = subparsers.add_parser(
        "gallery",
        help="write one GIF per family (docs/gallery/)",
        description="Each GIF is one Train episode with the dynamics revealed, played by "
        "minigrid's BabyAI bot (blind to the dynamics) unless --agent is given: the first seed "
        "from 0 whose episode ends after --min-steps to --max-steps steps.",
    )
    g.add_argument("--out", default="docs/gallery", help="folder (default docs/gallery)")
    g.add_argument("--family", action="append", help="only this family (repeatable)")
    g.add_argument("--split", default="Train", help="split (default Train)")
    g.add_argument("--min-steps", type=int, default=8, help="shortest episode shown (default 8)")
    g.add_argument("--max-steps", type=int, default=40, help="longest episode shown (default 40)")
    g.add_argument("--agent", metavar="CHECKPOINT", help=f"a checkpoint, or '{BOT}' (default)")
    g.set_defaults(func=run_gallery)


def load_agent(spec: str):
    """The policy named by ``--agent``: ``"bot"`` or a checkpoint for babyaipp.agents."""
    if spec == BOT:
        from babyaipp.viewer.bot import BlindBotPolicy

        return BlindBotPolicy()
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {spec!r} not found (or not a file)")
    try:
        from babyaipp.agents import load_policy
    except ImportError as error:
        raise CommandError(
            f"--agent needs babyaipp.agents with load_policy (pip install 'babyaipp[agents]'): "
            f"{error}"
        ) from None
    try:
        return load_policy(path, device="cpu")
    except (ValueError, FileNotFoundError):
        raise  # load_policy's own messages: a wrong vocabulary, a missing file
    except Exception as error:  # torch.load fails on a bad file in many ways
        raise CommandError(
            f"cannot read checkpoint {spec!r}: {type(error).__name__}: {error}"
        ) from None


def _import_pygame():
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on stdout
    try:
        import pygame
    except ImportError as error:
        raise CommandError(
            f"the viewer needs pygame (pip install 'babyaipp[viewer]'): {error}"
        ) from None
    return pygame


def run_play(args: argparse.Namespace) -> int:
    pygame = _import_pygame()
    import babyaipp  # noqa: F401  (registers the ids)
    from babyaipp.viewer.app import run_viewer
    from babyaipp.viewer.draw import Layout
    from babyaipp.viewer.gif import output_path
    from babyaipp.viewer.session import Session

    if args.tile_size is not None and not 4 <= args.tile_size <= 128:
        raise ValueError(f"--tile-size {args.tile_size} must be between 4 and 128 pixels")
    if args.record:
        output_path(args.record, ".gif", "--record")
    if args.screenshot:
        output_path(args.screenshot, ".png", "--screenshot")
    policy = load_agent(args.agent) if args.agent else None
    if args.episodes is not None and policy is None:
        raise ValueError("--episodes applies to agent mode only (give --agent)")
    session = Session(
        args.env_id,
        seed=args.seed,
        policy=policy,
        greedy=not args.sample,
        speed=args.speed,
        paused=args.paused,
        max_episodes=args.episodes,
        env_kwargs={"text": args.text},
    )
    session.show_dynamics = args.reveal
    layout = Layout(tile=args.tile_size) if args.tile_size else None
    try:
        _check_display(pygame, can_end=args.episodes is not None)
        recorder = run_viewer(
            session, layout=layout, record=args.record, screenshot=args.screenshot
        )
    except KeyboardInterrupt:  # ctrl-c in the terminal: quit like escape (the GIF is saved)
        return 130
    except pygame.error as error:
        raise CommandError(
            f"cannot open a window ({error}); to run without a display set SDL_VIDEODRIVER=dummy "
            "and use --agent with --episodes, --record or --screenshot"
        ) from None
    finally:
        session.close()
    if recorder is not None:
        dropped = f" ({recorder.dropped} frames over the limit dropped)" if recorder.dropped else ""
        print(f"wrote {recorder.path} ({len(recorder.frames)} frames){dropped}")
    if args.screenshot:
        print(f"wrote {args.screenshot}")
    return 0


HEADLESS_DRIVERS = ("dummy", "offscreen")


def _check_display(pygame, can_end: bool) -> None:
    """Refuse to run an invisible window that nothing could close."""
    pygame.display.init()
    driver = pygame.display.get_driver()
    if driver in HEADLESS_DRIVERS and not can_end:
        pygame.display.quit()
        raise CommandError(
            f"no display (SDL video driver {driver!r}), so no key could end the session; "
            "headless, use --agent with --episodes (and --record or --screenshot)"
        )


def run_gallery(args: argparse.Namespace) -> int:
    _import_pygame()
    from babyaipp.viewer.gallery import make_gallery

    policy = load_agent(args.agent) if args.agent else None
    entries = make_gallery(
        args.out,
        families=args.family,
        split=args.split,
        policy=policy,
        min_steps=args.min_steps,
        max_steps=args.max_steps,
    )
    for e in entries:
        size = e.path.stat().st_size / 1024
        print(f"wrote {e.path} ({size:.0f} KiB): {e.env_id} seed {e.seed}, {e.outcome}")
    return 0
