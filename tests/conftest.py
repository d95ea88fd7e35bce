"""Shared fixtures: an app on its own database (SQLite, or PostgreSQL when
CREDIT_SELF_TEST_DATABASE_URL names a server), with the real seed catalog and the demo
personas, and a test client that checks every HTML page it fetches.

`make test` runs the whole suite twice, once per engine (tests/run.py); a missing
server is a failure, never a skip.
"""
from __future__ import annotations

import itertools
import os
import re
from datetime import date, datetime
from pathlib import Path

import html5lib
import pyotp
import pytest
from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from credit_self import audit_keys, clock, create_app, schema
from credit_self.config import PROJECT_ROOT
from credit_self.db import engine_for, make_engine, normalised_url, sqlite_url
from credit_self.seeding import (ADMIN_ACCOUNTS, DEMO_PASSWORD, PERSONAS, create_personas,
                                 generate_population, load_catalog)

SEED_DIR = PROJECT_ROOT / "seed"
# A PostgreSQL server's admin URL (its `postgres` database): each test gets a database
# of its own, made from a seeded template.
POSTGRESQL_URL = os.environ.get("CREDIT_SELF_TEST_DATABASE_URL")
ON_POSTGRESQL = bool(POSTGRESQL_URL)


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


@pytest.fixture(scope="session", autouse=True)
def audit_signing_key(tmp_path_factory) -> Path:
    """Audit checkpoints are signed with a key made for this run, never instance/'s
    (apps, the seed and the servers browser and deployment tests start all read it)."""
    path = tmp_path_factory.mktemp("audit-key") / "audit-signing-key.pem"
    audit_keys.generate(path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(audit_keys.SETTING, str(path))
        yield path


# ------------------------------------------------------------------ databases

_counter = itertools.count(1)


def _admin(url: str) -> Connection:
    """A connection to a server's admin database for CREATE/DROP DATABASE (not pooled:
    closing it closes it)."""
    engine = create_engine(normalised_url(url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    return engine.connect()


def _database_url(admin_url: str, name: str) -> str:
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def seed_database(url: str) -> None:
    """Schema, catalog, a small population (300 residents, seed 7) and the personas."""
    engine = make_engine(url)
    schema.upgrade(engine)
    with engine.connect() as conn:
        load_catalog(conn, SEED_DIR)
        generate_population(conn, 300, seed=7, today=date.today())
        create_personas(conn, date.today())
    engine.dispose()


class Databases:
    """Copies of one seeded template: a file on SQLite, a database on PostgreSQL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        if ON_POSTGRESQL:
            self.template = f"cs_template_{os.getpid()}"
            with _admin(POSTGRESQL_URL) as admin:
                admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.template}"')
                admin.exec_driver_sql(f'CREATE DATABASE "{self.template}" TEMPLATE template0 '
                                      "ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'")
            seed_database(_database_url(POSTGRESQL_URL, self.template))
        else:
            self.template = str(directory / "template.db")
            seed_database(sqlite_url(self.template))

    def new(self, name: str | None = None) -> str:
        """A fresh seeded database; its URL."""
        if ON_POSTGRESQL:
            name = name or f"cs_test_{os.getpid()}_{next(_counter)}"
            with _admin(POSTGRESQL_URL) as admin:
                admin.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
            return _database_url(POSTGRESQL_URL, name)
        path = self.directory / f"{name or next(_counter)}.db"
        path.write_bytes(Path(self.template).read_bytes())
        return sqlite_url(path)

    def drop(self, url: str) -> None:
        if ON_POSTGRESQL:
            with _admin(POSTGRESQL_URL) as admin:
                admin.exec_driver_sql(
                    f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')

    def close(self) -> None:
        if ON_POSTGRESQL:
            with _admin(POSTGRESQL_URL) as admin:
                admin.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    made = Databases(tmp_path_factory.mktemp("databases"))
    yield made
    made.close()


@pytest.fixture
def database_url(databases) -> str:
    url = databases.new()
    yield url
    databases.drop(url)


_apps_made: list = []


@pytest.fixture(autouse=True)
def _close_test_apps():
    """Every app a test made closes its pooled connections when the test ends."""
    yield
    while _apps_made:
        engine_for(_apps_made.pop()).dispose()


def make_test_app(database_url: str, **overrides):
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "RATELIMIT_ENABLED": False,
        # CSRF is tested on its own (csrf_app); other tests post forms directly.
        "WTF_CSRF_ENABLED": False,
    }
    config.update(overrides)
    app = create_app(config)
    app.test_client_class = CheckedClient
    _apps_made.append(app)
    return app


@pytest.fixture
def app(database_url):
    return make_test_app(database_url)


@pytest.fixture
def csrf_app(database_url):
    """The app with CSRF protection on, as in production."""
    return make_test_app(database_url, WTF_CSRF_ENABLED=True)


@pytest.fixture
def client(app) -> CheckedClient:
    return app.test_client()


_QMARK = re.compile(r"'(?:[^']|'')*'|\?")


class DatabaseForTests:
    """The test's own connection to the app's database, in autocommit: what a test writes
    is committed at once, so the app's next request sees it.

    Data modules take it as their Connection. Tests' own SQL may use `?` placeholders
    with a list of values (converted to named parameters), and `query()` returns dicts.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.connection = self.engine.connect()

    def __getattr__(self, name):
        return getattr(self.connection, name)

    def _statement(self, statement, params):
        if not isinstance(statement, str):
            return statement, params
        names: list[str] = []

        def named(match: re.Match) -> str:
            if match.group(0) != "?":
                return match.group(0)
            names.append(f"p{len(names)}")
            return f":{names[-1]}"

        sql = _QMARK.sub(named, statement)
        if isinstance(params, (list, tuple)):
            params = dict(zip(names, params))
        return text(sql), params or {}

    def execute(self, statement, params=None, execution_options=None):
        statement, params = self._statement(statement, params)
        # Inside a transaction someone began (write_transaction, snapshot): theirs to end.
        began = self.connection.in_transaction()
        result = self.connection.execute(statement, params or {},
                                         execution_options=execution_options or {})
        if began:
            return result
        if result.returns_rows:
            frozen = result.freeze()
            self.connection.commit()
            return frozen()
        self.connection.commit()
        return result

    def query(self, statement, params=None) -> list[dict]:
        return [dict(row) for row in self.execute(statement, params).mappings()]

    def scalar(self, statement, params=None):
        return self.execute(statement, params).scalar()

    def table_names(self) -> list[str]:
        names = inspect(self.connection).get_table_names()
        self.connection.commit()
        return names

    def count(self, table: str) -> int:
        return self.scalar(f'SELECT count(*) FROM "{table}"')

    def close(self) -> None:
        self.connection.close()
        self.engine.dispose()


@pytest.fixture
def db(database_url):
    database = DatabaseForTests(database_url)
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


STAFF = {admin["role"]: admin["login"] for admin in ADMIN_ACCOUNTS}


STAFF_SECRETS = {admin["role"]: admin["totp_secret"] for admin in ADMIN_ACCOUNTS}


def unused_totp_code(conn: Connection, role: str, now: datetime) -> str:
    """A code from the demo account's authenticator app that the account has not used yet:
    the current step's, or the next one's (codes are accepted once, one step either
    side). When a test has spent both, the account's last step is moved back, standing in
    for waiting for the app's next code. `conn` must be able to write (engine.begin())."""
    totp = pyotp.TOTP(STAFF_SECRETS[role])
    account = "(SELECT id FROM accounts WHERE login = :login)"
    last = conn.execute(text(f"SELECT last_step FROM staff_totp WHERE account_id = {account}"),
                        {"login": STAFF[role]}).scalar()
    step = totp.timecode(now)
    if last is not None and last >= step + 1:
        conn.execute(text(f"UPDATE staff_totp SET last_step = :step WHERE account_id = {account}"),
                     {"step": step - 1, "login": STAFF[role]})
    elif last is not None and last >= step:
        step = last + 1
    return totp.generate_otp(step)


def staff_login(client: FlaskClient, role: str):
    """Sign in as the demo staff account of this role: the password, then a code from
    its authenticator app (the second step's answer is returned)."""
    reply = client.post("/admin/login", data={"username": STAFF[role], "password": DEMO_PASSWORD})
    if reply.status_code != 303 or not reply.location.endswith("/admin/login/code"):
        return reply
    app = client.application
    with app.app_context(), engine_for(app).begin() as conn:
        code = unused_totp_code(conn, role, clock.now())
    return client.post("/admin/login/code", data={"code": code})
