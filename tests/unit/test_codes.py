import math
import secrets
from collections import Counter
from collections.abc import Callable

from shortener.links.codes import ALPHABET, new_code

# 10,000 codes of 7: 70,000 characters, about 1,129 of each symbol.
CODES, LENGTH = 10_000, 7
# The uniformity check's false-alarm rate: a fair generator fails it once in a million
# runs, whatever the seed (the codes come from the OS's CSPRNG; nothing is seeded).
FALSE_ALARM_RATE = 1e-6


def chi_square_p_value(statistic: float, degrees: int) -> float:
    """P(X >= statistic) for X chi-square distributed with an odd number of degrees of
    freedom (62 symbols: 61), exactly: erfc(sqrt(x/2)) + e^(-x/2) * sum over i = 1..(k-1)/2
    of (x/2)^(i-1/2) / Gamma(i+1/2)."""
    assert degrees % 2 == 1
    half = statistic / 2
    tail = sum(
        math.exp(-half + (i - 0.5) * math.log(half) - math.lgamma(i + 0.5))
        for i in range(1, (degrees - 1) // 2 + 1)
    )
    return math.erfc(math.sqrt(half)) + tail


def uniformity_p_value(text: str) -> float:
    """Pearson's chi-square test of `text` against every symbol of ALPHABET equally likely."""
    counts = Counter(text)
    assert set(counts) <= set(ALPHABET)
    expected = len(text) / len(ALPHABET)
    statistic = sum((counts[symbol] - expected) ** 2 / expected for symbol in ALPHABET)
    return chi_square_p_value(statistic, len(ALPHABET) - 1)


def modulo_biased_code(length: int) -> str:
    """The classic mistake: a random byte % 62. 256 = 4 * 62 + 8, so the first 8 symbols
    come 5 times in 256 and the other 54 only 4 times: 21 % too often, 3 % too rarely."""
    return "".join(ALPHABET[byte % len(ALPHABET)] for byte in secrets.token_bytes(length))


def many(generate: Callable[[int], str]) -> list[str]:
    return [generate(LENGTH) for _ in range(CODES)]


def test_the_chi_square_tail_is_exact() -> None:
    # Table values: the 5 % and 0.1 % critical points of 61 degrees of freedom, and of 1.
    assert math.isclose(chi_square_p_value(80.232, 61), 0.05, rel_tol=1e-4)
    assert math.isclose(chi_square_p_value(100.888, 61), 0.001, rel_tol=1e-3)
    assert math.isclose(chi_square_p_value(3.841459, 1), 0.05, rel_tol=1e-5)


def test_codes_have_the_requested_length_and_alphabet() -> None:
    for length in (4, 7, 12):
        code = new_code(length)
        assert len(code) == length
        assert set(code) <= set(ALPHABET)


def test_alphabet_is_base62() -> None:
    assert len(ALPHABET) == 62
    assert len(set(ALPHABET)) == 62


def test_codes_do_not_repeat_and_every_symbol_is_equally_likely() -> None:
    codes = many(new_code)
    assert len(set(codes)) == len(codes)
    assert uniformity_p_value("".join(codes)) > FALSE_ALARM_RATE


def test_the_uniformity_check_catches_the_modulo_bias() -> None:
    # Over 70,000 characters this bias gives a statistic of about 520 (seen: 380 at the
    # least in 200 tries), where the check's bound is 128.5: it passes with a probability
    # far below one in a billion. The former bounds (each count within 400..750 of 35,000
    # characters) let it through: its counts were about 684 and 547.
    assert uniformity_p_value("".join(many(modulo_biased_code))) < FALSE_ALARM_RATE
