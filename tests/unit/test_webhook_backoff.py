"""Retry delays: doubling, capped, with a jitter that tests can pin; giving an endpoint up."""

import random

import pytest

from shortener_worker.webhooks.backoff import failures_allowed, next_attempt_delay


def lowest() -> float:
    return 0.0


def highest() -> float:
    return 1.0 - 2**-53  # the largest value random.random() returns


@pytest.mark.parametrize(
    ("attempts", "ceiling"),
    [(1, 10), (2, 20), (3, 40), (4, 80), (9, 2560), (10, 3600), (11, 3600), (50, 3600)],
)
def test_the_delay_doubles_to_the_cap_and_jitters_within_its_upper_half(
    attempts: int, ceiling: float
) -> None:
    assert next_attempt_delay(attempts, random_fraction=lowest) == ceiling / 2
    assert next_attempt_delay(attempts, random_fraction=highest) == pytest.approx(ceiling)


def test_base_and_cap_are_settings() -> None:
    delays = [
        next_attempt_delay(n, base_seconds=5, cap_seconds=30, random_fraction=lambda: 0.5)
        for n in range(1, 6)
    ]
    assert delays == [3.75, 7.5, 15, 22.5, 22.5]


def test_the_same_random_source_gives_the_same_schedule() -> None:
    def schedule(seed: int) -> list[float]:
        source = random.Random(seed)
        return [next_attempt_delay(n, random_fraction=source.random) for n in range(1, 12)]

    assert schedule(7) == schedule(7)
    assert schedule(7) != schedule(8)


def test_the_default_random_source_stays_within_the_bounds() -> None:
    for _ in range(200):
        assert 20 <= next_attempt_delay(3) < 40


def test_a_huge_attempt_count_is_just_the_cap() -> None:
    assert next_attempt_delay(10**9, random_fraction=lowest) == 1800


@pytest.mark.parametrize("attempts", [0, -1])
def test_no_delay_before_a_first_failure(attempts: int) -> None:
    with pytest.raises(ValueError, match="1 or more"):
        next_attempt_delay(attempts)


@pytest.mark.parametrize(
    ("status", "failures", "disable"),
    [
        (500, 1, False),
        (None, 9, False),
        (None, 10, True),  # the limit reached
        (503, 11, True),
        (410, 1, True),  # Gone: the receiver asks us to stop, at once
        (404, 1, False),  # may be a deployment in progress: retried like any failure
    ],
)
def test_an_endpoint_is_disabled_on_410_or_at_the_limit(
    status: int | None, failures: int, disable: bool
) -> None:
    assert (failures >= failures_allowed(status, limit=10)) is disable
