"""Numbers in messages, as people write them, and a count with its noun.

Why a module of its own: every message that names a limit or a value a user gave (a
config field's range, a link's parameter, a sweep file's seed) prints it the same way,
and Python's ``:g`` did not: "must be between 0 and 2.14748e+09" for the seed's limit.
"""

from __future__ import annotations

import math


def as_written(value: float) -> str:
    """A number as people write it in a message: a whole number with thousands separators
    (2,147,483,647, where ``:g`` printed 2.14748e+09), a fraction as short as reads back
    exactly (0.001, 1e-06), and one far beyond every range in powers of ten (1e+308)."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if abs(value) >= 1e16:  # above 2**53: no range comes near, the digits would not help
        try:
            return f"{float(value):.4g}"
        except OverflowError:  # a whole number beyond any float
            return f"about 1e+{int(abs(int(value)).bit_length() * math.log10(2))}"
    if value == int(value):
        return f"{int(value):,}"
    return repr(float(value))


def bound(value: float, digits: int) -> str:
    """An interval's bound to ``digits`` decimals, or up to three more where those would
    print a bound beside 0 as 0: "95% CI -2.9 to -0.0 points" beside "the interval
    excludes 0" (it was -0.04)."""
    places = digits
    while value != 0 and round(value, places) == 0 and places < digits + 3:
        places += 1
    return f"{value:.{places}f}"


def counted(n: int, noun: str) -> str:
    """``n`` and its noun, plural unless one: "1 seed", "3 seeds", "0 runs", "1,200 runs"
    (the nouns on screen all take an s)."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
