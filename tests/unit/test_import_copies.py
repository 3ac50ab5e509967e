"""What the worker's imports (worker/shortener_worker/imports.py) share with the api by
convention, not by import (the images cannot share a package): the random codes'
alphabet, the rows' marks and the creation quota's Redis key."""

from pathlib import Path

from shortener.imports import store
from shortener.links import codes
from shortener_worker import imports

REPO = Path(__file__).resolve().parents[2]
QUOTA_KEY = 'f"quota:create:{owner_id}:{int(now // '


def test_random_codes_are_made_of_the_same_alphabet() -> None:
    assert imports.ALPHABET == codes.ALPHABET
    assert set(imports.new_code(50)) <= set(codes.ALPHABET)


def test_a_rows_mark_is_built_the_same_way() -> None:
    assert imports.import_ref("ab12", 7) == store.import_ref("ab12", 7) == "ab12:7"


def test_the_quota_is_counted_under_the_apis_key_and_window() -> None:
    api = (REPO / "api" / "shortener" / "links" / "quota.py").read_text()
    worker = (REPO / "worker" / "shortener_worker" / "imports.py").read_text()
    assert QUOTA_KEY in api and QUOTA_KEY in worker
    assert "WINDOW_SECONDS = 60" in api and imports.QUOTA_WINDOW_SECONDS == 60


def test_a_renamed_alias_stays_a_valid_code() -> None:
    row = {"is_alias": True, "alias": "a" * 64}
    renamed = imports._another_code(row, 7)
    assert len(renamed) == 64 and renamed.startswith("a" * 59 + "-")
    assert codes.CODE_PATTERN.fullmatch(renamed)
