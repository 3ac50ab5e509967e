"""What a link may point at: checked before anything is stored."""

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = {"http", "https"}


def check_target_url(url: str) -> str:
    """Return the URL to store, or raise ValueError saying what is wrong with it."""
    # Browsers and urllib ignore leading C0 controls and spaces; strip them so what we
    # check is what a browser would follow (the CVE-2023-24329 class of bypass).
    url = url.strip("".join(map(chr, range(0x21))))
    if not url:
        raise ValueError("must not be empty")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise ValueError("must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ValueError("must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    try:
        host = parts.hostname
        _ = parts.port
    except ValueError:
        raise ValueError("has a malformed host or port") from None
    if not host:
        raise ValueError("must have a host")
    return url
