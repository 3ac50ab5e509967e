"""python -m shortener_worker [run | health | enqueue JOB [--grace-seconds N | --retention-days N
                                                        | --job-id N]]

run     (default) the RQ worker with its schedulers; the `worker` service's command
health  exit 0 if this container's worker and cron scheduler are heartbeating (the healthcheck)
enqueue put a named job on the queue (operators, tests); prints the job id
        (bulk-delete or import --job-id N: run a key's background job again, e.g. after a
        failure; it does what is left)
"""

import argparse
import sys

from rq import Queue

from shortener_worker.backends import redis_connection, use_settings
from shortener_worker.jobs import JOBS, ON_DEMAND
from shortener_worker.logs import configure_logging
from shortener_worker.runner import check_health, run
from shortener_worker.settings import load_settings


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m shortener_worker")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the worker (default)")
    commands.add_parser("health", help="exit 0 when this container's worker is healthy")
    enqueue = commands.add_parser("enqueue", help="enqueue a job by name")
    enqueue.add_argument("job", choices=sorted(JOBS))
    enqueue.add_argument(
        "--grace-seconds", type=int, default=None, help="purge-expired-links: override the grace"
    )
    enqueue.add_argument(
        "--retention-days", type=int, default=None, help="purge-old-clicks: override retention"
    )
    enqueue.add_argument(
        "--job-id", type=int, default=None, help="bulk-delete, import: the background job's id"
    )
    enqueue.add_argument("--wait", type=float, default=0, help="seconds to wait for the result")
    args = parser.parse_args(argv)
    if args.command == "enqueue":
        for option, job in (
            ("grace_seconds", "purge-expired-links"),
            ("retention_days", "purge-old-clicks"),
        ):
            if getattr(args, option) is not None and args.job != job:
                parser.error(f"--{option.replace('_', '-')} applies to {job} only")
        if args.job_id is not None and args.job not in ON_DEMAND:
            parser.error(f"--job-id applies to {' and '.join(sorted(ON_DEMAND))} only")
        if args.job in ON_DEMAND and args.job_id is None:
            parser.error(f"{args.job} needs --job-id")
    return args


def job_arguments(args: argparse.Namespace) -> dict[str, int]:
    """The job's keyword arguments: only the options given, so defaults come from settings."""
    options = {
        "grace_seconds": args.grace_seconds,
        "retention_days": args.retention_days,
        "job_id": args.job_id,
    }
    return {name: value for name, value in options.items() if value is not None}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = load_settings()
    use_settings(settings)
    connection = redis_connection(settings)
    if args.command == "health":
        problem = check_health(settings, connection)
        if problem:
            print(f"unhealthy: {problem}", file=sys.stderr)
            return 1
        return 0
    configure_logging(settings.log_level)
    if args.command == "enqueue":
        job = Queue(settings.queues[0], connection=connection).enqueue(
            JOBS[args.job], **job_arguments(args)
        )
        if args.wait:
            results = job.latest_result(timeout=int(args.wait))
            if results is None or results.type != results.Type.SUCCESSFUL:
                print(f"job {job.id} did not succeed within {args.wait} s", file=sys.stderr)
                return 1
            print(results.return_value)
            return 0
        print(job.id)
        return 0
    run(settings, connection)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
