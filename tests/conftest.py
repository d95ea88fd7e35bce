"""Shared fixtures: an app on its own temporary database, with the real seed catalog
and the demo personas, and a test client that checks every HTML page it fetches."""
import re
from datetime import date
from pathlib import Path

import html5lib
import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from credit_self import create_app
from credit_self.config import PROJECT_ROOT
from credit_self.db import connect, migrate
from credit_self.seeding import PERSONAS, create_personas, generate_population, load_catalog

SEED_DIR = PROJECT_ROOT / "seed"


def persona(name: str) -> dict:
    """The demo persona with this name (see `flask demo-accounts`)."""
    return next(p for p in PERSONAS if p["persona"] == name)


def check_page(html: str) -> BeautifulSoup:
    """Checks every HTML response must pass, in the style of notifications-admin.

    Full pages: the HTML parses without errors, exactly one <h1>, the <title> starts
    with the h1 (after an optional "Error:" prefix), every form has an action and a CSRF
    token when it posts, ids are unique, every visible field has a label.
    Fragments (htmx partials): parse, unique ids, labelled fields.
    """
    is_full_page = bool(re.match(r"\s*<!doctype html>", html, re.I))
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    if is_full_page:
        parser.parse(html)
    else:
        parser.parseFragment(html)
    soup = BeautifulSoup(html, "html.parser")
    if is_full_page:
        h1s = soup.find_all("h1")
        assert len(h1s) == 1, f"expected one <h1>, found {len(h1s)}"
        h1 = " ".join(h1s[0].get_text().split())
        title = " ".join(soup.title.get_text().split())
        title = re.sub(r"^(Error:|错误：)\s*", "", title)
        assert title.startswith(h1), f"title {title!r} does not start with h1 {h1!r}"
        assert soup.html.get("lang"), "<html> needs a lang attribute"
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    for form in soup.find_all("form"):
        assert form.get("action"), f"form without action: {form}"
        if form.get("method", "get").lower() == "post":
            assert form.find("input", attrs={"name": "csrf_token"}), "POST form without CSRF token"
    for field in soup.find_all(["input", "select", "textarea"]):
        if field.get("type") in ("hidden", "submit", "button"):
            continue
        assert field.get("id") and soup.find("label", attrs={"for": field["id"]}), (
            f"field without a label: {field}"
        )
    return soup


class CheckedClient(FlaskClient):
    """A test client whose GETs of HTML go through `check_page`."""

    def get(self, *args, **kwargs):
        response = super().get(*args, **kwargs)
        is_redirect = 300 <= response.status_code < 400
        if response.mimetype == "text/html" and not is_redirect:
            check_page(response.get_data(as_text=True))
        return response


def make_test_app(db_path: Path, **overrides):
    config = {
        "TESTING": True,
        "DATABASE": str(db_path),
        "SECRET_KEY": "test-secret",
        "RATELIMIT_ENABLED": False,
        # CSRF is tested on its own (csrf_app); other tests post forms directly.
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = CheckedClient
    return app


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """A seeded database built once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = connect(str(path))
    migrate(db)
    load_catalog(db, SEED_DIR)
    generate_population(db, 300, seed=7, today=date.today())
    create_personas(db, date.today())
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


@pytest.fixture
def db_path(tmp_path, seeded_template) -> Path:
    path = tmp_path / "app.db"
    path.write_bytes(seeded_template.read_bytes())
    return path


@pytest.fixture
def app(db_path):
    return make_test_app(db_path)


@pytest.fixture
def csrf_app(db_path):
    """The app with CSRF protection on, as in production."""
    return make_test_app(db_path, WTF_CSRF_ENABLED=True)


@pytest.fixture
def client(app) -> CheckedClient:
    return app.test_client()


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    yield database
    database.close()


class AuthActions:
    def __init__(self, client: FlaskClient):
        self._client = client

    def login(self, who: str = "defaulter", password: str | None = None):
        p = persona(who)
        return self._client.post(
            "/login",
            data={"id_number": p["id_number"], "password": password or p["password"]},
        )

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


STAFF = {  # demo staff accounts from credit_self.seeding.ADMIN_ACCOUNTS
    "pilot_admin": "demo-pilot-admin",
    "reviewer": "demo-reviewer",
    "superadmin": "demo-superadmin",
}


def staff_login(client: FlaskClient, role: str):
    """Sign in as the demo staff account of this role."""
    from credit_self.seeding import DEMO_PASSWORD

    return client.post("/admin/login", data={"username": STAFF[role], "password": DEMO_PASSWORD})
