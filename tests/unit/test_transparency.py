"""Unit checks of reading a department's list feed."""
import pytest

from credit_self.transparency import imports

HEADER = "id_number,name,facts,document_no,listed_on,expires_on,source_agency\n"


def test_read_csv_strips_bom_and_spaces():
    rows = imports.read_csv(
        "\ufeffid_number, name,facts,document_no,listed_on,expires_on,source_agency\n"
        " 110101198001019991 ,王五,事实,D-1,2025-01-01,,法院\n"
    )
    assert rows == [{"id_number": "110101198001019991", "name": "王五", "facts": "事实",
                     "document_no": "D-1", "listed_on": "2025-01-01", "expires_on": "",
                     "source_agency": "法院"}]


def test_read_csv_keeps_quoted_line_breaks_and_accepts_any_line_ending():
    rows = imports.read_csv(HEADER.replace("\n", "\r\n") + '1,王五,"第一行\r\n第二行",D-1,2025-01-01,,法院\r'
                            + "2,李四,事实,D-2,2025-01-01,,法院")
    assert [row["facts"] for row in rows] == ["第一行\n第二行", "事实"]


@pytest.mark.parametrize("body, code, detail", [
    ('1,王五,"left open,D-1,2025-01-01,,法院\n2,李四,事实,D-2,2025-01-01,,法院\n', "not_csv", "line 3"),
    ('1,王五,"closed"then more,D-1,2025-01-01,,法院\n', "not_csv", "line 2"),
    ("1,王五,事实,D-1,2025-01-01,,法院\n2,李四," + "x" * 10_001 + ",D-2,2025-01-01,,法院\n",
     "field_too_long", "3"),
    ("1,王五," + "x" * 200_000 + ",D-1,2025-01-01,,法院\n", "field_too_long", "2"),
    ("", "no_rows", ""),
])
def test_a_file_that_cannot_be_read_says_why_and_where(body, code, detail):
    with pytest.raises(imports.ImportFileError) as problem:
        imports.read_csv(HEADER + body)
    assert problem.value.code == code and problem.value.detail.startswith(detail)
