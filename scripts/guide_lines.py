#!/usr/bin/env python3
"""Keep the line numbers in docs/practices.md true.

Every reference in the guide has the form  [FILE:LINE](../FILE#LLINE) `SNIPPET`  and
claims that SNIPPET stands on that line of FILE.

  scripts/guide_lines.py --check   exit 1 and list every reference that has drifted
  scripts/guide_lines.py --fix     move each reference to the occurrence of its snippet
                                   nearest the old line, and rewrite the guide
"""

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "practices.md"
REFERENCE = re.compile(
    r"\[(?P<file>[^\]:]+):(?P<line>\d+)\]\(\.\./(?P=file)#L\d+\) `(?P<snippet>[^`]+)`"
)


def occurrences(file: str, snippet: str) -> list[int]:
    lines = (REPO / file).read_text(encoding="utf-8").splitlines()
    return [number for number, text in enumerate(lines, start=1) if snippet in text]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fix", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = GUIDE.read_text(encoding="utf-8")
    problems: list[str] = []

    def place(match: re.Match[str]) -> str:
        file, line, snippet = match["file"], int(match["line"]), match["snippet"]
        if not (REPO / file).is_file():
            problems.append(f"{file}: no such file")
            return match[0]
        found = occurrences(file, snippet)
        if not found:
            problems.append(f"{file}: `{snippet}` not found")
            return match[0]
        if line in found:
            return match[0]
        nearest = min(found, key=lambda number: abs(number - line))
        if not args.fix:
            problems.append(f"{file}:{line}: `{snippet}` is now on line {nearest}")
        return f"[{file}:{nearest}](../{file}#L{nearest}) `{snippet}`"

    fixed = REFERENCE.sub(place, text)
    if args.fix and fixed != text:
        GUIDE.write_text(fixed, encoding="utf-8")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
