from collections import Counter

from shortener.links.codes import ALPHABET, new_code


def test_codes_have_the_requested_length_and_alphabet() -> None:
    for length in (4, 7, 12):
        code = new_code(length)
        assert len(code) == length
        assert set(code) <= set(ALPHABET)


def test_alphabet_is_base62() -> None:
    assert len(ALPHABET) == 62
    assert len(set(ALPHABET)) == 62


def test_codes_do_not_repeat_and_use_the_whole_alphabet() -> None:
    codes = [new_code(7) for _ in range(5000)]
    assert len(set(codes)) == len(codes)
    counts = Counter("".join(codes))
    assert set(counts) == set(ALPHABET)
    # 35,000 characters over 62 symbols: about 565 each; a biased generator would stray.
    assert min(counts.values()) > 400
    assert max(counts.values()) < 750
