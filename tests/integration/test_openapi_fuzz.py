"""Schemathesis against the app's own OpenAPI description, over ASGI, on the real containers.

The schema is the one the app serves at /api/openapi.json; every operation is called with
generated requests (valid and invalid) and every answer must be documented there: status
code, content type, body, headers, and no server error.

Schemathesis runs the app's lifespan itself (the pool and the Redis client live on its event
loop thread) and its pytest plugin ends it when the test ends, before the containers go.
Redirects are never followed (`max-redirects = 0`): a 3xx from /{code} is the answer under
test, and its Location may name any host.
"""

from collections import Counter
from collections.abc import Callable
from urllib.parse import quote

import hypothesis
import psycopg
import pytest
import redis
import schemathesis

from shortener.app import create_app
from shortener.settings import Settings

pytestmark = pytest.mark.integration

# The keys of schemathesis.toml. Bounded and repeatable: a fixed seed, derandomized
# generation, no example database, and Hypothesis' deadline is already off under schemathesis.
CONFIG = {
    "seed": 20240601,
    "max-redirects": 0,
    "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
    "checks": {
        # Valid by the schema is not always acceptable: the API refuses with a documented 422
        # what JSON Schema cannot say (target URL rules, an expiry in the past, a cursor it
        # never issued, a stats range over 366 days, a reserved alias in any case). A
        # 400 or 415 for schema-valid data still fails.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
        },
    },
    "operations": [
        {
            # /api/links/batch is also /api/links/{code} with the code "batch" (a valid
            # alias): GET, PATCH and DELETE do reach a route there, so `Allow` rightly names
            # them although the schema lists POST alone under this path.
            "include-name": "POST /api/links/batch",
            "checks": {"allow_header_conformance": {"enabled": False}},
        },
        {
            # Likewise /api/keys/current is also /api/keys/{prefix}: a DELETE reaches that
            # route, which refuses "current" with a 422 (a prefix has 8 characters).
            "include-name": "GET /api/keys/current",
            "checks": {
                "allow_header_conformance": {"enabled": False},
                "unsupported_method": {"enabled": False},
            },
        },
        {
            # The same for /api/links/bulk-delete.
            "include-name": "POST /api/links/bulk-delete",
            "checks": {"allow_header_conformance": {"enabled": False}},
        },
        {
            # And for /api/links/export (GET there is the export; PATCH and DELETE reach
            # /api/links/{code}, which "export", a reserved alias, never is).
            "include-name": "GET /api/links/export",
            "checks": {"allow_header_conformance": {"enabled": False}},
        },
        {
            # A link's history outlives its delete, by design (docs/events.md): a 200 for a
            # deleted link's history is the promise, not a resource left behind.
            "include-name": "GET /api/links/{code}/history",
            "checks": {"use_after_free": {"enabled": False}},
        },
    ],
}


@pytest.fixture
def api_schema(make_api_settings: Callable[..., Settings], api_key: str) -> schemathesis.BaseSchema:
    app = create_app(make_api_settings())
    schema = schemathesis.openapi.from_asgi(
        "/api/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG)
    )
    # Sent with every call, so the link endpoints get past 401 and reach their own rules;
    # schemathesis also drops or spoils it on some calls, which must then answer 401.
    schema.config.update(headers={"Authorization": f"Bearer {api_key}"})
    return schema


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's lazy schemas read `Node._nodeid`, which pytest 9.2 replaced with
    # `_id`; give it the attribute it reads (it only relabels the node for reporting).
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_answers_as_documented(case: schemathesis.Case) -> None:
    case.call_and_validate()


# Stateful: sequences of calls in which one answer feeds the next. Schemathesis infers the
# links from the schema itself (the `code` in a Link answer is the {code} of the other link
# routes), so a run creates links and then reads, changes, deletes them and asks for their
# stats, also after they were deleted: states a call with a random code never reaches.
# Bounded like the test above: derandomized (one fixed sequence of scenarios), no example
# database, a few calls per scenario. 60 scenarios, not 25: with 25 the one fixed sequence
# changed its draws after unrelated schema edits and then never PATCHed a link that existed
# (seen on 2026-12-07: 0 of 16 runs); 60 reached every operation in each run tried.
STATEFUL_SETTINGS = hypothesis.settings(
    max_examples=60,
    stateful_step_count=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


TARGET_WRITES = {"POST /api/links", "PATCH /api/links/{code}"}


def test_sequences_of_linked_calls_answer_as_documented(
    api_schema: schemathesis.BaseSchema, owner_db: psycopg.Connection, cache: redis.Redis
) -> None:
    def map_body(context: schemathesis.HookContext, body: object) -> object:
        # Generated text is almost never an acceptable target, so nearly every create would
        # end in 422 and leave nothing to follow. Here the text becomes the path of a valid
        # target (the stateless test above already feeds arbitrary URLs to the normaliser).
        # PATCH too: a change is only seen to succeed when its target is acceptable.
        writes = context.operation is not None and context.operation.label in TARGET_WRITES
        if writes and isinstance(body, dict) and isinstance(body.get("url"), str):
            return {**body, "url": "https://example.org/" + quote(body["url"], safe="")}
        return body

    api_schema.hooks.register_hook_with_name(map_body, "map_body")
    # Without the revoke: a scenario that lists the keys and revokes its own spends the rest
    # of its calls on 401s (the stateless test above calls it).
    linked = api_schema.exclude(method="DELETE", path="/api/keys/{prefix}")
    machine = linked.as_state_machine()  # infers the links first
    # create -> read, change, delete, stats (and more): without links this would only
    # repeat the stateless test above.
    assert linked.statistic.transitions.total >= 10, "schemathesis inferred no links"

    answers: Counter[tuple[str, int]] = Counter()

    class Workflow(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            # Every scenario starts from no links, no keys made through the API and full
            # quotas (the key stays): Hypothesis replays scenarios and needs each to behave
            # the same every time it runs.
            owner_db.execute("TRUNCATE links, link_events, webhooks RESTART IDENTITY CASCADE")
            owner_db.execute("DELETE FROM api_keys WHERE owner_id IS NOT NULL")
            cache.flushdb()
            # And the app's own second of redirect answers: a code made again under the
            # same id must not be answered from the scenario before (links/local_cache.py).
            api_schema.app.state.link_lookup.local.clear()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answers[(case.operation.label, response.status_code)] += 1

    Workflow.run(settings=STATEFUL_SETTINGS)
    # Each scenario starts with no links, so a 2xx from these needs a code that an earlier
    # call of the same scenario created: proof that the links were followed.
    succeeded = {label for (label, status) in answers if status < 300}
    for method in ("GET", "PATCH", "DELETE"):
        assert f"{method} /api/links/{{code}}" in succeeded, sorted(answers.items())
