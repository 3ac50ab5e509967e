"""Short codes: random base62 strings from the operating system's CSPRNG.

Random rather than sequential so codes cannot be enumerated; 62**7 (about 3.5e12) codes
at the default length keep collisions rare, and the store retries the few that happen.
"""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
