"""The text-message gateway: the outbox sender (the default, read by `flask sms-outbox`
and, in demo mode only, /dev/sms) and the HTTP sender (the production shape), each
exercised for real: the outbox table, and an HTTP server on this machine."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from credit_self import sms
from credit_self.db import get_db
from credit_self.identity import mask_phone
from tests.conftest import make_test_app, persona

NEW = persona("new_resident")
CLEAN = persona("clean")


def start_activation(client):
    return client.post("/activate", data={"id_number": NEW["id_number"], "name": NEW["name"]})


def send(app, phone, text):
    with app.app_context():
        sms.send(get_db(), phone, text)


def test_the_outbox_keeps_each_message(app, db):
    send(app, "13800000001", "first")
    send(app, "13800000002", "second")
    send(app, "13800000001", "third")
    assert [m["text"] for m in sms.outbox(db)][:3] == ["third", "second", "first"]
    assert [m["text"] for m in sms.outbox(db, "13800000001")] == ["third", "first"]


def test_sms_outbox_command_lists_newest_first(app):
    send(app, "13800000001", "first")
    send(app, "13800000002", "second 第二")
    runner = app.test_cli_runner()
    listed = json.loads(runner.invoke(args=["sms-outbox", "--json"]).output)
    assert [m["text"] for m in listed[:2]] == ["second 第二", "first"]
    assert set(listed[0]) == {"phone", "text", "created_at"}
    assert listed[0]["phone"] == "13800000002"
    only = json.loads(runner.invoke(args=["sms-outbox", "--phone", "138 0000 0001",
                                          "--json"]).output)
    assert [m["text"] for m in only] == ["first"]
    text = runner.invoke(args=["sms-outbox", "--phone", "13800000002"]).output
    assert "13800000002" in text and "second 第二" in text
    assert "No messages." in runner.invoke(args=["sms-outbox", "--phone", "13900000000"]).output


def test_dev_sms_is_absent_in_the_production_configuration(client):
    start_activation(client)
    assert client.get("/dev/sms").status_code == 404


def test_dev_sms_shows_the_outbox_in_demo_mode(database_url, db):
    client = make_test_app(database_url, DEMO=True).test_client()
    start_activation(client)
    page = client.get("/dev/sms").get_data(as_text=True)
    assert NEW["phone"] in page and "activate your account" in page
    filtered = client.get(f"/dev/sms?phone={CLEAN['phone']}").get_data(as_text=True)
    assert "activate your account" not in filtered
    assert client.get("/dev/sms?phone=<script>").status_code == 200


def test_phones_are_shown_masked():
    assert mask_phone("13812341234") == "138****1234"


class Gateway(BaseHTTPRequestHandler):
    """A stand-in carrier gateway: records each POST and answers with the server's status."""

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append({"body": json.loads(body),
                                     "authorization": self.headers.get("Authorization")})
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    server.received, server.status = [], 202
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_http_sender_posts_each_message(database_url, db, gateway):
    url = f"http://127.0.0.1:{gateway.server_port}/send"
    app = make_test_app(database_url, SMS_SENDER="http", SMS_HTTP_URL=url, SMS_HTTP_TOKEN="s3cret")
    client = app.test_client()
    outbox_before = db.count("sms_outbox")
    assert start_activation(client).headers["Location"] == "/activate/code"
    (request,) = gateway.received
    assert request["authorization"] == "Bearer s3cret"
    assert request["body"]["phone"] == NEW["phone"]
    assert "activate your account" in request["body"]["text"]
    assert db.count("sms_outbox") == outbox_before  # nothing kept here


def test_a_refusing_gateway_gets_a_clear_message(database_url, gateway):
    gateway.status = 500
    url = f"http://127.0.0.1:{gateway.server_port}/send"
    client = make_test_app(database_url, SMS_SENDER="http", SMS_HTTP_URL=url).test_client()
    response = start_activation(client)
    assert response.status_code == 200
    assert "We could not send the text message" in response.get_data(as_text=True)
    assert client.get("/activate/code").headers["Location"] == "/activate"


@pytest.mark.parametrize("config, problem", [
    ({"SMS_SENDER": "http"}, "needs CREDIT_SELF_SMS_URL"),
    ({"SMS_SENDER": "http", "SMS_HTTP_URL": "file:///etc/passwd"}, "needs CREDIT_SELF_SMS_URL"),
    ({"SMS_SENDER": "pigeon"}, "must be one of outbox, http"),
])
def test_a_wrong_sender_configuration_stops_the_app(database_url, config, problem):
    with pytest.raises(ValueError, match=problem):
        make_test_app(database_url, **config)
