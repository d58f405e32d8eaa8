"""Kubernetes quantities, parsed exactly as the API server reads them."""

from __future__ import annotations

from fractions import Fraction

import pytest

from eks_inferentia.quantity import QuantityError, format_cpu, format_memory, parse_quantity


@pytest.mark.parametrize(("text", "value"), [
    ("1", 1), ("500m", Fraction(1, 2)), ("1.5", Fraction(3, 2)), ("2000m", 2), ("1Gi", 2**30), ("512Mi", 2**29),
    ("1G", 10**9), ("1k", 1000), ("2e3", 2000), ("1E-3", Fraction(1, 1000)), (".5", Fraction(1, 2)), ("100n", Fraction(1, 10**7)),
])
def test_parses_the_api_servers_grammar(text: str, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "1 Gi", "one", "1GiB", "1g", "--1", "1.2.3"])
def test_refuses_what_is_not_a_quantity(text: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(text)


def test_formats_for_messages() -> None:
    assert format_cpu(Fraction(7910, 1000)) == "7910m" and format_cpu(Fraction(4)) == "4"
    assert format_memory(Fraction(15611 * 2**20)) == "15.2Gi" and format_memory(Fraction(2**30)) == "1Gi"


@pytest.mark.parametrize(("amount", "text"), [
    (2**30 * 16, "16Gi"), (2**30 + 2**29, "1.5Gi"), (2**29, "512Mi"), (2**20, "1Mi"), (2**20 * 3 // 2, "1.5Mi"),
    (2**20 - 1, "1048575"), (0, "0"),
])
def test_memory_is_formatted_in_the_largest_binary_unit_that_fits(amount: int, text: str) -> None:
    assert format_memory(Fraction(amount)) == text


def test_the_refusal_names_the_text() -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity("1GiB")
    assert str(caught.value) == "'1GiB' is not a Kubernetes quantity"
