"""Click ingestion: the click events the api appends to a Redis stream become rows in
Postgres, each exactly once (docs/clicks.md).

events.py  what an event is, checked field by field
stream.py  the Redis stream and its consumer group: read, claim, ack, dead-letter, trim
store.py   the SQL: one statement per batch inserts the clicks and updates the rollups
ingest.py  the job that ties them together
tally.py   running totals of what ingestion did, in Redis, for the worker's metrics
retention.py  the job that deletes raw clicks past their retention
"""
