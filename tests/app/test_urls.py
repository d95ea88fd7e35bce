"""Links: the app remembers relative URLs it has built (see CreditSelfApp.url_for).
A remembered URL must always be the one Flask would build for that request."""
from flask import Flask, url_for


def _flask_url(app, endpoint, **values):
    return Flask.url_for(app, endpoint, **values)


def test_remembered_urls_match_flask_under_any_mount_point(app):
    cases = [
        ("static", {"filename": "css/app.css"}),
        ("records.my_record", {}),
        ("records.entry_detail", {"entry_id": 7}),
        ("set_language", {"code": "zh_CN", "next": "/me?x=1&y=ä"}),
        ("pilots.opt_out", {"code": "rongcheng"}),
        ("records.my_record", {"b": "1", "a": "2"}),
        ("records.my_record", {"a": "2", "b": "1"}),  # query order as called
    ]
    for base_url in ("http://localhost/", "http://localhost/sub/", "https://example.org/other/"):
        for _ in range(2):  # the second round is served from memory
            with app.test_request_context("/", base_url=base_url):
                for endpoint, values in cases:
                    assert url_for(endpoint, **values) == _flask_url(app, endpoint, **values)
    with app.test_request_context("/", base_url="http://localhost/sub/"):
        assert url_for("static", filename="css/app.css") == "/sub/static/css/app.css"
        assert url_for("records.my_record", _external=True) == "http://localhost/sub/me"


def test_anchors_and_methods_are_part_of_the_remembered_url(app):
    with app.test_request_context("/"):
        plain = url_for("records.my_record")
        anchored = url_for("records.my_record", _anchor="entry-3")
        assert plain == "/me" and anchored == "/me#entry-3"
        assert url_for("records.my_record") == "/me"


def test_navigation_links_follow_the_mount_point_and_language(client, auth):
    # The navigation's links and labels, and the layout's static URLs, are worked out
    # once per language and mount point.
    from bs4 import BeautifulSoup

    auth.login("defaulter")

    def nav(**kwargs):
        page = BeautifulSoup(client.get("/me", **kwargs).get_data(as_text=True), "html.parser")
        return [(a["href"], a.get_text(strip=True)) for a in page.select(".main-nav__link")]

    plain = nav()
    assert ("/me", "Your record") in plain and ("/pilots", "Scoring pilots") in plain
    mounted = nav(base_url="http://localhost/sub/")
    assert [href for href, _ in mounted] == ["/sub" + href for href, _ in plain]
    # So are the layout's own stylesheet and scripts.
    page = client.get("/me", base_url="http://localhost/sub/").get_data(as_text=True)
    assert 'href="/sub/static/css/app.css"' in page and 'src="/sub/static/js/htmx.min.js"' in page
    assert 'href="/static/css/app.css"' in client.get("/me").get_data(as_text=True)
    chinese = nav(headers={"Accept-Language": "zh-CN"})
    assert [href for href, _ in chinese] == [href for href, _ in plain]
    assert ("/me", "Your record") not in chinese
    assert nav() == plain
