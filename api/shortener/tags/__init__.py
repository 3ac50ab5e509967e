"""Tags: a key's labels on its links, to find, count, rename, delete and chart them."""
