"""The docs point at real lines: a moved line fails here, not in a reader's browser."""

import re
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
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    first_block = re.search(r"^```\w*\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert first_block, "the Quickstart section has no code block"
    commands = [
        line.partition("#")[0].strip()
        for line in first_block.group(1).splitlines()
        if line.partition("#")[0].strip()
    ]
    assert commands == ["make up", "make test"]
