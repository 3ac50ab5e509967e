"""Stats: reading the click analytics the worker ingests (per link, owner-scoped)."""
