"""The API's interactive page, /api/docs: Swagger UI served from our own origin."""
