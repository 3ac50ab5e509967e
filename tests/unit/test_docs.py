"""The docs point at real lines: a moved line fails here, not in a reader's browser."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_practice_guide_line_references_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "guide_lines.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, (
        "docs/practices.md has drifted; run scripts/guide_lines.py --fix\n" + result.stderr
    )


def test_readme_quickstart_is_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make up" in readme
    assert "make test" in readme
