"""The app's request class reads cookies straight from the environ, with Werkzeug's
parser: the result must be exactly Werkzeug's own."""
import pytest
from flask import Request
from werkzeug.test import EnvironBuilder

from credit_self import create_app


@pytest.mark.parametrize("cookie", [
    None, "", "lang=zh_CN", "lang=en; credit_self_session=abc.def-ghi",
    'quoted="a b\\"c"; lang=zh_CN', "a=1; a=2; b=", "  spaced = value ;lang=en",
])
def test_cookies_are_parsed_exactly_as_werkzeug_does(tmp_path, cookie):
    app = create_app({"DATABASE": str(tmp_path / "t.db")})
    headers = {"Accept-Language": "en", "X-Other": "1"}
    if cookie is not None:
        headers["Cookie"] = cookie
    environ = EnvironBuilder(path="/me", headers=headers).get_environ()
    ours, werkzeugs = app.request_class(environ).cookies, Request(environ).cookies
    assert list(ours.items(multi=True)) == list(werkzeugs.items(multi=True))
    assert type(ours) is type(werkzeugs)
