"""The one CSV writer: every CSV file the app hands out is written here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return could run as a
formula in a spreadsheet (OWASP "CSV injection"), so it gets a leading apostrophe and is
shown as text. Plain negative numbers stay numbers. Every cell is quoted.
"""
import csv
import io
import re
from typing import Any, Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """The value as a spreadsheet should see it: never the start of a formula."""
    if value is None:
        return ""
    if isinstance(value, (int, float)):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(rows: Iterable[Iterable[Any]]) -> str:
    """The rows (the first is the header) as CSV text, UTF-8 BOM first so that
    spreadsheet apps read Chinese."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
