"""Kubernetes resource quantities ("500m", "1", "1.5Gi", "2e3"): parsed exactly, compared, formatted.

The grammar is the API server's (k8s.io/apimachinery resource.Quantity): a signed decimal number
and an optional suffix, binary (Ki Mi Gi Ti Pi Ei), decimal (n u m k M G T P E) or an exponent
(e3, E-2). Values are exact fractions, so "1" and "1000m" compare equal.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
            "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
            "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY = re.compile(r"^(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")

GIB = 2**30
MIB = 2**20


class QuantityError(ValueError):
    pass


def parse_quantity(text: str) -> Fraction:
    """The value of a Kubernetes quantity; raises `QuantityError` when `text` is not one."""
    match = _QUANTITY.match(text.strip())
    if not match:
        raise QuantityError(f"{text!r} is not a Kubernetes quantity")
    number = Fraction(match["number"])
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    return number * Fraction(10) ** int(suffix[1:])


def format_cpu(cores: Fraction) -> str:
    """Cores as Kubernetes writes them: whole cores, else millicores."""
    if cores.denominator == 1:
        return str(cores.numerator)
    return f"{int(cores * 1000)}m"


def format_memory(amount: Fraction) -> str:
    """Bytes in the largest binary unit that keeps one decimal, e.g. 14.2Gi."""
    for unit, size in (("Gi", GIB), ("Mi", MIB)):
        if amount >= size:
            return f"{float(amount / size):.1f}{unit}".replace(".0" + unit, unit)
    return f"{int(amount)}"
