"""The PromQL that the dashboards and the alerting rules run, read from their files so that
a test can run it against a Prometheus (Grafana itself cannot run in CI).

- `dashboard_queries` / `rule_queries`: every expression, named by where it was found
  ("traffic.json: 5xx ratio", "rules/shortener.yml: ApiErrorRatioHigh").
- `instantiate`: Grafana's variables replaced, so that Prometheus accepts the expression.
- `metric_names`: the metrics an expression selects, to compare with those exported: a
  name nothing exports is an empty panel, not an error, and Prometheus would not say.

Pure: it reads files and nothing else. tests/unit/test_promql_extraction.py holds the
cases the tokenizer must get right.
"""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Query:
    source: str  # the file and the panel, variable or rule, for a failure message
    expr: str


def dashboard_queries(folder: Path) -> list[Query]:
    """Every target's expr of every panel (rows' panels included) and every query
    variable's query of each dashboard in `folder`."""
    queries: list[Query] = []
    for path in sorted(folder.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        for panel in panels(dashboard):
            targets = panel.get("targets", [])
            title = panel.get("title") or f"panel {panel.get('id')}"
            for target in targets:
                name = f"{title} ({target.get('refId')})" if len(targets) > 1 else title
                queries.append(Query(f"{path.name}: {name}", target.get("expr", "")))
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue  # custom, interval, datasource, constant: no PromQL
            query = variable.get("query", "")
            if isinstance(query, dict):  # the query editor's form: {"query": ..., "refId": ...}
                query = query.get("query", "")
            expr = variable_expr(query)
            if expr:
                queries.append(Query(f"{path.name}: ${variable['name']}", expr))
    return queries


def panels(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The panels of a dashboard, depth first: a collapsed row keeps its own in `panels`."""
    for panel in container.get("panels", []):
        yield panel
        yield from panels(panel)


def rule_queries(folder: Path) -> list[Query]:
    """Every alerting and recording rule's expr in the YAML rule files of `folder`."""
    queries: list[Query] = []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in document.get("groups") or []:  # a promtool test file has none
            for rule in group.get("rules") or []:
                name = rule.get("alert") or rule.get("record")
                source = f"{folder.name}/{path.name}: {name}"
                queries.append(Query(source, str(rule.get("expr", ""))))
    return queries


# What a Grafana variable query runs, in the Prometheus data source's syntax.
LABEL_VALUES = re.compile(r"\s*label_values\s*\((?P<args>.*)\)\s*", re.DOTALL)
QUERY_RESULT = re.compile(r"\s*query_result\s*\((?P<expr>.*)\)\s*", re.DOTALL)
NO_EXPR = re.compile(r"\s*(label_names|metrics)\s*\(")


def variable_expr(query: str) -> str | None:
    """The PromQL a variable query evaluates: label_values(selector, label) selects the
    series of `selector`; label_values(label), label_names() and metrics(regex) select none
    (None); query_result(expr) runs expr; anything else is a series selector."""
    if match := QUERY_RESULT.fullmatch(query):
        return match["expr"].strip()
    if match := LABEL_VALUES.fullmatch(query):
        selector, comma, _label = match["args"].rpartition(",")  # the label has no comma
        return selector.strip() if comma else None
    if NO_EXPR.match(query):
        return None
    return query.strip() or None


# Grafana's built-in variables, with the values the live test queries a minute-wide rate
# and an hour-wide range with; any dashboard variable matches anything.
BUILT_IN = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1h",
    "__range_s": "3600",
    "__range_ms": "3600000",
}
ANY = ".*"
# $name, ${name}, ${name:format}, and the deprecated [[name]]; never $1 (label_replace's).
VARIABLE = re.compile(
    r"\$\{(?P<braced>[A-Za-z_]\w*)(?::[^}]*)?\}"
    r"|\$(?P<plain>[A-Za-z_]\w*)"
    r"|\[\[(?P<old>[A-Za-z_]\w*)(?::[^\]]*)?\]\]"
)


def instantiate(expr: str) -> str:
    """`expr` as Grafana would send it, with fixed values for its variables."""

    def value(match: re.Match[str]) -> str:
        name = match["braced"] or match["plain"] or match["old"]
        return BUILT_IN.get(name, ANY)

    return VARIABLE.sub(value, expr)


# The lexer: one alternative per kind of token; `other` takes what PromQL would reject.
TOKEN = re.compile(
    r"""
      (?P<space>\s+|\#[^\n]*)
    | (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    | (?P<variable>\$\{[^}]*\}|\$\w+|\[\[[^\]]*\]\])
    | (?P<number>(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\w*)
    | (?P<name>[A-Za-z_:][\w:]*)
    | (?P<symbol>=~|!~|!=|==|<=|>=|[-+*/%^<>=(){}\[\],@])
    | (?P<other>.)
    """,
    re.VERBOSE,
)
# Followed by a parenthesised list of label names, not by an expression.
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Never a metric: binary operators and modifiers spelled as words, and the numbers that are.
KEYWORDS = {"and", "or", "unless", "atan2", "bool", "offset", "inf", "nan"}
PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str


def tokens(expr: str) -> list[Token]:
    found = (Token(match.lastgroup or "other", match[0]) for match in TOKEN.finditer(expr))
    return [token for token in found if token.kind != "space"]


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects: each vector selector's name, written before its
    braces or as __name__="x" in them. Not functions, aggregations, keywords, label names,
    label values, durations or numbers. A variable query (label_values(...)) is read as
    the selector it runs. ValueError if the brackets do not pair up."""
    words = tokens(variable_expr(expr) or "")
    check_brackets(words, expr)
    names: set[str] = set()
    position = 0
    while position < len(words):
        token = words[position]
        following = words[position + 1].text if position + 1 < len(words) else ""
        if token.text == "{":  # label matchers
            end = closing(words, position)
            names |= matcher_names(words[position + 1 : end])
            position = end
        elif token.text == "[":  # a range or a subquery's durations
            position = closing(words, position)
        elif token.kind == "name":
            word = token.text.lower()  # keywords are case-insensitive; metric names are not
            if word in GROUPING:
                if following == "(":
                    position = closing(words, position + 1)
            # A function or an aggregation: its name comes before "(", or before by/without.
            elif word not in KEYWORDS and following.lower() not in {"(", "by", "without"}:
                names.add(token.text)
        position += 1
    return names


def matcher_names(inside: list[Token]) -> set[str]:
    """Names given inside braces: {__name__="x"}, or Prometheus 3's quoted {"x"}."""
    names: set[str] = set()
    matcher: list[Token] = []
    for token in [*inside, Token("symbol", ",")]:
        if token.text != ",":
            matcher.append(token)
            continue
        match matcher:
            case [Token(text=label), Token(text="="), Token(kind="string", text=value)] if (
                unquote(label) == "__name__"
            ):
                names.add(unquote(value))
            case [Token(kind="string", text=value)]:
                names.add(unquote(value))
        matcher = []
    return names


def unquote(text: str) -> str:
    if text[:1] in {'"', "'"}:
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text.strip("`")


def closing(words: list[Token], opening: int) -> int:
    """The position of the bracket that closes the one at `opening` (check_brackets has
    made sure it exists)."""
    depth = 0
    for position in range(opening, len(words)):
        text = words[position].text
        if text in PAIRS:
            depth += 1
        elif text in PAIRS.values():
            depth -= 1
            if depth == 0:
                return position
    raise ValueError("unclosed bracket")  # pragma: no cover - check_brackets ran first


def check_brackets(words: list[Token], expr: str) -> None:
    expected: list[str] = []
    for token in words:
        if token.text in PAIRS:
            expected.append(PAIRS[token.text])
        elif token.text in PAIRS.values() and (not expected or expected.pop() != token.text):
            raise ValueError(f"unpaired {token.text!r} in {expr!r}")
    if expected:
        raise ValueError(f"{expected[-1]!r} missing in {expr!r}")
