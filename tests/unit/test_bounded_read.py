"""A scrape's wait for a store is bounded (worker/shortener_worker/bounded.py): a read that
hangs (a name lookup of a store that is gone) makes the scrape report the store unreadable
in time, and is not started a second time while it hangs."""

import threading
import time

import pytest

from shortener_worker.bounded import BoundedRead


def test_a_quick_read_returns_its_result_each_time() -> None:
    calls = iter(range(10))
    read = BoundedRead(lambda: next(calls), 1.0, "test")
    assert [read(), read(), read()] == [0, 1, 2]


def test_a_hanging_read_times_out_in_time_and_is_waited_for_again() -> None:
    release = threading.Event()
    started = []

    def hangs() -> str:
        started.append(time.monotonic())
        release.wait(5)
        return "late"

    read = BoundedRead(hangs, 0.2, "test")
    began = time.monotonic()
    with pytest.raises(TimeoutError):
        read()
    assert time.monotonic() - began < 1.0  # the budget, not the hang
    with pytest.raises(TimeoutError):
        read()
    assert len(started) == 1  # the same read, not a second one beside it
    release.set()
    assert read() == "late"  # collected once it is done


def test_a_failed_read_raises_its_own_error() -> None:
    def fails() -> None:
        raise ConnectionError("gone")

    with pytest.raises(ConnectionError):
        BoundedRead(fails, 1.0, "test")()
