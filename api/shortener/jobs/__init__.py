"""Background jobs: work a key starts that the worker does (bulk deletes, imports)."""
