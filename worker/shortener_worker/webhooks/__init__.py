"""Webhooks: the sender (the `webhooks` service, python -m shortener_worker.webhooks) and
the pieces it sends one signed delivery with, safely (docs/events.md).

sender.py      the service's loop: claim due deliveries, send them at once, record outcomes
outbox.py      the webhook_deliveries table: claim (SKIP LOCKED, a lease), record, state
settings.py    the service's configuration (WEBHOOK_*): the database only, no Redis
metrics.py     the outbox's state for Prometheus (:9101)
signing.py     Standard Webhooks signatures: new secrets, the headers, a receiver's verify
addresses.py   where a webhook may go: the URL's form, and every address its host resolves to
blocked.py     which IP addresses are never reached (loopback, private, metadata...)
connection.py  HTTP(S) connections to a checked address (no second DNS lookup), cut at a deadline
send.py        one attempt: check, resolve once, POST, judge the answer -> Outcome
backoff.py     when to try again after a failure, and when to give an endpoint up

addresses.py and blocked.py have a copy in the api (api/shortener/webhooks/), which checks
a URL when a webhook is made; tests/unit/test_webhook_guard_copies.py keeps them equal.
"""
