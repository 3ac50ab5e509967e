"""The URL shortener's API service: link creation, redirects, health and migrations."""
