from __future__ import annotations

from datetime import date

import pytest

from mesochart.stock.gs1 import GS1Error, gtin_check_digit, parse, valid_gtin


def test_raw_scan_with_symbology_prefix_and_group_separator():
    data = parse("]d2010761234567890017270630105ABC123\x1d21XYZ")
    assert data.gtin == "07612345678900"
    assert data.expiry == date(2027, 6, 30)
    assert data.lot == "5ABC123"
    assert data.serial == "XYZ"


def test_human_readable_with_parentheses():
    data = parse("(01)04012345678901(17)261231(10)LOT42")
    assert (data.gtin, data.expiry, data.lot, data.serial) == (
        "04012345678901",
        date(2026, 12, 31),
        "LOT42",
        None,
    )


def test_parentheses_tolerate_spaces_between_elements():
    data = parse("(01) 04012345678901 (10) LOT42 (17) 261231")
    assert data.lot == "LOT42" and data.expiry == date(2026, 12, 31)


def test_lot_at_the_end_runs_to_the_end_of_the_string():
    data = parse("0104012345678901172612311012AB-34/5")
    assert data.lot == "12AB-34/5"


def test_lot_before_serial_ends_at_group_separator():
    data = parse("010401234567890110LOT7\x1d21SN99\x1d17261231")
    assert (data.lot, data.serial, data.expiry) == ("LOT7", "SN99", date(2026, 12, 31))


def test_scanners_that_type_gs_as_text_are_understood():
    assert parse("010401234567890110LOT7<GS>21SN99").serial == "SN99"


def test_expiry_day_00_means_last_day_of_month():
    assert parse("(01)04012345678901(17)270200(10)A").expiry == date(2027, 2, 28)
    assert parse("(17)280200").expiry == date(2028, 2, 29)


def test_wrong_gtin_check_digit_is_refused_naming_ai_01():
    # A commonly pasted example string whose check digit is wrong: it should be 0, not 4.
    with pytest.raises(GS1Error, match=r"AI \(01\).*check digit") as info:
        parse("]d2010761234567890417270630105ABC123\x1d21XYZ")
    assert info.value.ai == "01"


@pytest.mark.parametrize(
    ("text", "ai"),
    [
        ("(01)04012345678901(17)261331(10)A", "17"),
        ("(01)04012345678901(17)260231(10)A", "17"),
        ("(01)04012345678901(17)2612(10)A", "17"),
        ("(01)0401234567890(10)A", "01"),
        ("0104012345678901" + "10" + "X" * 21, "10"),
        ("(10)A(10)B", "10"),
        ("(01)04012345678901(10)", "10"),
    ],
)
def test_bad_elements_name_their_application_identifier(text, ai):
    with pytest.raises(GS1Error) as info:
        parse(text)
    assert info.value.ai == ai
    assert f"AI ({ai})" in str(info.value)


def test_unknown_application_identifier_is_reported_with_its_position():
    with pytest.raises(GS1Error, match="'99' at position 17"):
        parse("010401234567890199ABC")


def test_empty_scan_is_an_error():
    with pytest.raises(GS1Error, match="empty"):
        parse("]d2")


def test_gtin_check_digit():
    assert gtin_check_digit("0401234567890") == 1
    assert valid_gtin("04012345678901")
    assert not valid_gtin("04012345678902")
