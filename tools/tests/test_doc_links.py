"""Every link in the repository's Markdown resolves inside the repository, so a clone
reads whole: no link to a file outside it, none to a file that is not there."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and [text](target "title"); images too. Anchors and URLs are not files.
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
NOT_A_FILE = ("http://", "https://", "mailto:", "#")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / name for name in listed]


def broken_links(path: Path) -> list[str]:
    """The links of one Markdown file that leave the repository or name nothing."""
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if target.startswith(NOT_A_FILE):
            continue
        resolved = (path.parent / target.split("#", 1)[0]).resolve()
        if not resolved.is_relative_to(ROOT) or not resolved.exists():
            broken.append(target)
    return broken


def test_every_markdown_link_names_a_file_in_the_repository() -> None:
    files = markdown_files()
    assert len(files) > 10  # the listing found the repository's documents
    found = {str(path.relative_to(ROOT)): broken_links(path) for path in files}
    assert {name: links for name, links in found.items() if links} == {}


def test_a_link_out_of_the_repository_or_to_nothing_is_found(tmp_path: Path) -> None:
    page = ROOT / "docs" / "architecture.md"
    assert broken_links(page) == []
    probe = tmp_path / "probe.md"
    probe.write_text(
        "[out](../../shared/ARCHITECTURE.md) [gone](missing.md) [web](https://example.org)"
        " [anchor](#top)"
    )
    assert broken_links(probe) == ["../../shared/ARCHITECTURE.md", "missing.md"]
