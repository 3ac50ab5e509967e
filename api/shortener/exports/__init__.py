"""Exports: a key's links (CSV or JSON Lines) and a link's raw clicks (CSV), streamed."""
