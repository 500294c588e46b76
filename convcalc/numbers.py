"""Numbers from text, within the limits, and exact numbers back to text without floats.

Every integer or decimal that a user writes (in a spec, an option, a shape) is read here, so the
grammar and the bounds are the same everywhere: whole numbers are plain decimal digits (no sign
unless asked for, no underscores, no leading zeros), at most `MAX_INT_DIGITS` digits; decimals
and fractions (`0.75`, `3/4`, `1e-3`) are read exactly, at most `MAX_DECIMAL_CHARS` characters.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from convcalc.limits import MAX_DECIMAL_CHARS, MAX_INT, MAX_INT_DIGITS, MAX_VALUE_DIGITS

_WHOLE = re.compile(r"(0|[1-9][0-9]*)")
_SIGNED = re.compile(r"-?(0|[1-9][0-9]*)")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,2})?|-?\.[0-9]+")
_RATIO = re.compile(r"-?(0|[1-9][0-9]*)/([1-9][0-9]*)")
VALUE_LIMIT = 10**MAX_VALUE_DIGITS


class NumberError(ValueError):
    """Text that is not a number of the documented grammar (the message says what is allowed)."""


def shown(text: str, limit: int = 40) -> str:
    """A user's text quoted for a message: control characters escaped, long text shortened."""
    body = text if len(text) <= limit else text[: limit - 3] + "..."
    return repr(body)


def type_word(value: object) -> str:
    """What kind of value this is, in the words a spec's reader uses (never an internal class
    name such as MarkedList or YamlFloat)."""
    for kind, text in ((bool, "true/false"), (dict, "a mapping"), (list, "a list"),
                       (tuple, "a list"), (str, "text"), (int, "a number"), (float, "a number"),
                       (Fraction, "a number"), (type(None), "nothing")):
        if isinstance(value, kind):
            return text
    return type(value).__name__


def value_text(value: object) -> str:
    """Any value from a spec, quoted for a message: text escaped and shortened, huge integers
    described rather than written out."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return int_text(value).replace(",", "") if value.bit_length() <= 13_000 else int_text(value)
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, Fraction):
        return fraction_text(value)
    return shown(repr(value))


def parse_whole(text: str, *, signed: bool = False) -> int:
    """`224` → 224. Plain decimal digits only (`-` first when `signed`), no leading zeros."""
    if len(text) > MAX_INT_DIGITS + 1:
        raise NumberError(f"{shown(text)} has more than {MAX_INT_DIGITS} digits")
    if not (_SIGNED if signed else _WHOLE).fullmatch(text):
        if re.fullmatch(r"-?0[0-9]+", text):
            raise NumberError(f"{shown(text)} has a leading zero (write it without)")
        raise NumberError(f"{shown(text)} is not a whole number")
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise NumberError(f"{shown(text)} has more than {MAX_INT_DIGITS} digits")
    value = int(text)
    if abs(value) > MAX_INT:
        raise NumberError(f"{shown(text)} is larger than 2^63 − 1 (PyTorch sizes are int64)")
    return value


def parse_number(text: str) -> int | Fraction:
    """`4` → 4, `0.75` → 3/4, `3/4` → 3/4, `1e-3` → 1/1000: exact, never through a float."""
    raw = text.strip()
    if len(raw) > MAX_DECIMAL_CHARS:
        raise NumberError(f"{shown(raw)} is longer than {MAX_DECIMAL_CHARS} characters")
    if _SIGNED.fullmatch(raw):
        return parse_whole(raw, signed=True)
    if _RATIO.fullmatch(raw):
        return Fraction(raw)
    if _DECIMAL.fullmatch(raw):
        value = Fraction(raw)
        return int(value) if value.denominator == 1 else value
    raise NumberError(f"{shown(raw)} is not a number (write 4, 0.75 or 3/4)")


def from_float(value: float) -> Fraction:
    """A float as the decimal it was written as, exactly: the YAML text when the loader kept it,
    else its shortest repr (0.1 → 1/10)."""
    if math.isnan(value) or math.isinf(value):
        raise NumberError(f"{value} is not a finite number")
    text = getattr(value, "text", None) or repr(value)
    return Fraction(parse_number(text.lstrip("+")))


def check_value(value: int | Fraction, what: str = "a value") -> None:
    """Refuse an integer, or a fraction's numerator or denominator, past the digit limit."""
    if isinstance(value, Fraction):
        if abs(value.numerator) >= VALUE_LIMIT or value.denominator >= VALUE_LIMIT:
            raise NumberError(f"{what} has more than {MAX_VALUE_DIGITS} digits")
    elif abs(value) >= VALUE_LIMIT:
        raise NumberError(f"{what} has more than {MAX_VALUE_DIGITS} digits")


def int_text(value: int) -> str:
    """An int as text with thousands separators, even past Python's 4,300-digit str limit
    (where it says how many digits instead)."""
    if value.bit_length() > 13_000:
        return f"a {len_digits(value):,}-digit number"
    return f"{value:,}"


def len_digits(value: int) -> int:
    """Decimal digits of |value| (≥ 1), without converting it to text."""
    n = abs(value)
    if n < 10:
        return 1
    digits = int(n.bit_length() * 0.30102999566398120) + 1
    if 10 ** (digits - 1) > n:
        digits -= 1
    return digits


def decimal_text(value: Fraction | int, places: int = 2) -> str:
    """An exact number rounded half away from zero to `places` decimals, computed on integers
    (a huge ratio never overflows a float): 14500/577 → 2513.00 at 2 places of percent."""
    v = Fraction(value)
    sign = "-" if v < 0 else ""
    v = abs(v)
    scaled = v * 10**places
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    if whole.bit_length() > 13_000:
        return f"{sign}about 10^{len_digits(whole) - places - 1}"
    digits = str(whole).rjust(places + 1, "0")
    if places == 0:
        return f"{sign}{int(digits):,}"
    return f"{sign}{int(digits[:-places]):,}.{digits[-places:]}"


def fraction_text(value: Fraction | int) -> str:
    """An exact number as JSON-safe text: `3` or `"1/2"` style (`p/q`)."""
    v = Fraction(value)
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
