"""Told before it counts and told when it changes: notice periods (`publish_on`) on
department feeds, and one inbox message in plain words for every new or changed entry."""
import io
from datetime import datetime, timedelta, timezone

import pytest
from bs4 import BeautifulSoup

from credit_self import signals
from credit_self.corrections import data
from credit_self.certificates import store, tokens
from credit_self.db import engine_for, write_transaction
from tests.conftest import AuthActions, make_test_app, persona, staff_login

CLEAN = persona("clean")
T0 = datetime(2026, 12, 3, 2, 0, tzinfo=timezone.utc)  # 3 December, 10:00 in Shanghai
AFTER_NOTICE = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)
HEADER = "id_number,name,facts,document_no,listed_on,expires_on,source_agency"


@pytest.fixture
def app(database_url):
    return make_test_app(database_url, NOW=T0)


def feed(tmp_path, *rows, header=HEADER):
    path = tmp_path / "feed.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def railway_row(doc="沪铁公（2026）1号", publish_on=None):
    row = f"{CLEAN['id_number']},{CLEAN['name']},持无效车票乘车,{doc},2026-12-01,2027-12-01,上海铁路公安局"
    return row if publish_on is None else f"{row},{publish_on}"


def import_list(app, path):
    return app.test_cli_runner().invoke(args=["import-list", str(path), "--list", "railway_misconduct"])


def issue_certificate(app, at):
    with engine_for(app).connect() as conn, write_transaction(conn):
        certificate = store.create(conn, CLEAN["id_number"], "rental", None, at, timedelta(days=7))
    return tokens.make_token([app.config["SECRET_KEY"]], certificate["id"], tokens.PRINT, at)


def test_a_listing_with_a_notice_period_counts_only_from_publish_on(app, database_url, db, tmp_path):
    result = import_list(app, feed(tmp_path, railway_row(publish_on="2026-12-05"),
                                   header=HEADER + ",publish_on"))
    assert result.exit_code == 0, result.output
    assert db.scalar("SELECT publish_on FROM entries WHERE document_no = ?",
                     ["沪铁公（2026）1号"]) == "2026-12-05"
    token = issue_certificate(app, T0)
    client = app.test_client()
    AuthActions(client).login("clean")
    me = client.get("/me").get_data(as_text=True)
    assert "Notice: takes effect on 5 December 2026" in me
    assert "No active restrictions" in me
    assert client.get(f"/api/v1/verify/{token}").json["verdict"] == "valid"
    entry = db.scalar("SELECT id FROM entries WHERE document_no = ?", ["沪铁公（2026）1号"])
    # It can be objected to while it is a notice.
    assert client.get(f"/me/entries/{entry}/correction").status_code == 200
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "You were added to the Railway passenger misconduct list by 上海铁路公安局." in inbox
    assert "From 5 December 2026:" in inbox and "you can object now" in inbox
    link = BeautifulSoup(inbox, "html.parser").select_one(f'a[href="/me/entries/{entry}/correction"]')
    assert link is not None and "Object to this entry" in link.get_text(), inbox[inbox.find("<main"):]

    later = make_test_app(database_url, NOW=AFTER_NOTICE)
    later_client = later.test_client()
    AuthActions(later_client).login("clean")
    me = later_client.get("/me").get_data(as_text=True)
    assert "Notice: takes effect" not in me and "No active restrictions" not in me
    assert later_client.get(f"/api/v1/verify/{token}").json["verdict"] == "not_valid"


def test_without_publish_on_an_entry_takes_effect_on_its_listing_date(app, db, tmp_path):
    assert import_list(app, feed(tmp_path, railway_row())).exit_code == 0
    assert db.scalar("SELECT publish_on FROM entries WHERE document_no = ?",
                     ["沪铁公（2026）1号"]) is None
    client = app.test_client()
    AuthActions(client).login("clean")
    me = client.get("/me").get_data(as_text=True)
    assert "Notice: takes effect" not in me and "No active restrictions" not in me
    assert "From 1 December 2026:" in client.get("/inbox").get_data(as_text=True)


@pytest.mark.parametrize("publish_on, output", [
    ("2026-12-02", "publish_before_import"),
    ("2026-12-32", "bad_date"),
])
def test_publish_on_before_the_import_date_is_refused(app, db, tmp_path, publish_on, output):
    result = import_list(app, feed(tmp_path, railway_row(publish_on=publish_on),
                                   header=HEADER + ",publish_on"))
    assert result.exit_code != 0 and output in result.output
    assert db.scalar("SELECT COUNT(*) FROM entries WHERE document_no = ?", ["沪铁公（2026）1号"]) == 0


def _upload_with_publish_on(app, publish_on: str) -> str:
    """The admin upload page after sending one railway row with this publish_on."""
    client = app.test_client()
    staff_login(client, "superadmin")
    text = "\n".join([HEADER + ",publish_on", railway_row(publish_on=publish_on)]) + "\n"
    return client.post("/admin/imports", data={
        "list_code": "railway_misconduct",
        "feed": (io.BytesIO(text.encode()), "feed.csv")}, content_type="multipart/form-data",
        follow_redirects=True).get_data(as_text=True)


def test_the_admin_upload_words_the_publish_on_refusal(app, db):
    page = _upload_with_publish_on(app, "2026-11-30")
    assert "a notice period must start on or after the import date" in page


def test_every_inbox_message_is_also_announced_for_other_channels(app, tmp_path):
    told = []

    def listener(_sender, **kw):
        told.append((kw["id_number"], kw["kind"]))

    signals.resident_told.connect(listener)
    try:
        assert import_list(app, feed(tmp_path, railway_row())).exit_code == 0
    finally:
        signals.resident_told.disconnect(listener)
    assert told == [(CLEAN["id_number"], "entry_added")]


def _threads(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [" ".join(card.get_text(" ").split()) for card in soup.select("article.message")]


def _withdraw_by_decision(db, who: str, list_code: str, now: datetime) -> str:
    """File an objection to the resident's entry and uphold it (withdrawn); its reference."""
    id_number = persona(who)["id_number"]
    entry = db.scalar("SELECT id FROM entries WHERE id_number = ? AND list_code = ?",
                      [id_number, list_code])
    filed = data.file_correction(db, id_number, entry, data.OBJECTION, "not_me",
                                 "The ticket record is another passenger's, not mine.", "", False,
                                 now, now.date(), f"resident:{id_number}")
    data.start_review(db, filed["id"], now, "reviewer:demo-reviewer")
    data.decide(db, filed["id"], "uphold", "Another passenger.", "withdraw", None, None, now,
                "reviewer:demo-reviewer")
    return filed["reference"]


def test_a_decision_is_one_thread_saying_how_many_restrictions_were_lifted(app, db):
    reference = _withdraw_by_decision(db, "train_expiring", "railway_misconduct", T0)
    client = app.test_client()
    AuthActions(client).login("train_expiring")
    threads = _threads(client.get("/inbox").get_data(as_text=True))
    about = [t for t in threads if reference in t]
    assert len(about) == 1, threads  # submitted, in review, upheld, entry withdrawn: one thread
    thread = about[0]
    for words in ("Submitted", "In review", "Upheld",
                  "Your entry on the Railway passenger misconduct list was withdrawn.",
                  "1 restriction was lifted.", f"This follows your correction {reference}."):
        assert words in thread


def test_a_restriction_another_entry_still_imposes_is_not_counted_as_lifted(app, db):
    # Of the 9 restrictions of restricted consumption, 7 also come with the resident's
    # judgment-defaulter entry: only 2 (vehicles, luxury offices) end.
    _withdraw_by_decision(db, "defaulter", "restricted_consumption", T0)
    client = app.test_client()
    AuthActions(client).login("defaulter")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "2 restrictions were lifted." in inbox and "9 restrictions" not in inbox


def test_an_entry_that_ended_is_told_with_the_restrictions_it_lifted(database_url, db):
    ends = db.scalar("SELECT expires_on FROM entries WHERE id_number = ? AND list_code = ?",
                     [persona("train_expiring")["id_number"], "railway_misconduct"])
    day_after = datetime.fromisoformat(ends).replace(hour=2, tzinfo=timezone.utc)
    later = make_test_app(database_url, NOW=day_after)
    client = later.test_client()
    AuthActions(client).login("train_expiring")
    threads = _threads(client.get("/inbox").get_data(as_text=True))
    ended = [t for t in threads if "An entry about you ended" in t]
    assert len(ended) == 1
    assert "Railway passenger misconduct ended on" in ended[0] and "1 restriction was lifted." in ended[0]
    # Told once: opening the inbox again adds nothing.
    again = _threads(client.get("/inbox").get_data(as_text=True))
    assert len([t for t in again if "An entry about you ended" in t]) == 1


# ---------------------------------------------------------------- entries in every state


def _card(client, entry_id: int, path: str = "/me") -> str:
    """The entry's card on /me, or the main part of its own page."""
    soup = BeautifulSoup(client.get(path).get_data(as_text=True), "html.parser")
    found = soup.select_one(f"#entry-{entry_id}" if path == "/me" else "main")
    return " ".join(found.get_text(" ").split())


def _entry(db, who: str, list_code: str, status: str | None = None) -> int:
    statement = "SELECT id FROM entries WHERE id_number = ? AND list_code = ?"
    params = [persona(who)["id_number"], list_code]
    if status:
        statement += " AND status = ?"
        params.append(status)
    return db.scalar(statement, params)


def test_a_withdrawn_entry_says_when_why_and_by_whose_decision(app, db):
    client = app.test_client()
    AuthActions(client).login("defaulter")
    entry = _entry(db, "defaulter", "aviation_misconduct", "withdrawn")
    for text in (_card(client, entry), _card(client, entry, f"/me/entries/{entry}")):
        # The department's reason, as it wrote it (the seeded feeds write Chinese).
        assert "Withdrawn on" in text and "列入有误：经复核，该决定已被撤销。" in text
        assert "Decision Withdrawn by" in text
        assert "Ends" not in text and "No end date" not in text


def test_an_entry_withdrawn_on_a_correction_names_the_decision(app, db):
    reference = _withdraw_by_decision(db, "train_expiring", "railway_misconduct", T0)
    client = app.test_client()
    AuthActions(client).login("train_expiring")
    entry = _entry(db, "train_expiring", "railway_misconduct")
    text = _card(client, entry)
    assert "Withdrawn on 3 December 2026" in text
    assert f"Your correction {reference} was upheld" in text and "Another passenger." in text
    assert "days left" not in text and "Ends" not in text
    link = BeautifulSoup(client.get("/me").get_data(as_text=True), "html.parser").select_one(
        f"#entry-{entry} a[href^='/corrections/']")
    assert link is not None and reference in link.get_text()


def test_an_expired_entry_gives_the_day_it_ended(app, db):
    client = app.test_client()
    AuthActions(client).login("defaulter")
    entry = _entry(db, "defaulter", "railway_misconduct")
    ended = db.scalar("SELECT expires_on FROM entries WHERE id = ?", [entry])
    text = _card(client, entry)
    day = datetime.fromisoformat(ended)
    assert f"Ended on {day.day} {day:%B %Y}" in text and "days ago" not in text


def test_the_mix_up_box_and_the_prefilled_statement_speak_in_words(app, db):
    client = app.test_client()
    AuthActions(client).login("mixup")
    entry = _entry(db, "mixup", "judgment_defaulter")
    box = BeautifulSoup(client.get(f"/me/entries/{entry}").get_data(as_text=True),
                        "html.parser").select_one(".notice--warning").get_text(" ")
    box = " ".join(box.split())
    assert "Sex: the department recorded female; the register says male" in box
    assert ("Home district: the department recorded Minhang District (310112); "
            "the register says Pudong New Area (310115)") in box
    assert "recorded F" not in box
    chinese = BeautifulSoup(client.get(f"/me/entries/{entry}", headers={"Accept-Language": "zh-CN"})
                            .get_data(as_text=True), "html.parser").select_one(".notice--warning")
    assert "女" in chinese.get_text() and "闵行区" in chinese.get_text()
    # The pre-filled "not me" statement too.
    open_one = db.scalar("SELECT id FROM corrections WHERE entry_id = ? AND status = 'submitted'", [entry])
    data.withdraw(db, persona("mixup")["id_number"], open_one, T0, "resident:test")
    form = BeautifulSoup(client.get(f"/me/entries/{entry}/correction?reason=not_me")
                         .get_data(as_text=True), "html.parser")
    statement = form.select_one("#statement").get_text()
    assert "sex: recorded female, but mine is male" in statement
    assert "home district: recorded Minhang District (310112), but mine is Pudong New Area (310115)" in statement


def test_the_admin_upload_shows_when_a_noticed_entry_takes_effect(app, db):
    page = _upload_with_publish_on(app, "2026-12-20")
    assert "takes effect on 20 December 2026" in page


def test_the_reviewer_sees_the_mix_up_in_words_too(client, db):
    correction = db.scalar("SELECT id FROM corrections WHERE id_number = ?", [persona("mixup")["id_number"]])
    staff_login(client, "reviewer")
    box = BeautifulSoup(client.get(f"/admin/corrections/{correction}").get_data(as_text=True),
                        "html.parser").select_one("main .notice--warning").get_text(" ")
    assert "Sex: recorded female, register male" in " ".join(box.split())
    assert ("Home district: recorded Minhang District (310112), register Pudong New Area (310115)"
            in " ".join(box.split()))


def test_a_feed_change_with_no_decision_behind_it_reads_in_the_inbox(app, db):
    """A department changes only the facts of an entry: the message has no status, no
    count of lifted restrictions and no correction, and the inbox still shows it."""
    defaulter = persona("defaulter")
    entry = db.scalar("SELECT id FROM entries WHERE id_number = ? ORDER BY id",
                      [defaulter["id_number"]])
    with engine_for(app).connect() as conn, write_transaction(conn):
        data.note_entry_change(conn, entry, defaulter["id_number"], "changed",
                               {"facts_en": ("old facts", "new facts")},
                               datetime.now(timezone.utc).isoformat(timespec="seconds"), None,
                               datetime.now(timezone.utc).date())
    client = app.test_client()
    AuthActions(client).login("defaulter")
    for language, words in (("zh_CN", "中的条目有以下变更："), ("en", "list was changed:")):
        client.set_cookie("lang", language)
        response = client.get("/inbox")
        assert response.status_code == 200, language
        assert words in response.get_data(as_text=True), language
