"""The offline verifier at 360 px: a landlord opens /verify once online, goes into
airplane mode, and checks valid, tampered, expired and revoked credentials on the phone."""
import json
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Page, expect

from credit_self.certificates import credentials, issuer_keys
from credit_self.config import default_config
from tests.browser.conftest import PHONE, check_page, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def landlord(browser, live_server):
    """The landlord's phone: no account, its own service workers and caches."""
    context = browser.new_context(viewport=PHONE, base_url=live_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def issue_offline(page: Page, statements=("No active blacklist entry at all",)) -> tuple[str, str]:
    """Issue an offline report as the signed-in holder: (its page URL, its SD-JWT)."""
    page.goto("/certificates")
    preset = "No active blacklist entry at all"
    page.get_by_label(preset).set_checked(preset in statements)
    for label in statements:
        page.get_by_label(label).check()
    page.get_by_label("Renting a home").check()
    page.get_by_label("Offline, unlinkable").check()
    page.get_by_role("button", name="Get certificate").click()
    return page.url, page.locator("#sd-jwt").inner_text().strip()


def payload_of(compact: str) -> dict:
    return json.loads(credentials.b64url_decode(compact.split("~")[0].split(".")[1]))


def tampered(compact: str) -> str:
    """The same signature over a payload that names someone else."""
    header, payload, signature = compact.split("~")[0].split(".")
    claims = payload_of(compact)
    claims["name_masked"] = "王*"
    forged = credentials.b64url(json.dumps(claims, ensure_ascii=False).encode())
    return f"{header}.{forged}.{signature}~" + "~".join(compact.split("~")[1:])


def expired_like(compact: str) -> str:
    """A genuine credential, signed with the server's own key, that ended an hour ago."""
    claims = payload_of(compact)
    now = datetime.now(timezone.utc)
    key = issuer_keys.load(Path(default_config()["CERTIFICATE_ISSUER_KEY_DIR"]), now)[0]
    return credentials.issue(
        key, issuer=claims["iss"], issued_at=now - timedelta(hours=2),
        expires_at=now - timedelta(hours=1), name_masked=claims["name_masked"],
        id_masked=claims["id_masked"], purpose="rental", audience=None,
        statements=("no_blacklist",), status_uri=claims["status"]["status_list"]["uri"],
        status_index=claims["status"]["status_list"]["idx"])


def verdict(page: Page, credential: str) -> str:
    page.fill("#credential", credential)
    page.get_by_role("button", name="Check", exact=True).click()
    title = page.locator("#verdict-title")
    expect(page.locator("#verdict")).to_be_visible()
    return title.inner_text().strip()


def open_verifier(page: Page) -> None:
    page.goto("/verify")
    expect(page.locator("html")).to_have_attribute("data-verifier-ready", "true")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def test_landlord_in_airplane_mode_verifies_valid_tampered_expired_and_revoked(
        page: Page, landlord: Page, live_server):
    sign_in(page, "clean")
    holder_url, valid = issue_offline(page, ("No active railway misconduct listing",))
    check_page(page)
    assert page.locator("#certificate-qr svg").count() == 1
    revoked_url, revoked = issue_offline(page)
    expired = expired_like(valid)

    open_verifier(landlord)
    check_page(landlord)
    # The holder revokes; the landlord's phone fetches lists while still online.
    page.goto(revoked_url)
    page.get_by_role("link", name="Revoke this certificate").click()
    page.get_by_role("button", name="Yes, revoke it").click()
    open_verifier(landlord)
    # A revocation after the phone went offline: it cannot know yet (the page says so).
    late_url, revoked_late = issue_offline(page)
    open_verifier(landlord)

    landlord.context.set_offline(True)
    page.goto(late_url)
    page.get_by_role("link", name="Revoke this certificate").click()
    page.get_by_role("button", name="Yes, revoke it").click()

    landlord.reload()  # the page itself comes from the service worker
    expect(landlord.locator("h1")).to_have_text("Check an offline credential")
    landlord.goto(f"/verify#{valid}")
    expect(landlord.locator("#verdict-title")).to_have_text(
        "Valid: signed by the issuer, not expired, not revoked")
    expect(landlord.locator(".verdict__statements li")).to_have_text(
        ["No active railway misconduct listing"])
    expect(landlord.locator("#verdict")).to_contain_text("陈*")
    expect(landlord.locator("[data-status-age]")).to_contain_text("Revocations known up to")
    check_page(landlord)

    assert verdict(landlord, tampered(valid)) == "Not valid"
    assert verdict(landlord, expired) == "Expired: ask the holder for a new one"
    assert verdict(landlord, revoked) == "Not valid"
    assert verdict(landlord, revoked_late).startswith("Valid"), (
        "revoked after the phone's newest list: not known offline, as the holder is told")
    # A URL scanned from the QR works as well as the bare credential.
    assert verdict(landlord, f"{live_server}/verify#{valid}").startswith("Valid")

    landlord.context.set_offline(False)
    open_verifier(landlord)
    assert verdict(landlord, revoked_late) == "Not valid", "known once the phone is online"
