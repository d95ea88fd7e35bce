"""Evidence files of corrections: accepted by their content, at most 5 of 5 MB, stored
outside static/, downloaded only by the resident and reviewers, always as attachments."""
import io
import json
import re
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from credit_self import clock
from credit_self.corrections import data, evidence
from tests.app.test_corrections import STATEMENT, correction_row, entry_id
from tests.conftest import make_test_app, persona, staff_login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + b" " * 200
FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def evidence_dir(tmp_path) -> Path:
    return tmp_path / "evidence"


@pytest.fixture
def app(database_url, evidence_dir):
    return make_test_app(database_url, EVIDENCE_DIR=str(evidence_dir))


def upload(content: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(content), name)


def answers(*files) -> dict:
    return {"category": "fulfilled", "statement": STATEMENT, "evidence": "", "files": list(files)}


def post_files(client, path: str, values: dict):
    """POST a multipart form encoded in memory: for a large body the test client would
    spool it to a temporary file that it never closes."""
    fields = MultiDict([(name, item) for name, value in values.items()
                        for item in (value if isinstance(value, list) else [value])])
    boundary, body = encode_multipart(fields)
    return client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def stored(evidence_dir: Path) -> list[str]:
    return sorted(p.name for p in evidence_dir.iterdir()) if evidence_dir.exists() else []


def send_correction(client, entry: int, *files) -> None:
    response = post_files(client, f"/me/entries/{entry}/correction", answers(*files))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert client.post(f"/me/entries/{entry}/correction/check").status_code == 303


@pytest.fixture
def train_entry(auth, db) -> int:
    auth.login("train_expiring")
    return entry_id(db, "train_expiring", "railway_misconduct")


def test_files_sent_with_a_correction_show_on_its_page_and_timeline(client, db, train_entry,
                                                                    evidence_dir):
    send_correction(client, train_entry, upload(PNG, "receipt.png"), upload(PDF, "信函.pdf"))
    row = correction_row(db, train_entry)
    files = db.query("SELECT * FROM correction_evidence WHERE correction_id = ? ORDER BY id",
                     [row["id"]])
    assert [(f["filename"], f["content_type"]) for f in files] == [
        ("receipt.png", "image/png"), ("信函.pdf", "application/pdf")]
    # Stored under random names in the evidence folder, nowhere under static/.
    assert stored(evidence_dir) == sorted(f["file_id"] for f in files)
    assert "receipt" not in "".join(stored(evidence_dir))
    assert (evidence_dir / files[0]["file_id"]).read_bytes() == PNG
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "Evidence added" in page and "receipt.png" in page and "信函.pdf" in page
    assert f"/corrections/{row['id']}/evidence/{files[0]['id']}" in page
    audited = db.query("SELECT detail FROM audit_log WHERE action = 'correction_evidence_added' "
                       "AND subject = ?", [persona("train_expiring")["id_number"]])
    assert [f["name"] for f in json.loads(audited[0]["detail"])["files"]] == [
        "receipt.png", "信函.pdf"]


def test_check_your_answers_lists_the_files_before_sending(client, db, train_entry):
    post_files(client, f"/me/entries/{train_entry}/correction",
               answers(upload(JPEG, "photo.jpeg")))
    check = client.get(f"/me/entries/{train_entry}/correction/check").get_data(as_text=True)
    assert "photo.jpg" in check
    # Not yet part of any correction: nobody can download it.
    assert db.scalar("SELECT count(*) FROM correction_evidence WHERE correction_id IS NULL") == 1


def test_the_type_comes_from_the_content_not_the_name(client, db, train_entry):
    # A PNG named .pdf is a PNG: stored, named and served as one.
    send_correction(client, train_entry, upload(PNG, "scan.pdf"))
    row = correction_row(db, train_entry)
    file = db.query("SELECT * FROM correction_evidence WHERE correction_id = ?", [row["id"]])[0]
    assert (file["filename"], file["content_type"]) == ("scan.png", "image/png")
    response = client.get(f"/corrections/{row['id']}/evidence/{file['id']}")
    assert response.headers["Content-Type"] == "image/png"
    response.close()


@pytest.mark.parametrize("content, name, message", [
    (b"just some text, honestly a photo", "photo.jpg",
     "The file “photo.jpg” must be a photo (JPEG or PNG) or a PDF"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.png",
     "The file “x.png” must be a photo (JPEG or PNG) or a PDF"),
    (b"", "empty.pdf", "The file “empty.pdf” is empty"),
    (PNG + b"\x00" * FIVE_MB, "big.png", "Each file must be 5 MB or smaller"),
])
def test_a_bad_file_is_refused_with_a_message_and_nothing_is_stored(
        client, db, train_entry, evidence_dir, content, name, message):
    # A good file beside the bad one is not kept either: all or nothing.
    response = post_files(client, f"/me/entries/{train_entry}/correction",
                          answers(upload(PNG, "good.png"), upload(content, name)))
    assert response.status_code == 400
    assert response.get_data(as_text=True).count(message) == 2  # summary and field
    assert 'href="#files"' in response.get_data(as_text=True)
    assert db.count("correction_evidence") == 0 and stored(evidence_dir) == []
    assert db.scalar("SELECT count(*) FROM correction_drafts WHERE id_number = ?",
                     [persona("train_expiring")["id_number"]]) == 0


def test_five_files_of_5_mb_fit_in_one_request(app, client, db, train_entry):
    # With CSRF on, as in production: its check reads the form, under the larger limit too.
    app.config["WTF_CSRF_ENABLED"] = True
    path = f"/me/entries/{train_entry}/correction"
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    pages = [upload(PDF + b" " * (FIVE_MB - len(PDF)), f"page{n}.pdf") for n in range(5)]
    response = post_files(client, path, {**answers(*pages), "csrf_token": token.group(1)})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.request.content_length > 25 * 1024 * 1024
    assert db.count("correction_evidence") == 5


def test_a_large_body_is_still_refused_on_routes_without_uploads(client, db, train_entry):
    response = post_files(client, "/certificates", {"purpose": "rental", "x": "y" * 7 * 1024 * 1024})
    assert response.status_code == 413
    assert db.scalar("SELECT count(*) FROM certificates WHERE id_number = ?",
                     [persona("train_expiring")["id_number"]]) == 0


def test_a_sixth_file_is_refused(client, db, train_entry, evidence_dir):
    six = [upload(PNG, f"{n}.png") for n in range(6)]
    response = post_files(client, f"/me/entries/{train_entry}/correction", answers(*six))
    assert response.status_code == 400 and "Choose 5 files or fewer" in response.get_data(as_text=True)
    assert db.count("correction_evidence") == 0
    send_correction(client, train_entry, *(upload(PNG, f"{n}.png") for n in range(3)))
    row = correction_row(db, train_entry)
    more = post_files(client, f"/corrections/{row['id']}/information", {
        "information": "", "files": [upload(JPEG, "a.jpg"), upload(JPEG, "b.jpg"), upload(JPEG, "c.jpg")]})
    assert more.status_code == 400
    assert "This correction already has 3 files. It can have 5 in all" in more.get_data(as_text=True)
    assert db.count("correction_evidence") == 3 and len(stored(evidence_dir)) == 3
    # Two more fit; then the page no longer offers to add files.
    done = post_files(client, f"/corrections/{row['id']}/information", {
        "information": "", "files": [upload(JPEG, "a.jpg"), upload(PDF, "b.pdf")]})
    assert done.status_code == 303
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "a.jpg" in page and "b.pdf" in page and 'type="file"' not in page
    assert page.count("Evidence added") == 2


def test_add_information_takes_files_alone(client, db, train_entry):
    send_correction(client, train_entry)
    row = correction_row(db, train_entry)
    empty = post_files(client, f"/corrections/{row['id']}/information", {"information": ""})
    assert "Enter the information you want to add, or choose a file" in empty.get_data(as_text=True)
    response = post_files(client, f"/corrections/{row['id']}/information",
                          {"information": "", "files": [upload(PDF, "court receipt.pdf")]})
    assert response.status_code == 303
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "court receipt.pdf" in page and "You added information" not in page


def test_a_failed_write_leaves_no_file_behind(client, db, train_entry, evidence_dir, monkeypatch):
    send_correction(client, train_entry)
    row = correction_row(db, train_entry)

    def refuse(*args, **kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(data.audit, "record", refuse)
    with pytest.raises(RuntimeError):
        data.add_information(db, persona("train_expiring")["id_number"], row["id"], "",
                             clock.now(), "resident:test",
                             [evidence.Upload("a.png", "image/png", PNG)], str(evidence_dir))
    assert db.count("correction_evidence") == 0 and stored(evidence_dir) == []


def _one_file(client, db, entry: int) -> tuple[dict, dict]:
    send_correction(client, entry, upload(PNG, "receipt.png"))
    row = correction_row(db, entry)
    return row, db.query("SELECT * FROM correction_evidence WHERE correction_id = ?", [row["id"]])[0]


def _is_attachment(response, content_type: str, name: str) -> None:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Content-Disposition"] == f"attachment; filename={name}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_resident_downloads_their_file_as_an_attachment(client, db, train_entry):
    row, file = _one_file(client, db, train_entry)
    response = client.get(f"/corrections/{row['id']}/evidence/{file['id']}")
    _is_attachment(response, "image/png", "receipt.png")
    assert response.data == PNG
    response.close()


def test_another_resident_gets_404_and_it_is_the_probers_event(app, db, train_entry, client, auth):
    row, file = _one_file(client, db, train_entry)
    auth.logout()
    auth.login("defaulter")
    for path in (f"/corrections/{row['id']}/evidence/{file['id']}",
                 f"/corrections/{row['id']}/evidence/{file['id'] + 1000}"):
        response = client.get(path)
        assert response.status_code == 404 and response.data != PNG
    refused = db.query("SELECT subject, detail FROM audit_log WHERE action = 'evidence_read_refused'")
    assert {r["subject"] for r in refused} == {persona("defaulter")["id_number"]}
    # Nothing reaches the owner's "Who looked".
    assert db.scalar("SELECT count(*) FROM audit_log WHERE subject = ? AND action LIKE '%refused'",
                     [persona("train_expiring")["id_number"]]) == 0


def test_reviewers_download_and_the_read_is_audited(app, db, train_entry, client):
    row, file = _one_file(client, db, train_entry)
    for role in ("reviewer", "superadmin"):
        staff = app.test_client()
        staff_login(staff, role)
        case = staff.get(f"/admin/corrections/{row['id']}").get_data(as_text=True)
        link = f"/admin/corrections/{row['id']}/evidence/{file['id']}"
        assert link in case and "receipt.png" in case
        response = staff.get(link)
        _is_attachment(response, "image/png", "receipt.png")
        assert response.data == PNG
        response.close()
    reads = db.query("SELECT actor, subject FROM audit_log WHERE action = 'correction_evidence_read'")
    assert len(reads) == 2
    assert {r["subject"] for r in reads} == {persona("train_expiring")["id_number"]}


def test_other_staff_and_strangers_cannot_download(app, db, train_entry, client):
    row, file = _one_file(client, db, train_entry)
    link = f"/admin/corrections/{row['id']}/evidence/{file['id']}"
    staff = app.test_client()
    staff_login(staff, "pilot_admin")
    assert staff.get(link).status_code == 403
    anonymous = app.test_client()
    for path in (link, f"/corrections/{row['id']}/evidence/{file['id']}"):
        response = anonymous.get(path)
        assert response.status_code in (302, 303) and response.data != PNG


def test_the_display_name_drops_folders_and_takes_the_contents_extension():
    assert evidence.display_name("C:\\Users\\me\\scan.PDF", "image/png") == "scan.png"
    assert evidence.display_name("../../etc/passwd", "application/pdf") == "passwd.pdf"
    assert evidence.display_name("", "image/jpeg") == "evidence.jpg"


def test_a_chinese_file_name_survives_the_download(client, db, train_entry):
    send_correction(client, train_entry, upload(PDF, "法院回执.pdf"))
    row = correction_row(db, train_entry)
    file = db.query("SELECT id FROM correction_evidence WHERE correction_id = ?", [row["id"]])[0]
    response = client.get(f"/corrections/{row['id']}/evidence/{file['id']}")
    disposition = response.headers["Content-Disposition"]
    response.close()
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E6%B3%95%E9%99%A2%E5%9B%9E%E6%89%A7.pdf" in disposition


def test_the_files_read_in_chinese_on_the_case_page(client, db, train_entry):
    send_correction(client, train_entry, upload(PNG, "receipt.png"))
    row = correction_row(db, train_entry)
    client.set_cookie("lang", "zh_CN")
    page = client.get(f"/corrections/{row['id']}").get_data(as_text=True)
    assert "证据文件" in page and "已添加证据文件" in page and "（图片，1千字节）" in page
    # What a reader sees: not the markup, whose random CSP nonce may spell "KB".
    text = re.sub(r"<[^>]*>", " ", page)
    assert "Evidence" not in text and "KB" not in text


def test_htmx_add_information_with_a_bad_file_answers_the_partial_with_the_error(
        client, db, train_entry, evidence_dir):
    send_correction(client, train_entry)
    row = correction_row(db, train_entry)
    fields = MultiDict([("information", "See the photo"), ("files", upload(b"GIF89a....", "a.png"))])
    boundary, body = encode_multipart(fields)
    response = client.post(f"/corrections/{row['id']}/information", data=body,
                           content_type=f"multipart/form-data; boundary={boundary}",
                           headers={"HX-Request": "true"})
    text = response.get_data(as_text=True)
    # htmx 2 swaps only 2xx answers: the error comes back in a 200 fragment.
    assert response.status_code == 200 and "<html" not in text
    assert text.count("The file “a.png” must be a photo (JPEG or PNG) or a PDF") == 2
    assert db.count("correction_evidence") == 0 and stored(evidence_dir) == []
    # The text sent with the bad file is not kept either.
    assert db.scalar("SELECT count(*) FROM correction_events WHERE event = 'info_added' "
                     "AND correction_id = ?", [row["id"]]) == 0


def test_a_file_can_be_removed_before_sending(client, db, train_entry, evidence_dir):
    post_files(client, f"/me/entries/{train_entry}/correction",
               answers(upload(PNG, "wrong.png"), upload(PDF, "right.pdf")))
    wrong = db.query("SELECT * FROM correction_evidence WHERE filename = 'wrong.png'")[0]
    check = client.get(f"/me/entries/{train_entry}/correction/check").get_data(as_text=True)
    remove = f"/me/entries/{train_entry}/correction/evidence/{wrong['id']}/remove"
    assert f'action="{remove}?kind=objection"' in check
    response = client.post(remove)
    assert response.status_code == 303
    check = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "“wrong.png” was removed." in check and "right.pdf" in check
    assert wrong["file_id"] not in stored(evidence_dir) and len(stored(evidence_dir)) == 1
    assert client.post(f"/me/entries/{train_entry}/correction/check").status_code == 303
    row = correction_row(db, train_entry)
    assert [f["filename"] for f in db.query(
        "SELECT filename FROM correction_evidence WHERE correction_id = ?", [row["id"]])] == ["right.pdf"]
    # Once sent, a file stays: removing it is refused like any other's.
    sent = db.scalar("SELECT id FROM correction_evidence WHERE correction_id = ?", [row["id"]])
    response = client.post(f"/me/entries/{train_entry}/correction/evidence/{sent}/remove")
    assert response.status_code == 404 and len(stored(evidence_dir)) == 1
    assert db.count("correction_evidence") == 1
