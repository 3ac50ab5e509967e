"""The migration job: applies api/migrations/*.sql in order, once each, then exits."""
