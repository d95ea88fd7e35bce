"""My record: banner, groups, entry details, htmx partials, other residents' entries."""
import re

from bs4 import BeautifulSoup

from credit_self import clock
from tests.conftest import persona


def soup(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def last_seq(db) -> int:
    """The audit log's last row so far (the seed already wrote some)."""
    return db.scalar("SELECT max(seq) FROM audit_log") or 0


def entry_ids(db, who):
    return [
        r["id"]
        for r in db.query("SELECT id FROM entries WHERE id_number = ? ORDER BY id",
                          [persona(who)["id_number"]])
    ]


def test_my_record_needs_sign_in(client):
    response = client.get("/me")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_clean_resident_sees_no_restrictions(client, auth):
    auth.login("clean")
    page = soup(client.get("/me"))
    assert "No active restrictions" in page.find(id="restrictions-title").get_text()
    for group in ("group-active", "group-expired", "group-closed"):
        assert "(0)" in page.find(id=group).get_text()


def test_defaulter_sees_restrictions_in_plain_words(client, auth):
    auth.login("defaulter")
    page = soup(client.get("/me"))
    banner = page.find(id="restrictions-title").find_parent("section")
    assert re.search(r"\d+ restrictions apply", banner.get_text())
    text = banner.get_text()
    assert "air" in text.lower()  # flight ban
    assert "train" in text.lower() or "rail" in text.lower()
    # every group has entries for this persona
    for group in ("group-active", "group-expired", "group-closed"):
        assert "(0)" not in page.find(id=group).get_text()


def test_entry_cards_show_list_kind_and_dates(client, auth, db):
    auth.login("defaulter")
    page = soup(client.get("/me"))
    active = page.find(id="group-active").find_parent("section")
    cards = active.find_all("article")
    assert cards, "active entries are listed"
    first = cards[0]
    assert first.find(class_="tag").get_text(strip=True) == "Blacklist"
    assert "Listed on" in first.get_text()
    link = first.find("a", attrs={"hx-get": True})
    assert link["href"] == link["hx-get"]  # same URL with and without JavaScript


def test_entry_detail_is_a_partial_for_htmx_and_a_page_otherwise(client, auth, db):
    auth.login("defaulter")
    entry_id = entry_ids(db, "defaulter")[0]
    partial = client.get(f"/me/entries/{entry_id}", headers={"HX-Request": "true"})
    text = partial.get_data(as_text=True)
    assert "<html" not in text and f'id="entry-{entry_id}"' in text
    for label in ("Kept by", "Legal basis", "What was recorded", "Document number", "Listed on",
                  "Ends", "What it stops you doing", "What you can do"):
        assert label in text
    full = client.get(f"/me/entries/{entry_id}")
    assert "<html" in full.get_data(as_text=True)
    assert partial.headers["Vary"].count("HX-Request") == 1
    collapsed = client.get(f"/me/entries/{entry_id}?view=summary", headers={"HX-Request": "true"})
    assert "Show details" in collapsed.get_data(as_text=True)


def test_boosted_requests_get_full_pages(client, auth, db):
    auth.login("defaulter")
    entry_id = entry_ids(db, "defaulter")[0]
    response = client.get(
        f"/me/entries/{entry_id}", headers={"HX-Request": "true", "HX-Boosted": "true"}
    )
    assert "<html" in response.get_data(as_text=True)


def test_open_ended_entry_says_until_obligations_fulfilled(client, auth, db):
    auth.login("defaulter")
    open_ended = [
        r["id"]
        for r in db.query(
            "SELECT id FROM entries WHERE id_number = ? AND expires_on IS NULL AND status = 'listed'",
            [persona("defaulter")["id_number"]],
        )
    ]
    assert open_ended
    text = client.get(f"/me/entries/{open_ended[0]}").get_data(as_text=True)
    assert "until the obligations are fulfilled" in text


def test_entry_expiring_soon_is_called_out_with_days_left(client, auth, db):
    auth.login("train_expiring")
    page = soup(client.get("/me"))
    notice = page.find(id="expiring-title").find_parent("section").get_text()
    assert re.search(r"\d+ days? left", notice)


def test_only_expired_entries_means_no_restrictions(client, auth):
    auth.login("expired_only")
    page = soup(client.get("/me"))
    assert "No active restrictions" in page.get_text()
    assert "(0)" in page.find(id="group-active").get_text()
    assert "(0)" not in page.find(id="group-expired").get_text()


def test_three_priority_scrutiny_entries_show_the_flag(client, auth):
    auth.login("focus_three")
    page = soup(client.get("/me"))
    flag = page.find(id="focus-title")
    assert flag is not None
    section = flag.find_parent("section")
    assert "3 priority-scrutiny lists" in section.get_text()
    assert len(section.find_all("li")) == 3


def test_no_flag_below_three(client, auth):
    auth.login("defaulter")
    assert soup(client.get("/me")).find(id="focus-title") is None


def test_mix_up_shows_recorded_identifiers_that_differ(client, auth, db):
    auth.login("mixup")
    entry_id = entry_ids(db, "mixup")[0]
    text = client.get(f"/me/entries/{entry_id}").get_data(as_text=True)
    assert "may have confused you with someone else" in text
    assert "recorded" in text and "register" in text


def test_another_residents_entry_is_404_and_audited_as_the_probers_event(client, auth, db):
    auth.login("clean")
    others = entry_ids(db, "defaulter")
    start = last_seq(db)
    response = client.get(f"/me/entries/{others[0]}")
    assert response.status_code == 404
    htmx = client.get(f"/me/entries/{others[0]}", headers={"HX-Request": "true"})
    assert htmx.status_code == 404
    refused = db.query("SELECT * FROM audit_log WHERE action = 'entry_read_refused' "
                       "AND seq > ? ORDER BY seq", [start])
    assert len(refused) == 2
    assert refused[0]["subject"] == persona("clean")["id_number"]  # the prober, not the owner
    assert refused[0]["actor"] == f"resident:{persona('clean')['id_number']}"


def test_own_reads_are_not_logged_as_access(client, auth, db):
    start = last_seq(db)
    auth.login("defaulter")
    client.get("/me")
    client.get(f"/me/entries/{entry_ids(db, 'defaulter')[0]}")
    actions = {r["action"] for r in db.query("SELECT action FROM audit_log WHERE seq > ?",
                                             [start])}
    assert actions == {"signed_in"}


def test_statements_and_facts_are_escaped(client, auth, db):
    p = persona("clean")
    db.execute(
        "UPDATE entries SET facts_en = ? WHERE id = ?",
        ["<script>alert(1)</script>", entry_ids(db, "defaulter")[0]],
    )
    db.execute("UPDATE entries SET id_number = ? WHERE id = ?", [p["id_number"], entry_ids(db, "defaulter")[0]])
    auth.login("clean")
    eid = entry_ids(db, "clean")[0]
    text = client.get(f"/me/entries/{eid}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def _active_list_codes(db, who):
    today = clock.today().isoformat()
    return [r["list_code"] for r in db.query(
        "SELECT list_code FROM entries WHERE id_number = ? AND status = 'listed' "
        "AND (expires_on IS NULL OR expires_on > ?) AND listed_on <= ? "
        "ORDER BY listed_on DESC", [persona(who)["id_number"], today, today])]


def test_a_catalog_change_shows_on_the_next_page(client, auth, db):
    # Each process keeps the catalog in memory; a change made elsewhere (here straight
    # in SQL, as another worker or `flask seed` would) must still show at once.
    auth.login("defaulter")
    assert "Renamed list" not in client.get("/me").get_data(as_text=True)
    code = _active_list_codes(db, "defaulter")[0]
    db.execute("UPDATE lists SET name_en = 'Renamed list' WHERE code = ?", [code])
    assert "Renamed list" in client.get("/me").get_data(as_text=True)


def test_a_sanction_unlinked_from_a_list_leaves_the_banner(client, auth, db):
    auth.login("defaulter")
    banner = soup(client.get("/me")).find(id="restrictions-title").find_parent("section")
    assert "air" in banner.get_text().lower()
    db.execute(
        "DELETE FROM list_sanctions WHERE sanction_code IN "
        "(SELECT code FROM sanctions WHERE description_en LIKE '%air%')"
    )
    banner = soup(client.get("/me")).find(id="restrictions-title").find_parent("section")
    assert "air" not in banner.get_text().lower()
