"""Evidence at 360 px: a resident chooses files on the filing form (a text file named .jpg
is refused with the error summary), removes one on "Check your answers", sees the rest on
the case, and adds one more later through "Add information"."""
import pytest
from playwright.sync_api import expect

from credit_self.db import make_engine, scalar
from tests.browser.conftest import check_page, sign_in
from tests.conftest import persona

pytestmark = pytest.mark.browser

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + b" " * 200


def test_resident_uploads_evidence_through_the_form(live_server, page):
    resident = persona("expired_only")
    engine = make_engine(live_server.database_url)
    with engine.connect() as conn:
        entry_id = scalar(conn, "SELECT min(id) FROM entries WHERE id_number = :id_number "
                                "AND status = 'listed'", id_number=resident["id_number"])
    engine.dispose()
    sign_in(page, "expired_only")
    page.goto(f"/me/entries/{entry_id}/correction")
    expect(page.locator("h1")).to_have_text("File a correction")
    page.get_by_label("It should have expired").check()
    page.fill("#statement", "This entry ended last year; the court confirmed it in writing.")
    page.set_input_files("#files", [
        {"name": "receipt.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all"}])
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("The file “receipt.jpg” must be a photo (JPEG or PNG) or a PDF")
    check_page(page)
    expect(summary.get_by_role("link")).to_have_attribute("href", "#files")
    page.set_input_files("#files", [
        {"name": "court letter.png", "mimeType": "image/png", "buffer": PNG},
        {"name": "wrong one.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("h1")).to_have_text("Check your answers")
    expect(page.locator("main")).to_contain_text("court letter.png")
    check_page(page)
    page.get_by_role("button", name="Remove wrong one.pdf").click()
    expect(page.locator("main")).to_contain_text("“wrong one.pdf” was removed.")
    expect(page.get_by_role("button", name="Remove wrong one.pdf")).to_have_count(0)
    check_page(page)
    page.get_by_role("button", name="Send your correction").click()
    expect(page.locator("h1")).to_have_text("Correction sent")
    engine = make_engine(live_server.database_url)
    with engine.connect() as conn:
        correction_id = scalar(conn, "SELECT id FROM corrections WHERE entry_id = :entry_id "
                                     "AND status = 'submitted'", entry_id=entry_id)
    engine.dispose()
    page.goto(f"/corrections/{correction_id}")
    expect(page.get_by_role("link", name="court letter.png")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Evidence added")
    check_page(page)
    # Later: one more file through "Add information" (htmx swaps the case body).
    page.set_input_files("#files", [{"name": "payment.pdf", "mimeType": "application/pdf",
                                     "buffer": PDF}])
    page.get_by_role("button", name="Add information").click()
    expect(page.locator("#correction-body")).to_contain_text("Your information was added")
    expect(page.get_by_role("link", name="payment.pdf")).to_be_visible()
    check_page(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="payment.pdf").click()
    assert download.value.suggested_filename == "payment.pdf"
