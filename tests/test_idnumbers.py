"""GB 11643 resident ID numbers: check digit, validation, 15 → 18 upgrade."""

from datetime import date

import pytest

from qingshou.core import idnumbers
from qingshou.core.idnumbers import InvalidIdNumber


def by_hand(body: str) -> str:
    """The check character spelled out: sum of digit × 2^(17-i) mod 11, looked up in 1 0 X 9 … 2."""
    total = 0
    for i, digit in enumerate(body):
        total += int(digit) * (2 ** (17 - i) % 11)
    return "10X98765432"[total % 11]


# The standard's own examples, and synthetic numbers worked out with the algorithm:
# 110105 19491231 002 -> weighted sum 167, 167 mod 11 = 2 -> "X"
# 440524 18800101 001 -> weighted sum 195, 195 mod 11 = 8 -> "4"
KNOWN = [
    ("11010519491231002", "X"),
    ("44052418800101001", "4"),
    ("31011519900307123", by_hand("31011519900307123")),
    ("33010619850615004", by_hand("33010619850615004")),
]


def test_weights_are_powers_of_two_mod_11():
    assert idnumbers.WEIGHTS == tuple(2 ** (17 - i) % 11 for i in range(17))


@pytest.mark.parametrize(("body", "check"), KNOWN)
def test_check_digit_of_known_numbers(body, check):
    assert idnumbers.compute_check_digit(body) == check
    assert idnumbers.is_valid(body + check)


def test_hand_computed_sum_for_the_standard_example():
    body = "11010519491231002"
    total = sum(
        int(d) * w for d, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), strict=True)
    )
    assert total == 167 and total % 11 == 2
    assert idnumbers.compute_check_digit(body) == "X"


def test_wrong_check_digit_is_rejected_with_a_reason():
    assert not idnumbers.is_valid("110105194912310021")
    with pytest.raises(InvalidIdNumber) as exc:
        idnumbers.validate("110105194912310021")
    assert "check" in str(exc.value) or "校验" in str(exc.value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "123",
        "11010519491231002",
        "1101051949123100211",
        "11010519491231002Y",
        "ABCDEF19491231002X",
        "110105194913310028",  # month 13
        "110105203001010014",  # born in the future
    ],
)
def test_malformed_numbers_are_rejected(value):
    assert not idnumbers.is_valid(value)
    with pytest.raises(InvalidIdNumber):
        idnumbers.normalize(value)


def test_lower_case_x_and_spaces_are_normalised():
    assert idnumbers.normalize(" 11010519491231002x ") == "11010519491231002X"
    assert idnumbers.is_valid("11010519491231002x")


def test_legacy_15_digit_number_is_upgraded():
    assert idnumbers.upgrade_15("110105491231002") == "11010519491231002X"
    assert idnumbers.normalize("110105491231002") == "11010519491231002X"
    # is_valid() is strict: only the 18-character form
    assert not idnumbers.is_valid("110105491231002")
    with pytest.raises(InvalidIdNumber):
        idnumbers.upgrade_15("11010549123100")
    with pytest.raises(InvalidIdNumber):
        idnumbers.normalize("110105491331002")  # month 13 in the legacy form


def test_parse_gives_region_birth_date_and_gender():
    info = idnumbers.parse("11010519491231002X")
    assert info.region_code == "110105"
    assert info.birth_date == date(1949, 12, 31)
    assert info.sequence == "002"
    assert info.gender == "F"
    assert idnumbers.parse("440524188001010014").gender == "M"


def test_make_builds_valid_numbers_with_gender_parity():
    number = idnumbers.make("310115", date(1990, 3, 7), 123)
    assert number[:17] == "31011519900307123"
    assert idnumbers.is_valid(number)
    assert idnumbers.parse(number).gender == "M"
    assert idnumbers.parse(idnumbers.make("310115", date(1990, 3, 7), 124)).gender == "F"
    with pytest.raises(InvalidIdNumber):
        idnumbers.make("3101", date(1990, 3, 7), 1)
    with pytest.raises(InvalidIdNumber):
        idnumbers.make("310115", date(1990, 3, 7), 1000)


def test_every_body_has_exactly_one_valid_check_character():
    body = "32010219950609491"
    valid = [c for c in "0123456789X" if idnumbers.is_valid(body + c)]
    assert valid == [idnumbers.compute_check_digit(body)]
