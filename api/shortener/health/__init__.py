"""Health: liveness, readiness (touches Postgres and Redis) and the container probe."""
