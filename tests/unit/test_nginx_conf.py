"""nginx/includes/problems.conf writes every error page nginx makes itself from one row per
status: one row per status that error_page sends there, each a valid problem document."""

import json
import re

from tests.e2e.stack import REPO

INCLUDES = REPO / "nginx" / "includes"


def map_rows(text: str, header: str) -> list[tuple[str, str]]:
    """The (key, value) rows of the `map` block that starts with `header`, in order."""
    body = text.split(header + " {", 1)[1].split("\n}", 1)[0]
    rows = []
    for line in body.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line == "volatile;":
            continue
        key, value = line.rstrip(";").split(None, 1)
        rows.append((unquote(key), unquote(value.strip())))
    return rows


def unquote(token: str) -> str:
    return token[1:-1] if len(token) > 1 and token[0] == token[-1] in "'\"" else token


def test_every_error_page_has_one_problem_document() -> None:
    text = (INCLUDES / "problems.conf").read_text()
    sent = {
        int(code)
        for line in re.findall(r"^error_page ([^;]+);", text, re.M)
        for code in line.split()
        if code.isdigit()
    }
    rows = dict(map_rows(text, "map $status $problem"))
    assert {int(status) for status in rows} == sent - {494}  # 494 is sent as 400
    for status, fields in rows.items():
        # As nginx.conf's /.problem/ location writes it.
        problem = json.loads("{" + fields + ',"request_id":"x"}')
        assert problem["status"] == int(status)
        assert problem["type"].startswith("https://shortener.example/problems/")
        assert problem["title"] and problem["detail"]
