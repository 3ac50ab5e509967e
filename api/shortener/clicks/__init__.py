"""Clicks: each redirect recorded as one event on a Redis Stream, for the worker to ingest.

The contract between the two (stream, fields, salt key) is docs/clicks.md.
"""
