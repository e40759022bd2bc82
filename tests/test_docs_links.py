"""Links between the project's markdown pages point at files that exist, and the docs name the
files the tools really write."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("leaderboard/**/*.md")],
    key=str,
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def local_links(page: Path) -> list[str]:
    """Relative link targets of ``page`` (web links and in-page anchors left out)."""
    targets = [m.group(1).split("#")[0] for m in LINK.finditer(page.read_text())]
    return [t for t in targets if t and not re.match(r"[a-z]+:", t)]


def test_pages_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in PAGES}
    assert {"README.md", "docs/agents.md", "docs/evaluation.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_local_links_resolve(page):
    broken = [t for t in local_links(page) if not (page.parent / t).exists()]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_docs_name_the_checkpoint_file_the_trainer_writes():
    from babyaipp.agents.checkpoint import CHECKPOINT_NAME

    for page in PAGES:
        text = page.read_text()
        assert "agent.pt" not in text, f"{page.relative_to(ROOT)} names agent.pt"
    assert f"runs/ppo/{CHECKPOINT_NAME}" in (ROOT / "README.md").read_text()
