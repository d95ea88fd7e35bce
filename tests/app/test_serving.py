"""What reaches the app at all: request size limits and trusted host names."""
from tests.conftest import make_test_app, staff_login

MEGABYTE = 1024 * 1024


def test_a_body_over_the_limit_is_refused_with_a_friendly_413_in_both_languages(client):
    english = "That was too much to send"
    for language in ("en", "zh_CN"):
        client.set_cookie("lang", language)
        with client.post("/login", data={"id_number": "x" * (7 * MEGABYTE),
                                         "password": "y"}) as answer:  # closes its input
            assert answer.status_code == 413
            page = answer.get_data(as_text=True)
        assert (english in page) == (language == "en"), "the page speaks the reader's language"
        assert "<h1>" in page


def test_an_anonymous_post_is_refused_before_it_is_read(client, db):
    before = db.scalar("SELECT max(seq) FROM audit_log")
    with client.post("/login", data=b"a" * (50 * MEGABYTE),
                     content_type="application/x-www-form-urlencoded") as answer:
        assert answer.status_code == 413
    assert db.scalar("SELECT max(seq) FROM audit_log") == before, "nothing was processed"


def _multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client would spool a large one to a
    temporary file that it never closes)."""
    boundary = "credit-self-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
             .encode() for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="feed"; '
                 f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                 + content + f"\r\n--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def test_staff_may_upload_a_list_feed_larger_than_a_residents_limit(client):
    staff_login(client, "superadmin")
    feed = b"id_number,name,facts,document_no,listed_on,expires_on,source_agency\n" + \
        b"x" * (8 * MEGABYTE)
    body, content_type = _multipart({"list_code": "railway_misconduct"}, "feed.csv", feed)
    answer = client.post("/admin/imports", data=body, content_type=content_type)
    assert answer.status_code == 200  # read and checked (its rows are rejected), not 413
    assert "longer than 10,000 characters" in answer.get_data(as_text=True)


def test_a_forged_host_is_refused_and_never_reaches_a_qr_code(client, auth):
    auth.login("clean")
    answer = client.get("/certificates", headers={"Host": "evil.example"})
    assert answer.status_code == 400
    assert b"evil.example" not in answer.data


def test_the_public_address_decides_what_qr_codes_say(database_url):
    app = make_test_app(database_url, PUBLIC_BASE_URL="https://credit.example.gov.cn",
                        TRUSTED_HOSTS=["credit.example.gov.cn", "localhost"])
    client = app.test_client()
    from tests.conftest import persona

    clean = persona("clean")
    client.post("/login", data={"id_number": clean["id_number"], "password": clean["password"]})
    for mode, address in [("online", "/v/"), ("offline", "/verify#")]:
        issued = client.post("/certificates", data={"statements": ["no_blacklist"], "mode": mode,
                                                    "purpose": "rental", "hours": "24"})
        assert issued.status_code == 303
        page = client.get(issued.headers["Location"] + "/print").get_data(as_text=True)
        assert f"https://credit.example.gov.cn{address}" in page
        assert f"localhost{address}" not in page
