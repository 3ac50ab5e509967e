"""How `make bench` judges a run: correctness checks, which fail it, and speed targets,
which are only reported (docs/performance.md, "How the bench judges a run").

A correctness check says the figures can be trusted: wrk saw no socket error, timeout or
status of 400 and above in the ceiling, the redirects and the single creates; every batch
call created its 1000 links; every entry of the ingestion backlog became a stored click;
the api lost no click, and the worker stored each click the api recorded exactly once.
Each repetition's checks count on their own (`--repeat N`): one failure anywhere and the
run exits with CHECK_FAILED, after writing and printing its results as usual.

A speed target (issue 7) says how fast; missing one is a finding, not a broken run: it is
shown in the table and the JSON, and the exit status stays 0.
"""

from collections.abc import Sequence
from dataclasses import asdict, dataclass

# The exit status of a run that measured everything but failed a check. Apart from 1 (the
# bench itself failed: an exception, wrk missing) and 2 (argparse: bad options).
CHECK_FAILED = 3

# Run by wrk: every request must be answered, with a 2xx or a 3xx.
WRK_SCENARIOS = ("ceiling", "redirect-cache-miss", "redirect-cache-hit", "create-single")
BATCH = "create-batch-1000"
INGEST = "ingest-clicks"
BATCH_LIMIT_MS = 500

# The targets of issue 7 (docs/performance.md, "Targets").
TARGETS = {
    "redirect-cache-hit": "ratio >= 0.20, p99 <= 20 ms, 0 errors",
    "redirect-cache-miss": "ratio >= 0.05",
    BATCH: f"every call < {BATCH_LIMIT_MS} ms",
    INGEST: ">= 20,000 clicks/s",
}


def target_met(name: str, result: dict) -> bool | None:
    """Whether one result (a repetition's, or the medians) meets its scenario's target;
    None for a scenario without one."""
    ratio = result.get("ratio_to_ceiling") or 0
    if name == "redirect-cache-hit":
        return ratio >= 0.20 and result["p99_ms"] <= 20 and result["errors"] == 0
    if name == "redirect-cache-miss":
        return ratio >= 0.05
    if name == BATCH:
        return result["max_ms"] < BATCH_LIMIT_MS  # the slowest call
    if name == INGEST:
        return result["rps"] >= 20_000
    return None


def targets_met(repetitions: Sequence[dict[str, dict]], summary: dict[str, dict]) -> dict:
    """Each target over the whole run: the batch's over every call of every repetition, the
    others on the medians."""
    met = {name: target_met(name, summary[name]) for name in TARGETS if name in summary}
    if BATCH in met:
        met[BATCH] = all(target_met(BATCH, repetition[BATCH]) for repetition in repetitions)
    return met


@dataclass(frozen=True)
class Check:
    """One claim about a run, and what the run showed."""

    what: str  # "redirect-cache-hit: no errors"
    seen: str  # "3 errors (status >= 400: 2, timeout: 1)"
    passed: bool
    repetition: int  # 1-based


# wrk's kinds of error (bench/wrk/report.lua), as a failed check names them.
WRK_ERROR_KINDS = {
    "connect": "connect",
    "read": "read",
    "write": "write",
    "status": "status >= 400",
    "timeout": "timeout",
}


def _wrk_errors(result: dict) -> str:
    """ "3 errors (status >= 400: 2, timeout: 1)" """
    count = result["errors"]
    kinds = result.get("errors_by_kind", {})
    named = ", ".join(f"{WRK_ERROR_KINDS[kind]}: {n}" for kind, n in kinds.items() if n)
    return f"{count} error{'' if count == 1 else 's'}" + (f" ({named})" if named else "")


def scenario_checks(scenarios: dict[str, dict], repetition: int) -> list[Check]:
    """One repetition's scenarios: wrk's errors, the batches, the ingestion backlog."""
    checks = [
        Check(
            f"{name}: no errors",
            _wrk_errors(scenarios[name]),
            not scenarios[name]["errors"],
            repetition,
        )
        for name in WRK_SCENARIOS
        if name in scenarios
    ]
    if BATCH in scenarios:
        batch = scenarios[BATCH]
        checks.append(
            Check(
                f"{BATCH}: every call created its links",
                f"{batch['errors']} of {batch['calls']} calls failed",
                not batch["errors"],
                repetition,
            )
        )
    if INGEST in scenarios:
        ingest = scenarios[INGEST]
        missing = ingest["errors"]  # entries of the backlog not stored (negative: extra)
        if missing > 0:
            seen = f"{missing:,} of {ingest['backlog']:,} entries not stored"
        elif missing < 0:
            seen = f"{-missing:,} more clicks stored than the {ingest['backlog']:,} entries"
        else:
            seen = f"all {ingest['backlog']:,} entries stored"
        checks.append(
            Check(f"{INGEST}: every backlog entry stored once", seen, not missing, repetition)
        )
    return checks


def click_checks(counts: dict, before: dict, repetition: int) -> list[Check]:
    """The api's clicks in one repetition: the counts after its drain less those before.

    Every redirect's click is recorded by the api (appended to the stream), lost (Redis
    refused the connection) or unconfirmed (sent, never answered: Redis may have applied
    it); the worker stores each entry once. So ingested lies between recorded and recorded
    + unconfirmed, and lost is 0 on a healthy stack.
    """
    recorded, lost, unconfirmed, ingested = (
        round(counts[key] - before.get(key, 0))
        for key in ("recorded", "lost", "unconfirmed", "ingested")
    )
    if ingested < recorded:
        seen = f"{recorded - ingested:,} of {recorded:,} recorded clicks not ingested"
    elif ingested > recorded + unconfirmed:
        seen = f"{ingested - recorded:,} more ingested than {recorded:,} recorded"
    else:
        seen = f"{recorded:,} recorded, {ingested:,} ingested"
    if unconfirmed:
        seen += f" ({unconfirmed:,} unconfirmed: each may be ingested once)"
    return [
        Check("clicks: none lost by the api", f"{lost:,} lost", not lost, repetition),
        Check(
            "clicks: recorded by the api = ingested by the worker",
            seen,
            recorded <= ingested <= recorded + unconfirmed,
            repetition,
        ),
    ]


@dataclass(frozen=True)
class Judgement:
    """A run's correctness checks, every repetition's, and its speed targets."""

    checks: list[Check]
    targets: dict[str, bool | None]
    repetitions: int

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    @property
    def exit_status(self) -> int:
        return CHECK_FAILED if self.failed else 0

    def text(self) -> str:
        failed = self.failed
        if failed:
            lines = [
                f"checks: {len(failed)} of {len(self.checks)} FAILED: the run fails "
                f"(exit status {CHECK_FAILED})"
            ]
        else:
            lines = [f"checks: all {len(self.checks)} passed (errors, batches, clicks)"]
        for check in failed:
            where = f"[{check.repetition}/{self.repetitions}] " if self.repetitions > 1 else ""
            lines.append(f"  FAILED {where}{check.what}: {check.seen}")
        missed = [name for name, met in self.targets.items() if met is False]
        lines.append(
            "speed targets (reported, never a failure): "
            + (f"missed: {', '.join(missed)}" if missed else "all met")
        )
        return "\n".join(lines) + "\n"

    def document(self) -> dict:
        """What the JSON keeps: every check, and the exit status it gave."""
        return {
            "passed": not self.failed,
            "exit_status": self.exit_status,
            "checks": [asdict(check) for check in self.checks],
        }


def judge(
    repetitions: Sequence[dict[str, dict]], summary: dict[str, dict], clicks: Sequence[dict]
) -> Judgement:
    """`repetitions`: each repetition's scenarios; `summary`: their medians; `clicks`: the
    click counts after each repetition's drain (running totals, one per repetition)."""
    checks: list[Check] = []
    before: dict = {}
    for number, (scenarios, counts) in enumerate(zip(repetitions, clicks, strict=True), 1):
        checks += scenario_checks(scenarios, number)
        checks += click_checks(counts, before, number)
        before = counts
    return Judgement(checks, targets_met(repetitions, summary), len(repetitions))
