"""Running RQ jobs inside the test process, the way a worker would."""

import signal

from rq import Queue, SimpleWorker


def work_off(queue: Queue, worker_class: type[SimpleWorker] = SimpleWorker) -> SimpleWorker:
    """Run every queued job here, then return (RQ's burst mode, no fork)."""
    # The worker installs its own SIGINT/SIGTERM handlers; give pytest its own back.
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = worker_class([queue], connection=queue.connection)
    try:
        worker.work(burst=True)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return worker
