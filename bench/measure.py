"""One `make bench` run on a stack that is up: the workers stopped and the links seeded,
`--repeat` repetitions (bench/repetition.py), each followed by the click counts so far; the
counts, the settings and the versions handed to bench/report.py, which writes and prints
the results and returns the exit status its checks give (bench/checks.py)."""

import argparse
from pathlib import Path

from bench import report
from bench.codes import HIT_CODES, MISS_CODES_PER_REPETITION, FreshCodes, seed_links
from bench.drain import Drain, RunTotals, first_worker, run_totals, scrape
from bench.nginx_conf import CEILING_PREFIX
from bench.production_stack import FILES
from bench.repetition import repetition
from bench.stack_facts import api_metric, versions
from bench.wrk_runs import Wrk
from tests.e2e.stack import REPO, Stack


def click_counts(stack: Stack, drain: Drain, totals: RunTotals, initial: RunTotals) -> dict:
    """The clicks so far: the api's counters (every replica), and the api's clicks among
    those the worker stored since `initial` (the synthetic and probe clicks taken out)."""
    return {
        "recorded": api_metric(stack, "shortener_clicks_recorded_total"),
        "lost": api_metric(stack, "shortener_clicks_lost_total"),
        "unconfirmed": api_metric(stack, "shortener_clicks_unconfirmed_total"),
        # All of the api's clicks, once each, if equal to recorded (bench/checks.py).
        "ingested": totals.ingested - initial.ingested - drain.synthetic - drain.probes,
        "synthetic": drain.synthetic,
    }


def measure(stack: Stack, args: argparse.Namespace, work: Path, results: Path) -> int:
    # The worker's ingestion totals before anything was clicked, or any link seeded (a
    # worker serves them): the api's clicks are counted from here, not from a first drain.
    totals = run_totals(scrape(first_worker(stack)))
    # The workers would ingest while the redirects run: stopped, the stream keeps the
    # clicks for the ingestion scenario, and the redirect numbers are the api's alone.
    stack.compose("stop", "worker")
    hits, misses, hit_links = seed_links(stack, MISS_CODES_PER_REPETITION * args.repeat)
    hit_file = work / "hit-codes"
    hit_file.write_text("\n".join(hits) + "\n")
    key = stack.exec("api", "python", "-m", "shortener.keys", "create", "bench").strip()
    wrk = Wrk(stack.base_url, args.threads, stack)
    drain = Drain(stack, hit_links, args.ingest_backlog)
    initial = totals
    fresh = FreshCodes(hits, misses)
    repetitions: list[dict[str, dict]] = []
    clicks: list[dict] = []
    for number in range(1, args.repeat + 1):
        scenarios, totals = repetition(
            stack, args, wrk, key, work, results, hit_file, fresh, drain, totals, number
        )
        repetitions.append(scenarios)
        # Every click of this repetition's redirects is in by now (its drain took the
        # stream), so each repetition's clicks are checked on their own.
        clicks.append(click_counts(stack, drain, totals, initial))

    settings = {
        "wrk_threads": args.threads,
        "connections": args.connections,
        "create_connections": args.create_connections,
        "duration_s": args.duration,
        "rounds_of_ceiling_and_hits": args.rounds,
        "repetitions": args.repeat,
        "warmup_s": args.warmup,
        "hit_codes": HIT_CODES,
        "miss_codes": len(misses),
        "hit_popularity": "zipf s=1",
        "batch_calls": args.batch_calls,
        "ingest_backlog_at_least": args.ingest_backlog,
        "compose_files": [str(path.relative_to(REPO)) for path in FILES],
        "api_replicas": len(stack.compose("ps", "--quiet", "api").split()),
        "ceiling": f"nginx `return 301` at {CEILING_PREFIX}<code>, same container and wrk script",
        "nginx_rate_limits": "raised to 1000000r/s per address (bench only)",
        "creation_quota_per_minute": 0,
    }
    return report.write(results, repetitions, settings, versions(stack), clicks)
