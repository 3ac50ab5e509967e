"""Webhooks: a key's subscriptions to its links' events, and their deliveries (the sender
is the worker image's `webhooks` service: worker/shortener_worker/webhooks/)."""
