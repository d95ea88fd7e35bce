"""Unit checks of the import's fast paths against the reference implementations."""
import random

from stdnum.cn import ric

from credit_self.identity import with_check_digit
from credit_self.transparency import imports


def test_fast_check_digit_agrees_with_stdnum():
    rng = random.Random(3)
    for _ in range(2000):
        first17 = "".join(rng.choice("0123456789") for _ in range(17))
        good = with_check_digit(first17)
        assert imports._check_digit_ok(good)
        wrong = first17 + ("0" if good[-1] != "0" else "1")
        assert not imports._check_digit_ok(wrong)
        assert ric.calc_check_digit(first17 + "0") == good[-1]
    assert not imports._check_digit_ok("12345")
    assert not imports._check_digit_ok("1101011980010199AX")


def test_read_csv_strips_bom_and_spaces():
    rows = imports.read_csv(
        "\ufeffid_number, name,facts,document_no,listed_on,expires_on,source_agency\n"
        " 110101198001019991 ,王五,事实,D-1,2025-01-01,,法院\n"
    )
    assert rows == [{"id_number": "110101198001019991", "name": "王五", "facts": "事实",
                     "document_no": "D-1", "listed_on": "2025-01-01", "expires_on": "",
                     "source_agency": "法院"}]
