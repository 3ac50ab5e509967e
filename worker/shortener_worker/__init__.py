"""The URL shortener's worker: RQ jobs that keep Postgres and Redis in order."""
