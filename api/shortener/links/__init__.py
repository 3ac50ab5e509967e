"""Links: creating short codes for URLs and resolving codes back to URLs."""
