"""The shared CSV writer: no cell reaches a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from mesochart.core.csvfile import csv_cell, csv_from_dicts, csv_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        (-2.5, "-2.5"),
        (-3, "-3"),
        (Decimal("-0.5"), "-0.5"),
        (None, ""),
    ],
)
def test_csv_cells_cannot_run_as_formulas(value, expected):
    assert csv_cell(value) == expected


def test_a_document_defuses_header_and_rows_and_reads_back():
    text = csv_text(["=name", "n"], [['=HYPERLINK("http://x","y")', 2], ["a,b", None]])
    assert list(csv.reader(io.StringIO(text))) == [
        ["'=name", "n"],
        ['\'=HYPERLINK("http://x","y")', "2"],
        ["a,b", ""],
    ]


def test_rows_as_dictionaries_follow_the_columns():
    text = csv_from_dicts(["b", "a"], [{"a": "@x", "b": 1}])
    assert list(csv.reader(io.StringIO(text))) == [["b", "a"], ["1", "'@x"]]
