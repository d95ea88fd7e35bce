from datetime import date

import pytest
from stdnum.cn import ric

from credit_self import identity
from credit_self.identity import IdProblem

VALID = identity.with_check_digit("31010419850612123")  # Xuhui, born 12 June 1985, male


def test_with_check_digit_makes_numbers_stdnum_accepts():
    assert ric.is_valid(VALID)
    assert identity.with_check_digit("11010519491231002") == "11010519491231002X"


def test_parse_derives_what_the_number_states():
    parsed = identity.parse(VALID)
    assert parsed.number == VALID
    assert parsed.region_code == "310104"
    assert parsed.birth_date == date(1985, 6, 12)
    assert parsed.sex == "M"
    assert identity.parse(identity.with_check_digit("31010419850612124")).sex == "F"


@pytest.mark.parametrize(
    "typed",
    [f" {VALID} ", f"{VALID[:6]} {VALID[6:14]} {VALID[14:]}", f"{VALID[:6]}-{VALID[6:]}"],
)
def test_parse_ignores_spaces_and_hyphens(typed):
    assert identity.parse(typed).number == VALID


def test_lower_case_x_is_accepted():
    number = "11010519491231002X"
    assert identity.parse(number.lower()).number == number


@pytest.mark.parametrize(
    "typed, problem",
    [
        ("", IdProblem.EMPTY),
        (None, IdProblem.EMPTY),
        ("   ", IdProblem.EMPTY),
        ("3101041985061212", IdProblem.FORMAT),  # too short
        (VALID + "1", IdProblem.FORMAT),  # too long
        ("31010419850612123A", IdProblem.FORMAT),  # letter other than X
        ("3101041985O612123" + "0", IdProblem.FORMAT),  # letter O for zero
        (VALID[:17] + ("0" if VALID[17] != "0" else "1"), IdProblem.CHECKSUM),
        (identity.with_check_digit("31010419851332123"), IdProblem.BIRTH_DATE),
        (identity.with_check_digit("99999919850612123"), IdProblem.REGION),
        # Pudong's code did not exist for people born in 1970.
        (identity.with_check_digit("31011519700612123"), IdProblem.REGION),
    ],
)
def test_parse_names_the_problem(typed, problem):
    assert identity.parse(typed) is problem


@pytest.mark.parametrize(
    "name, masked", [("张三明", "张*明"), ("李四", "李*"), ("欧阳小明", "欧**明"), ("王", "王")]
)
def test_mask_name(name, masked):
    assert identity.mask_name(name) == masked


def test_mask_id_keeps_first_and_last_four():
    assert identity.mask_id("31010419850612123X") == "3101**********123X"
