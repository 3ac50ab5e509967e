"""Redirects: the hot path from a short code to its target."""
