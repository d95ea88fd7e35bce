"""Text messages to residents' phones: every message leaves through `send`, and the
configuration chooses the sender (CREDIT_SELF_SMS_SENDER, or CREDIT_SELF_SMS_URL alone
for `http`).

- `outbox` (the default): the message is stored in `sms_outbox` and goes nowhere else.
  Demos read it at `/dev/sms` (demo mode only) or with `flask sms-outbox`; tests read
  codes from it.
- `http`: the production shape. Each message is POSTed as JSON `{"phone", "text"}` to
  CREDIT_SELF_SMS_URL (a gateway or a small adapter in front of a carrier's API), with
  `Authorization: Bearer <CREDIT_SELF_SMS_TOKEN>` when a token is set; any 2xx
  answer means accepted. Nothing is stored here, so no code is kept in clear anywhere.
"""
from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import click
from flask import Flask, current_app, render_template, request
from flask.cli import with_appcontext
from sqlalchemy import Connection

from . import clock
from .db import engine_for, get_db, insert, rows, write_transaction

SENDERS = ("outbox", "http")
HTTP_TIMEOUT_SECONDS = 5.0
PAGE_LIMIT = 100


class SmsNotSent(Exception):
    """The gateway did not accept the message."""


class Sender(Protocol):
    def send(self, conn: Connection, phone: str, text: str, at: str) -> None: ...


class OutboxSender:
    """Keeps each message in `sms_outbox` (its own transaction, or the caller's)."""

    def send(self, conn: Connection, phone: str, text: str, at: str) -> None:
        with write_transaction(conn):
            insert(conn, "sms_outbox", {"phone": phone, "text": text, "created_at": at})


@dataclass(frozen=True)
class HttpSender:
    """POSTs each message to a gateway; raises SmsNotSent unless it answers 2xx."""

    url: str
    token: str | None = None
    timeout: float = HTTP_TIMEOUT_SECONDS

    def send(self, conn: Connection, phone: str, text: str, at: str) -> None:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps({"phone": phone, "text": text}, ensure_ascii=False).encode()
        message = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            # The scheme was checked when the sender was made: http or https only.
            with urllib.request.urlopen(message, timeout=self.timeout) as answer:
                answer.read()
        except OSError as failure:  # URLError and HTTPError (a non-2xx answer) included
            raise SmsNotSent(f"{self.url}: {failure}") from failure


def sender_for(config: dict) -> Sender:
    """The sender SMS_SENDER names (SMS_HTTP_URL and SMS_HTTP_TOKEN for `http`)."""
    kind = config.get("SMS_SENDER") or "outbox"
    if kind == "outbox":
        return OutboxSender()
    if kind == "http":
        url = config.get("SMS_HTTP_URL") or ""
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ValueError("CREDIT_SELF_SMS_SENDER=http needs CREDIT_SELF_SMS_URL, "
                             "an http:// or https:// address")
        return HttpSender(url, config.get("SMS_HTTP_TOKEN"))
    raise ValueError(f"CREDIT_SELF_SMS_SENDER must be one of {', '.join(SENDERS)}, not {kind!r}")


def send(conn: Connection, phone: str, text: str) -> None:
    """Send one text message through the app's sender (raises SmsNotSent)."""
    current_app.extensions["credit_self.sms"].send(conn, phone, text, clock.iso_now())


def outbox(conn: Connection, phone: str | None = None, limit: int | None = None) -> list[dict]:
    """Messages in the outbox, newest first; only those to `phone` when given."""
    where = "WHERE phone = :phone" if phone else ""
    cap = "LIMIT :limit" if limit else ""
    return rows(conn, f"SELECT phone, text, created_at FROM sms_outbox {where} "
                      f"ORDER BY id DESC {cap}", phone=phone, limit=limit)


@click.command("sms-outbox")
@click.option("--phone", help="Only the messages sent to this mobile number.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many (the newest).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of objects with phone, text and created_at.")
@with_appcontext
def sms_outbox_command(phone: str | None, limit: int | None, as_json: bool) -> None:
    """List the text messages in the outbox, newest first."""
    with engine_for(current_app).connect() as conn:
        messages = outbox(conn, "".join(phone.split()) if phone else None, limit)
    if as_json:
        click.echo(json.dumps(messages, ensure_ascii=False, indent=2))
        return
    if not messages:
        click.echo("No messages.")
    for message in messages:
        click.echo(f"{message['created_at']}  {message['phone']}  {message['text']}")


def dev_outbox() -> str:
    """Demo mode only: the outbox as a page, so a demo can read its codes."""
    phone = "".join(request.args.get("phone", "").split())
    if len(phone) > 20 or not phone.isdigit():
        phone = ""
    return render_template("dev_sms.html", phone=phone,
                           messages=outbox(get_db(), phone or None, PAGE_LIMIT))


def init_app(app: Flask) -> None:
    """The configured sender; the CLI command; /dev/sms only in demo mode (a production
    configuration has no such page: 404)."""
    app.extensions["credit_self.sms"] = sender_for(app.config)
    app.cli.add_command(sms_outbox_command)
    if app.config.get("DEMO"):
        app.add_url_rule("/dev/sms", "dev_sms", dev_outbox)
