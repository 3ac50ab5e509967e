"""Imports: a file of links (CSV or JSON Lines) checked by the api, inserted by the worker."""
