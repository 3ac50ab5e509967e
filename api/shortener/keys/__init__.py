"""API keys: who may create, list, change and read links; each key owns its links."""
