"""`make bench`'s batch scenario (bench/batch_create.py) against a fake api: a call that
did not create its 1000 links is an error, whatever went wrong; the slowest call is kept."""

import httpx

from bench.batch_create import BATCH_SIZE, batch_create


def api(*answers: httpx.Response | Exception) -> httpx.MockTransport:
    """Answers the calls in turn, the warm-up's first."""
    pending = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/links/batch"
        assert request.headers["Authorization"] == "Bearer key"
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle)


CREATED = httpx.Response(200, json={"created": BATCH_SIZE, "failed": 0, "results": []})


def test_calls_that_created_every_link_are_no_errors() -> None:
    result = batch_create("http://bench", "key", 3, api(CREATED, CREATED, CREATED, CREATED))
    assert (result["errors"], result["calls"], result["requests"]) == (0, 4, 3)
    assert result["max_ms"] == result["p99_ms"] > 0


def test_a_call_that_failed_in_any_way_is_an_error_the_warm_ups_too() -> None:
    answers = [
        httpx.Response(503, json={"title": "busy"}),  # the warm-up
        httpx.Response(200, json={"created": BATCH_SIZE - 1, "failed": 1, "results": []}),
        httpx.Response(200, text="<html>not the api</html>"),
        httpx.ReadTimeout("no answer"),
        CREATED,
    ]
    result = batch_create("http://bench", "key", 4, api(*answers))
    assert (result["errors"], result["calls"], result["requests"]) == (4, 5, 4)
