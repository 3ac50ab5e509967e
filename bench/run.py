"""`make bench`: the production variant under load, compared with nginx's own ceiling.

Boots docker-compose.yml + docker-compose.prod.yml + bench/docker-compose.bench.yml under a
project name of its own, seeds links, drives load with wrk from the host against
127.0.0.1 only, and tears everything down with its volumes. Each scenario runs for a fixed
time after a warm-up; every rate is also given as a share of the ceiling measured in the
same run (nginx answering a static 301 itself, same container, same client, same
connections), so a busy machine moves both. `--repeat N` measures every scenario N times
on the same stack, each time with its own ceiling, and reports each figure's median and
spread. Results: bench/report.py; the method and how to compare runs: docs/performance.md.

    make bench                        # every scenario once (about 3 minutes)
    make bench ARGS="--repeat 3"      # three times: medians and spreads (about 7 minutes)
    make bench ARGS="--profile"       # and py-spy on one api replica during cache hits

Exit status: 0 when every correctness check passed, in every repetition (a missed speed
target is reported, not a failure); 3 when one failed (errors, a failed batch, clicks lost
or doubled: bench/checks.py, which prints which); 1 when the bench itself failed, 2 for bad
options.

This module is the command line: its options, the check for wrk, bench/results/. The
stack: production_stack.py; a run on it: measure.py; each repetition's scenarios, in order:
repetition.py; the verdict: checks.py.
"""

import argparse
import shutil
import sys

from bench.checks import CHECK_FAILED
from bench.codes import MISS_CODES_PER_REPETITION
from bench.measure import measure
from bench.production_stack import production_stack
from tests.e2e.stack import REPO

RESULTS = REPO / "bench" / "results"
# The ingestion backlog is topped up to this many clicks: at ~30,000 clicks/s about 10 s
# of work, against a run's fixed cost of some ms: an error well under 1%
# (docs/performance.md, "Ingestion, by the worker's clock").
INGEST_BACKLOG = 300_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"exit status: 0 every correctness check passed (speed targets are only "
        f"reported), {CHECK_FAILED} a check failed (printed), 1 the bench failed, 2 bad options",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--rounds", type=int, default=2, help="of ceiling and cache hits")
    parser.add_argument(
        "--repeat", type=int, default=1, help="every scenario N times: medians and spreads"
    )
    parser.add_argument(
        "--ingest-backlog", type=int, default=INGEST_BACKLOG, help="clicks, at least"
    )
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up")
    parser.add_argument("--connections", type=int, default=64, help="for the redirects")
    parser.add_argument("--create-connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--batch-calls", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="py-spy during cache hits")
    parser.add_argument("--keep", action="store_true", help="leave the stack up (debugging)")
    args = parser.parse_args()
    # The miss codes have six digits: a million, fresh ones for 8 repetitions at most.
    if not 1 <= args.repeat <= 1_000_000 // MISS_CODES_PER_REPETITION:
        parser.error(f"--repeat: 1 to {1_000_000 // MISS_CODES_PER_REPETITION}")
    return args


def main() -> int:
    args = parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit(
            "bench: wrk is not installed (make bench installs it: apt-get install wrk)"
        )
    RESULTS.mkdir(exist_ok=True)
    with production_stack(keep=args.keep) as (stack, work):
        return measure(stack, args, work, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
