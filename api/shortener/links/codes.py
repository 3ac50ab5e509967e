"""Short codes: what one can look like, and new random ones from the OS's CSPRNG.

Random rather than sequential so codes cannot be enumerated; 62**7 (about 3.5e12) codes
at the default length keep collisions rare, and the store retries the few that happen.
"""

import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
# What an alias may also use; a random code is only ever ALPHABET.
CODE_CHARACTERS = "A-Za-z0-9_-"
MAX_CODE_LENGTH = 64
MIN_ALIAS_LENGTH = 3
# Anything that could ever be a code (random codes and aliases); any other path segment
# is a 404 without touching a backend (Postgres text cannot even hold some: NUL).
CODE_PATTERN = re.compile(f"[{CODE_CHARACTERS}]{{1,{MAX_CODE_LENGTH}}}")
ALIAS_PATTERN = f"^[{CODE_CHARACTERS}]{{{MIN_ALIAS_LENGTH},{MAX_CODE_LENGTH}}}$"


def new_code(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
