"""Security headers, CSRF, error pages, strict templates."""
import json
import re

import jinja2
import pytest
from flask import render_template_string

from credit_self.db import engine_for
from tests.conftest import make_test_app, persona, staff_login


def form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in_with(client, token: str):
    p = persona("clean")
    return client.post(
        "/login", data={"csrf_token": token, "id_number": p["id_number"], "password": p["password"]}
    )


@pytest.fixture
def app_with(database_url):
    """Make an app on the test's database with other settings."""
    made = []

    def make(**config):
        made.append(make_test_app(database_url, **config))
        return made[-1]

    yield make
    for app in made:
        engine_for(app).dispose()


PAGES = ["/", "/login", "/activate"]


@pytest.mark.parametrize("path", PAGES + [
    "/does-not-exist", "/me", "/v/not-a-token", "/api/v1/verify/x", "/api/v1/openapi.json",
])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy",
                 "X-Content-Type-Options", "Cache-Control", "Permissions-Policy",
                 "Cross-Origin-Opener-Policy"):
        assert len(response.headers.getlist(name)) == 1, f"{name} sent {response.headers.getlist(name)}"
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    if "<script" in response.get_data(as_text=True):  # pages: their scripts, by nonce
        assert "script-src 'self' 'nonce-" in csp
    else:  # JSON and redirects render no page, so allow no inline script at all
        assert "script-src 'self';" in csp and "nonce-" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_https_responses_ask_browsers_to_stay_on_https(client, app_with):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]
    # Behind one proxy that terminates TLS, the forwarded scheme counts.
    proxied = app_with(PROXY_COUNT=1).test_client()
    answer = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]
    assert "Strict-Transport-Security" not in proxied.get("/login").headers


def test_error_and_static_responses_carry_the_headers_too(client):
    with client.get("/static/css/app.css") as static:
        assert static.headers["X-Frame-Options"] == "DENY"
        assert len(static.headers.getlist("Cache-Control")) == 1
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_built_from_the_session_say_so_to_caches(client, auth):
    # Every page reads the session (who is signed in), so shared caches must key on the
    # cookie as well as on htmx; said once each, whether or not a cookie is sent.
    def vary(response):
        return [v.strip() for v in ",".join(response.headers.getlist("Vary")).split(",")]

    assert sorted(vary(client.get("/login"))) == ["Accept-Encoding", "Cookie", "HX-Request"]
    signing_in = auth.login("defaulter")
    assert "Set-Cookie" in signing_in.headers and vary(signing_in).count("Cookie") == 1
    page = client.get("/me")
    assert "Set-Cookie" not in page.headers
    assert sorted(vary(page)) == ["Accept-Encoding", "Cookie", "HX-Request"]
    partial = client.get("/me", headers={"HX-Request": "true"})
    assert sorted(vary(partial)) == ["Accept-Encoding", "Cookie", "HX-Request"]


def test_every_script_tag_carries_the_nonce(client):
    response = client.get("/login")
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    html = response.get_data(as_text=True)
    assert html.count("<script") == html.count(f'nonce="{nonce}"') > 0
    # htmx comes with its locked-down configuration: no eval, no requests elsewhere.
    config = json.loads(html.split('name="htmx-config" content=\'')[1].split("'>")[0])
    assert config["allowEval"] is False and config["selfRequestsOnly"] is True


def test_personal_pages_are_not_cached(client, auth):
    auth.login("defaulter")
    assert client.get("/me").headers["Cache-Control"] == "no-store"


def test_static_files_are_cacheable(client):
    with client.get("/static/css/app.css") as response:
        assert response.status_code == 200 and response.headers.get("Cache-Control") != "no-store"


def test_htmx_is_served_locally(client):
    with client.get("/static/js/htmx.min.js") as response:
        assert response.status_code == 200 and b"htmx" in response.data
    assert "https://" not in client.get("/login").get_data(as_text=True).split("<body")[0]


@pytest.fixture
def csrf_client(csrf_app):
    return csrf_app.test_client()


def test_post_without_csrf_token_is_refused_and_changes_nothing(csrf_client, db):
    audited = db.scalar("SELECT max(seq) FROM audit_log")
    new = persona("new_resident")
    response = csrf_client.post(
        "/activate", data={"id_number": new["id_number"], "name": new["name"]}
    )
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    p = persona("clean")
    response = csrf_client.post("/login", data={"id_number": p["id_number"], "password": p["password"]})
    assert response.status_code == 400
    assert csrf_client.get("/me").status_code == 302
    assert db.scalar("SELECT max(seq) FROM audit_log") == audited


def test_htmx_post_without_token_is_refused_too(csrf_client):
    response = csrf_client.post("/logout", headers={"HX-Request": "true"})
    assert response.status_code == 400


def test_post_with_token_from_the_form_works(csrf_client):
    token = form_token(csrf_client.get("/login").get_data(as_text=True))
    assert sign_in_with(csrf_client, token).status_code == 303
    # htmx requests may send the token as a header instead
    token = form_token(csrf_client.get("/me").get_data(as_text=True))
    response = csrf_client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303


def test_signing_in_starts_a_new_csrf_secret(csrf_client):
    """A token seen before sign-in (e.g. planted by someone else) is useless after it;
    the new session carries its secret from the start, so pages do not rewrite it."""
    before = form_token(csrf_client.get("/login").get_data(as_text=True))
    assert sign_in_with(csrf_client, before).status_code == 303
    first_page = csrf_client.get("/me")
    assert "Set-Cookie" not in first_page.headers
    assert csrf_client.post("/logout", data={"csrf_token": before}).status_code == 400
    after = form_token(first_page.get_data(as_text=True))
    assert csrf_client.post("/logout", data={"csrf_token": after}).status_code == 303


def test_account_forms_need_the_token_too(csrf_client):
    """A page elsewhere cannot sign a resident out everywhere or change their password."""
    p = persona("clean")
    token = form_token(csrf_client.get("/login").get_data(as_text=True))
    assert sign_in_with(csrf_client, token).status_code == 303
    assert csrf_client.post("/account/sign-out-everywhere").status_code == 400
    change = {"current_password": p["password"], "password": "a-brand-new-password",
              "password_confirm": "a-brand-new-password"}
    assert csrf_client.post("/account", data=change).status_code == 400
    assert csrf_client.get("/me").status_code == 200
    token = form_token(csrf_client.get("/account").get_data(as_text=True))
    assert csrf_client.post("/account", data={**change, "csrf_token": token}).status_code == 303


def test_undefined_template_variables_raise(app):
    with app.test_request_context():
        with pytest.raises(jinja2.UndefinedError):
            render_template_string("{{ no_such_variable }}")
        with pytest.raises(jinja2.UndefinedError):
            render_template_string("{{ row.missing }}", row={"present": 1})


def test_friendly_404_in_both_languages(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")
    assert "页面不存在" in client.get("/nowhere").get_data(as_text=True)


def test_friendly_403_for_staff_on_resident_pages(client):
    assert staff_login(client, "reviewer").status_code == 303
    response = client.get("/me")
    assert response.status_code == 403 and "You cannot see this page" in response.get_data(as_text=True)


def test_friendly_500_page(app_with):
    app = app_with(TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in response.get_data(as_text=True)
    assert "RuntimeError" not in response.get_data(as_text=True)


def test_language_switch_only_redirects_locally(client):
    response = client.get("/language/zh_CN?next=/login")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "lang=zh_CN" in response.headers["Set-Cookie"]
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        assert client.get(f"/language/en?next={target}").headers["Location"] == "/"
