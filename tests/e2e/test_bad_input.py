"""Hostile and malformed input through the whole stack: nginx -> api -> Postgres and Redis.

Each case gets a problem document (naming the field where one is at fault), never a 500,
and leaves nothing stored that should not be; the database is read directly to prove it.
The URL normaliser's own rules are unit-tested (tests/unit/test_targets*.py); these cases
prove the whole path. docs/security.md lists every case with its test.
"""

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.hostile import (
    assert_problem,
    count_links,
    patient_client,
    post_json,
    stored_url,
)
from tests.e2e.logs import json_lines
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e

SQL = "'; DROP TABLE links; --"


@pytest.fixture
def api(stack: Stack, api_key: str) -> Iterator[httpx.Client]:
    with patient_client(stack, api_key) as client:
        yield client


def create(api: httpx.Client, **fields: object) -> dict:
    response = post_json(api, "/api/links", fields)
    assert response.status_code == 201, response.text
    return response.json()


# ---- malformed, huge and mistyped bodies ------------------------------------------------


# (body, status, field): each sent as application/json, to POST /api/links and, when the
# body as a whole is at fault, to POST /api/links/batch too.
MALFORMED_BODIES = [
    (b'{"url": ', 422, "body"),  # cut short
    (b"{'url': 'https://example.org/'}", 422, "body"),  # not JSON quoting
    (b'{"url": "https://example.org/",}', 422, "body"),  # trailing comma
    (b"[]", 422, "body"),  # JSON, not an object
    (b"null", 422, "body"),
    (b'{"url": "https://example.org/\xff"}', 400, None),  # not UTF-8
    (b"[" * 100_000 + b"]" * 100_000, 400, None),  # nested past any parser's depth
    (b'{"url": "https://example.org/", "max_visits": ' + b"9" * 5000 + b"}", 400, None),
    (b'{"url": "https://example.org/", "max_visits": NaN}', 422, "max_visits"),
    (b'{"url": "https://example.org/", "max_visits": 1e999}', 422, "max_visits"),
    (b'{"url": "https://example.org/' + b"a" * 900_000 + b'"}', 422, "url"),  # < 1 MB
    (b'{"url": "https://example.org/", "url": "javascript:x"}', 422, "url"),  # last wins
]
# What the message of a body-wide 422 says: where decoding stopped, and why (the api's
# Python, 3.13), or that the JSON is no object.
BODY_MESSAGES = {
    b'{"url": ': "JSON decode error at character 8: Expecting value",  # the end
    b"{'url': 'https://example.org/'}": (
        "JSON decode error at character 1: Expecting property name enclosed in double quotes"
    ),
    b'{"url": "https://example.org/",}': (  # character 30 is the comma
        "JSON decode error at character 30: Illegal trailing comma before end of object"
    ),
    b"[]": "Input should be a valid dictionary or object to extract fields from",
    b"null": "Input should be a valid dictionary or object to extract fields from",
}


def test_malformed_json_is_a_problem_and_stores_nothing(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    before = count_links(stack)
    for body, status, field in MALFORMED_BODIES:
        # A bad field is a link's field; a batch item's problem is the next test's business.
        paths = ["/api/links"] + (["/api/links/batch"] if field in (None, "body") else [])
        for path in paths:
            with subtests.test(path=path, body=body[:40]):
                headers = {"Content-Type": "application/json"}
                problem = assert_problem(
                    api.post(path, content=body, headers=headers), status, field
                )
                if status == 400:
                    assert problem["type"].endswith("/bad-request")
                if field == "body":
                    assert problem["errors"][0]["message"] == BODY_MESSAGES[body]
    assert count_links(stack) == before


def test_a_batch_item_is_judged_alone_and_named_by_index(stack: Stack, api: httpx.Client) -> None:
    before = count_links(stack)
    items = [
        {"url": "javascript:alert(1)"},
        {"url": "https://example.org/", "alias": SQL},
        {"url": "https://example.org/", "max_visits": "9"},
    ]
    result = post_json(api, "/api/links/batch", {"links": items}).json()
    assert result["created"] == 0 and result["failed"] == 3, result
    assert [item["index"] for item in result["results"]] == [0, 1, 2]
    assert {item["status"] for item in result["results"]} == {422}
    fields = [[e["field"] for e in item["problem"]["errors"]] for item in result["results"]]
    assert fields == [["url"], ["alias"], ["max_visits"]], fields
    assert count_links(stack) == before


def test_dates_and_times_are_only_their_documented_text(stack: Stack, api: httpx.Client) -> None:
    # pydantic's lax mode read `0` as 1970-01-01 and numbers (or digits as text) as Unix
    # timestamps; the schema says date (YYYY-MM-DD) and RFC 3339 date-time.
    code = create(api, url="https://example.org/dated")["code"]
    before = count_links(stack)
    for name in ("from", "to"):
        for value in ("0", "2026-01-01T00:00:00Z"):
            response = api.get(f"/api/links/{code}/stats", params={name: value})
            assert_problem(response, 422, name)
    for expires_at in (1900000000, "1900000000", "2030-01-01T00:00Z"):
        body = {"url": "https://example.org/", "expires_at": expires_at}
        assert_problem(post_json(api, "/api/links", body), 422, "expires_at")
        changed = api.patch(f"/api/links/{code}", json={"expires_at": expires_at})
        assert_problem(changed, 422, "expires_at")
    assert count_links(stack) == before
    assert api.get(f"/api/links/{code}").json()["expires_at"] is None


NOT_JSON = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonx",
]


def test_a_body_that_is_not_json_is_415(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    code = create(api, url="https://example.org/typed")["code"]
    before = count_links(stack)
    body = b'{"url": "https://example.org/changed"}'
    for content_type in NOT_JSON:
        headers = {"Content-Type": content_type} if content_type else {}
        for method, path in (
            ("POST", "/api/links"),
            ("POST", "/api/links/batch"),
            ("PATCH", f"/api/links/{code}"),
        ):
            with subtests.test(content_type=content_type, method=method, path=path):
                response = api.request(method, path, content=body, headers=headers)
                assert assert_problem(response, 415)["type"].endswith("/unsupported-media-type")
    assert count_links(stack) == before
    assert stored_url(stack, code) == "https://example.org/typed"


# ---- unicode and control characters ------------------------------------------------------


CONTROLS_IN_URLS = [
    "https://example.org/a\x00b",
    "https://example.org/a\x1bb",
    "https://example.org/a\x7fb",
    "https://example.org/a\x85b",
    "https://example.org/a\u2028b",
    "https://exa\u00a0mple.org/",
    "https://example.org/\ud800",  # a lone surrogate: no UTF-8 form to store or send
    "https://example.org/\u202egpj.exe",  # displays as ".../exe.jpg"
    "https://example.org/?q=\u2066x\u2069",
    "https://example.org/a\r\nSet-Cookie: injected=1",
    "https://example.org/a\nLocation: https://evil.test/",
]
ALIASES_OUTSIDE_THE_ALPHABET = [
    "ünï",
    "\uff41\uff42\uff43",  # fullwidth letters
    "abc\u200b",  # zero-width space
    "abc\u202e",
    "abc\x00",
    "abc\r\nSet-Cookie: injected=1",
    "abc%0d%0a",
    "abc def",
    "../abc",
    "a" * 65,
    SQL,
    "BATCH",  # reserved, in any case
]


def test_controls_in_a_url_are_refused_naming_url(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    before = count_links(stack)
    for url in CONTROLS_IN_URLS:
        with subtests.test(url=url):
            assert_problem(post_json(api, "/api/links", {"url": url}), 422, "url")
    assert count_links(stack) == before


def test_an_alias_outside_its_alphabet_is_refused_naming_alias(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    before = count_links(stack)
    for alias in ALIASES_OUTSIDE_THE_ALPHABET:
        with subtests.test(alias=alias):
            response = post_json(api, "/api/links", {"url": "https://example.org/", "alias": alias})
            assert_problem(response, 422, "alias")
    assert count_links(stack) == before


def test_unicode_in_a_path_is_kept_and_sent_percent_encoded(
    stack: Stack, api: httpx.Client
) -> None:
    link = create(api, url="\r\n https://EXAMPLE.org./ü?q=ü#ü \t")
    # Leading and trailing controls and spaces stripped (browsers do so), host lowercased,
    # the rest kept as given.
    assert link["url"] == stored_url(stack, link["code"]) == "https://example.org/ü?q=ü#ü"
    location = api.get(f"/{link['code']}").headers["location"]
    assert location == "https://example.org/%C3%BC?q=%C3%BC#%C3%BC"


def test_raw_bytes_outside_ascii_in_a_request_are_refused_by_nginx(stack: Stack) -> None:
    host, _, port = stack.base_url.removeprefix("http://").partition(":")
    for target in (b"/abc\xc3\xbc", b"/api/links?q=\xc3\xbc", b"/abc?x=\x01"):
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            head = connection.recv(4096).split(b"\r\n\r\n")[0].decode().lower()
        # nginx's own problem (uvicorn would answer text/plain).
        assert head.startswith("http/1.1 400"), (target, head)
        assert "content-type: application/problem+json" in head, (target, head)


# ---- SQL metacharacters in every string field ---------------------------------------------


def test_sql_metacharacters_in_every_string_field_are_only_data(
    stack: Stack, api: httpx.Client
) -> None:
    keys_before = stack.sql("SELECT count(*) FROM shortener.api_keys")
    # url: stored byte for byte (percent-encoded where a URL needs it, quotes as they are).
    target = "https://example.org/x'%3B--?q='OR'1'='1';DROP/**/TABLE/**/links;--&l=%25_\\"
    link = create(api, url=target)
    code = link["code"]
    assert stored_url(stack, code) == target
    before = count_links(stack)

    # alias: outside its alphabet.
    assert_problem(post_json(api, "/api/links", {"url": target, "alias": SQL}), 422, "alias")
    # q: matched literally, LIKE wildcards included ("%" and "_" match only themselves).
    for text, expected in ((SQL, []), ("' OR ''='", []), ("'OR'1'='1'", [code])):
        found = api.get("/api/links", params={"q": text, "limit": 100}).json()["items"]
        assert [item["code"] for item in found] == expected, text
    # The link made above holds both ("%25_"), and is the newest: it is on the first page.
    for wildcard in ("%", "_"):
        found = api.get("/api/links", params={"q": wildcard, "limit": 100}).json()["items"]
        assert code in [item["code"] for item in found], wildcard
        assert all(wildcard in item["url"] or wildcard in item["code"] for item in found)
    # cursor, the {code} of every link route, and the stats range.
    assert_problem(api.get("/api/links", params={"cursor": SQL}), 422, "cursor")
    for method in ("GET", "PATCH", "DELETE"):
        body = {"max_visits": 1} if method == "PATCH" else None
        response = api.request(method, f"/api/links/{SQL}", json=body)
        assert assert_problem(response, 404)["type"].endswith("/link-not-found")
    for route in ("stats", "qr"):
        response = api.get(f"/api/links/{SQL}/{route}")
        assert assert_problem(response, 404)["type"].endswith("/link-not-found"), route
    assert_problem(api.get(f"/api/links/{code}/qr", params={"format": SQL}), 422, "format")
    assert_problem(api.get(f"/api/links/{code}/stats", params={"from": SQL}), 422, "from")
    assert_problem(api.get(f"/{SQL}"), 404)
    # Headers that end up in the clicks table: Referer (its host) and User-Agent (its family).
    clicked = api.get(f"/{code}", headers={"Referer": f"https://e.org/{SQL}", "User-Agent": SQL})
    assert clicked.status_code == 302

    deadline = time.monotonic() + 30
    while (
        stack.sql(
            "SELECT count(*) FROM shortener.clicks WHERE link_id = (SELECT id FROM shortener.links "
            "WHERE code = :'code')",
            code=code,
        )
        != "1"
    ):
        assert time.monotonic() < deadline, "the click was never ingested"
        time.sleep(0.5)
    assert count_links(stack) == before
    assert stack.sql("SELECT count(*) FROM shortener.api_keys") == keys_before
    assert stored_url(stack, code) == target


# ---- header injection: no CR or LF ever reaches a response header ------------------------


def assert_no_injected_header(response: httpx.Response) -> None:
    assert "set-cookie" not in response.headers
    assert all("\r" not in value and "\n" not in value for value in response.headers.values())


def test_encoded_crlf_in_a_target_stays_encoded_in_location(
    stack: Stack, api: httpx.Client
) -> None:
    target = "https://example.org/a%0d%0aSet-Cookie:%20injected=1"
    link = create(api, url=target, forward_query=True)
    plain = api.get(f"/{link['code']}")
    assert plain.headers["location"] == target
    assert_no_injected_header(plain)
    forwarded = api.get(f"/{link['code']}?x=%0d%0aSet-Cookie:%20injected=2")
    assert forwarded.headers["location"] == target + "?x=%0d%0aSet-Cookie:%20injected=2"
    assert_no_injected_header(forwarded)
    # In the short code itself: no such link, and no header from it.
    missing = api.get("/abc%0d%0aSet-Cookie:%20injected=3")
    assert_problem(missing, 404)
    assert_no_injected_header(missing)


def test_location_carries_no_crlf_even_from_a_row_written_past_the_api(
    stack: Stack, api: httpx.Client
) -> None:
    # A row the API would refuse (written by hand, an old version, a restore): the redirect
    # must still not split its header.
    stack.sql(
        "INSERT INTO shortener.links (code, url) VALUES ('rawCrLf', "
        "E'https://example.org/a\\r\\nSet-Cookie: injected=1\\r\\n\\r\\n<script>')"
    )
    response = api.get("/rawCrLf")
    assert response.status_code == 302
    assert_no_injected_header(response)
    assert response.headers["location"].startswith("https://example.org/a%0D%0ASet-Cookie")


def test_crlf_in_a_raw_request_is_refused_by_nginx(stack: Stack) -> None:
    host, _, port = stack.base_url.removeprefix("http://").partition(":")
    for request in (
        b"GET /abc\rSet-Cookie: injected=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /abc HTTP/1.1\r\nHost: x\r\nUser-Agent: a\rSet-Cookie: injected=1\r\n\r\n",
        b"GET /abc HTTP/1.1\r\nHost: x\r\nReferer: a\x00b\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(request)
            head = connection.recv(4096).split(b"\r\n\r\n")[0].decode().lower()
        assert head.startswith("http/1.1 400"), head
        assert "content-type: application/problem+json" in head
        assert "set-cookie" not in head


# ---- schemes, credentials, look-alike hosts ----------------------------------------------


# (url, what the problem says): schemes, credentials, parser tricks, look-alike hosts.
UNSAFE_TARGETS = [
    ("javascript:alert(document.cookie)", "http or https"),
    ("JavaScript:alert(1)", "http or https"),
    (" javascript:alert(1)", "http or https"),  # leading space stripped, then refused
    ("java\tscript:alert(1)", "control"),
    ("data:text/html,<script>alert(1)</script>", "http or https"),
    ("file:///etc/passwd", "http or https"),
    ("vbscript:msgbox(1)", "http or https"),
    ("blob:https://example.org/x", "http or https"),
    ("ftp://example.org/", "http or https"),
    ("//evil.test/", "http or https"),
    ("https:evil.test", "must have a host"),
    ("https://example.org@evil.test/", "credentials"),
    ("https://user:password@evil.test/", "credentials"),
    ("https://example.org:443@evil.test/", "credentials"),
    ("https://example.org%40evil.test/", "malformed host"),
    ("https://example.org\\@evil.test/", "backslash"),
    ("https://xn--zz.example/", "malformed host"),  # punycode that does not decode
    ("https://0x7f.1/", "malformed host"),  # another spelling of 127.0.0.1
    (
        "https://\uff33\uff28\uff2f.rt/loop",
        "this shortener",
    ),  # fullwidth look-alike of our own host
    ("https://sho.rt./loop", "this shortener"),
]


def test_unsafe_targets_are_refused_naming_url(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    before = count_links(stack)
    for url, message in UNSAFE_TARGETS:
        with subtests.test(url=url):
            problem = assert_problem(post_json(api, "/api/links", {"url": url}), 422, "url")
            assert message in problem["errors"][0]["message"]
    assert count_links(stack) == before


# (url, stored and redirected to)
LOOK_ALIKE_HOSTS = [
    # A Cyrillic look-alike of example.org is stored, and redirected to, as punycode:
    # what any client then shows is the xn-- form, never the look-alike.
    ("https://\u0435\u0445\u0430mple.org/", "https://xn--mple-43d3a6i.org/"),
    ("https://\u0440\u0430\u0443\u0440\u0430l.com/", "https://xn--l-7sba6dbr.com/"),
    # Fullwidth letters and ideographic dots map to ASCII, as browsers map them.
    ("https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\u3002org/", "https://example.org/"),
    ("https://exa\u200bmple.org/", "https://example.org/"),  # zero-width space: dropped
    # Not a userinfo trick: the host is evil.test, and that is the target shown.
    ("https://evil.test#@example.org", "https://evil.test#@example.org"),
]


def test_idn_hosts_are_stored_as_punycode(
    stack: Stack, api: httpx.Client, subtests: pytest.Subtests
) -> None:
    codes = {}
    for url, stored in LOOK_ALIKE_HOSTS:
        with subtests.test(url=url):
            link = create(api, url=url)
            assert link["url"] == stored
            assert api.get(f"/{link['code']}").headers["location"] == stored
            codes[link["code"]] = stored
    rows = stack.sql(
        "SELECT code || ' ' || url FROM shortener.links"
        " WHERE code = ANY(string_to_array(:'codes', ','))",
        codes=",".join(codes),
    )
    assert dict(row.split(" ", 1) for row in rows.splitlines()) == codes


# ---- long paths on the redirect route -----------------------------------------------------


# Every redirect lookup counts one of these in the api's metrics (links/metrics.py): local
# (the process's own cache), or Redis asked (hit, miss, error); Postgres is asked only
# after a miss or an error.
LOOKUPS = "shortener_link_cache_lookups"
READ_METRICS = (
    "import urllib.request; print(urllib.request.urlopen("
    "'http://127.0.0.1:8000/metrics', timeout=5).read().decode())"
)


def redirect_lookups(stack: Stack) -> dict[str, float]:
    """The lookup counters by result, summed over every api replica."""
    counted: dict[str, float] = {}
    for replica in stack.compose("ps", "--quiet", "api").split():
        text = stack.exec_in(replica, "python", "-c", READ_METRICS)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if family.name == LOOKUPS and sample.name == f"{LOOKUPS}_total":
                    result = sample.labels["result"]
                    counted[result] = counted.get(result, 0) + sample.value
    assert set(counted) == {"local", "hit", "miss", "error"}, counted
    return counted


def test_long_codes_are_404_and_only_code_shaped_ones_are_cached(
    stack: Stack, api: httpx.Client
) -> None:
    def get_404(code: str) -> None:
        response = api.get(f"/{code}")
        assert assert_problem(response, 404)["type"].endswith("/link-not-found"), len(code)

    code_shaped, *too_long = [("Long" * length)[:length] for length in (64, 65, 1000, 8000)]
    # Longer than any code: answered without asking Redis or Postgres, no lookup counted.
    before = redirect_lookups(stack)
    for code in too_long:
        get_404(code)
    assert redirect_lookups(stack) == before
    # The control: 64 characters could be a code, so Redis is asked (a miss), then
    # Postgres, and the answer is remembered as missing.
    get_404(code_shaped)
    after = redirect_lookups(stack)
    assert after["miss"] == before["miss"] + 1, (before, after)
    script = "local n = {} for i, k in ipairs(KEYS) do n[i] = redis.call('EXISTS', k) end return n"
    keys = [f"link:{code}" for code in (code_shaped, *too_long)]
    assert stack.redis("EVAL", script, str(len(keys)), *keys).split() == ["1", "0", "0", "0"]
    # Past nginx's request-line buffer (8 KB): 414 from nginx, test_proxy_limits.py.


# ---- slow clients ---------------------------------------------------------------------------


@dataclass
class SlowClient:
    name: str
    trickle: list[bytes]  # sent one piece a second; then the client waits
    # When it must be closed, in seconds after it connected: nginx's 10 s, plus for the
    # trickle the whole second the client sleeps between pieces before it sees the reset.
    # Measured over 7 runs on the 2-core CI machine: idle 10.00 s, body 10.00-10.01 s,
    # trickle 12.00 s every time. The bounds leave a second for a loaded machine (and a
    # tenth for nginx's millisecond clock) and tell 10 s from a 9 or 12 s timeout, let
    # alone the 60 s default.
    expected: tuple[float, float]
    closed_after: float | None = None


def hold(address: tuple[str, int], client: SlowClient, give_up: float) -> None:
    started = time.monotonic()
    with socket.create_connection(address, timeout=give_up) as connection:
        try:
            for piece in client.trickle:
                connection.sendall(piece)
                time.sleep(1)
            while connection.recv(4096):  # nginx sends nothing: reset_timedout_connection
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass
        except TimeoutError:
            return  # still open when the test gave up: closed_after stays None
    client.closed_after = time.monotonic() - started


def test_slow_clients_are_cut_off_by_nginx(stack: Stack) -> None:
    """client_header_timeout and client_body_timeout are 10 s (nginx/includes/limits.conf)."""
    host, _, port = stack.base_url.removeprefix("http://").partition(":")
    header = b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: "
    body_head = b"POST /api/links HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
    clients = [
        SlowClient("idle: connects, sends nothing", [], (9.9, 11)),
        # A byte a second keeps each read alive, but the header as a whole must be complete
        # within the timeout: the slowloris pattern.
        # 12.00 s in 7 runs, 13.003 s once in CI: one more byte-second of trickle granularity.
        SlowClient("header trickled a byte a second", [header] + [b"a"] * 30, (10.9, 14)),
        SlowClient("body stalled after its first byte", [body_head], (9.9, 11)),
    ]
    threads = [
        threading.Thread(target=hold, args=((host, int(port)), client, 40)) for client in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        print(f"{client.name}: closed after {client.closed_after} s")
        assert client.closed_after is not None, f"{client.name}: still open after 40 s"
        low, high = client.expected
        assert low <= client.closed_after <= high, f"{client.name}: {client.closed_after:.2f} s"
    with stack.client() as fresh:
        assert fresh.get("/health/live").status_code == 200


# ---- forged client addresses ---------------------------------------------------------------


def test_forged_forwarding_headers_do_not_buy_a_new_rate_limit_budget(stack: Stack) -> None:
    time.sleep(2.5)  # a full bucket (20 at 10/s) to start with, as test_proxy_limits does
    host, _, port = stack.base_url.removeprefix("http://").partition(":")
    statuses, request_ids = [], []
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for n in range(60):
            forged = f"198.51.100.{n}"
            connection.request(
                "GET",
                "/api/links/NoSuchLink",
                headers={
                    "X-Forwarded-For": forged,
                    "X-Real-IP": forged,
                    "Forwarded": f"for={forged}",
                },
            )
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
            request_ids.append(response.getheader("X-Request-ID"))
    finally:
        connection.close()
    time.sleep(2.5)  # leave the bucket full for the tests that follow
    # Sixty "different" clients, one bucket: nginx counts the connection's real address.
    assert statuses.count(429) >= 20, statuses
    # Each request is in nginx's access log, under the connection's real address; no
    # forged address is anywhere in it.
    logged = {line.get("request_id"): line for line in json_lines(stack, "proxy")}
    assert set(request_ids) <= logged.keys(), "a request is missing from nginx's log"
    assert len({logged[request_id]["remote_addr"] for request_id in request_ids}) == 1
    access = stack.compose("logs", "--no-color", "--no-log-prefix", "proxy")
    assert "198.51.100." not in access
