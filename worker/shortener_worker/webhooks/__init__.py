"""Webhooks: sending one signed delivery to a customer's URL, safely.

The outbox, its tables and the job that claims due deliveries live elsewhere; this package
is the part that takes ONE delivery and sends it, with no database and no Redis:

signing.py     Standard Webhooks signatures: new secrets, the headers, a receiver's verify
addresses.py   where a webhook may go: the URL's form, and every address its host resolves to
blocked.py     which IP addresses are never reached (loopback, private, metadata...)
connection.py  HTTP(S) connections to a checked address (no second DNS lookup), cut at a deadline
send.py        one attempt: check, resolve once, POST, judge the answer -> Outcome
backoff.py     when to try again after a failure, and when to give an endpoint up
"""
