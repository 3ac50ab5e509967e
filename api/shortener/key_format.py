"""The shape of an API key: a shared concern of keys/ (which makes keys) and logs.py
(which cuts any key a line carries down to its public prefix), defined once here.

A key is `shk_` + 43 URL-safe characters (256 random bits); its first PREFIX_LENGTH
characters after the marker are the public prefix people use to name a key.
"""

import re

KEY_MARKER = "shk_"
PREFIX_LENGTH = 8
KEY_CHARACTERS = "A-Za-z0-9_-"  # secrets.token_urlsafe's alphabet
# A key in a text: group 1 is the marker and the prefix, the rest is secret.
KEY_IN_TEXT = re.compile(
    f"({re.escape(KEY_MARKER)}[{KEY_CHARACTERS}]{{{PREFIX_LENGTH}}})[{KEY_CHARACTERS}]+"
)
