"""One repetition of `make bench`: every scenario once, in this order, each with the
ceiling measured in the same repetition.

  1. cache-miss redirects over codes no earlier repetition asked (bench/codes.py), then the
     hit codes it did not reach, asked once, so every hit is cached before it is measured;
  2. `--rounds` of the ceiling (nginx's own 301) alternating with the cache-hit redirects,
     combined into one result each (bench/wrk_runs.py); py-spy on the very last cache hits
     with `--profile` (bench/profiling.py);
  3. link creation, one per call (wrk), then in batches of 1000 (bench/batch_create.py);
  4. click ingestion: one worker drains the backlog (bench/drain.py).
"""

import argparse
from contextlib import nullcontext
from pathlib import Path

from bench.batch_create import BATCH_SIZE, batch_create
from bench.codes import FreshCodes
from bench.drain import Drain, RunTotals
from bench.nginx_conf import CEILING_PREFIX
from bench.profiling import profiler
from bench.wrk_runs import Wrk, combine, redirects
from tests.e2e.stack import Stack


def repetition(
    stack: Stack,
    args: argparse.Namespace,
    wrk: Wrk,
    key: str,
    work: Path,
    results: Path,
    hit_file: Path,
    fresh: FreshCodes,
    drain: Drain,
    totals: RunTotals,
    number: int,
) -> tuple[dict[str, dict], RunTotals]:
    """Every scenario once, with its own ceiling; the worker's totals after it."""
    scenarios: dict[str, dict] = {}
    of = f" [{number}/{args.repeat}]" if args.repeat > 1 else ""

    def step(name: str) -> None:
        print(f"bench{of}: {name}...", flush=True)

    step("cache-miss redirects (codes never asked before)")
    miss_file = fresh.write(work / "miss-codes")
    redirects(wrk, args, miss_file, "once", CEILING_PREFIX, args.warmup)  # wrk and nginx warm
    scenarios["redirect-cache-miss"] = redirects(wrk, args, miss_file, "once", "/", args.duration)
    rest = fresh.asked(scenarios["redirect-cache-miss"]["requests"], args.connections)
    if rest:  # a slow run: ask the rest of the hit codes once
        rest_file = work / "rest-of-hit-codes"
        rest_file.write_text("\n".join(rest) + "\n")
        redirects(wrk, args, rest_file, "once", "/", args.duration)

    # The ceiling and the cache hits alternate, so a busy machine weighs on both alike.
    rounds: dict[str, list[dict]] = {"ceiling": [], "redirect-cache-hit": []}
    for round_ in range(1, args.rounds + 1):
        step(f"round {round_}/{args.rounds}: ceiling (nginx's own 301), then cache-hit redirects")
        redirects(wrk, args, hit_file, "zipf", CEILING_PREFIX, args.warmup)
        rounds["ceiling"].append(
            redirects(wrk, args, hit_file, "zipf", CEILING_PREFIX, args.duration)
        )
        redirects(wrk, args, hit_file, "zipf", "/", args.warmup)
        profiling = args.profile and round_ == args.rounds and number == args.repeat
        with profiler(stack, args.duration, results) if profiling else nullcontext():
            rounds["redirect-cache-hit"].append(
                redirects(wrk, args, hit_file, "zipf", "/", args.duration)
            )
    scenarios = {name: combine(runs) for name, runs in rounds.items()} | scenarios

    step("link creation, one per call")
    wrk("create.lua", args.warmup, args.create_connections, key)
    scenarios["create-single"] = wrk("create.lua", args.duration, args.create_connections, key)

    step(f"batch creation, {BATCH_SIZE} links per call")
    scenarios["create-batch-1000"] = batch_create(stack.base_url, key, args.batch_calls)

    step(f"click ingestion, one worker, a backlog of at least {args.ingest_backlog:,} clicks")
    scenarios["ingest-clicks"], totals = drain(totals)
    return scenarios, totals
