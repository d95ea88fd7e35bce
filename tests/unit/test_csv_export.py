"""The one CSV writer: no cell a resident downloads can run as a spreadsheet formula."""
import csv
import io
import re

import pytest

from credit_self.config import PROJECT_ROOT
from credit_self.csv_export import safe_cell, write_csv


@pytest.mark.parametrize("text", [
    '=HYPERLINK("http://evil.example","Click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "-", "=",
])
def test_a_cell_that_could_start_a_formula_is_text(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [-50, -2.5, 0, 7, "-50", "-12.5", "12", "王五", "a=b", " =1", ""])
def test_numbers_and_plain_text_stay_as_they_are(value):
    assert safe_cell(value) == value


def test_written_csv_reads_back_with_the_neutralised_cells():
    text = write_csv([["facts", "delta"], ["=1+1", -5], ["-5", None]])
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:], newline=""))) == [
        ["facts", "delta"], ["'=1+1", "-5"], ["-5", ""]]


def test_no_other_module_writes_csv():
    """Every CSV a user gets is written by csv_export, so none escapes the neutralising."""
    writers = [path.relative_to(PROJECT_ROOT) for path in (PROJECT_ROOT / "credit_self").rglob("*.py")
               if path.name != "csv_export.py"
               and re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8"))]
    assert writers == []
