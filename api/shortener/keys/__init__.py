"""API keys: who may call the API and what for (scopes, expiry); each key acts for an owner,
whose links it sees."""
