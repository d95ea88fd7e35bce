"""Numbers in addresses: database ids in routes (`<id:name>`) and cursors in query strings.

Both engines store ids as signed 64-bit integers. A number outside that range, or one
written with anything but ASCII digits, names nothing here: the route answers 404
before any query runs (a larger one would make the database driver raise).
"""
from flask import Flask
from werkzeug.routing import IntegerConverter, Map

ID_MAX = 2**63 - 1
# Digits needed for ID_MAX; anything longer is out of range (and would otherwise make
# int() work through thousands of digits).
_ID_DIGITS = len(str(ID_MAX))


def parse_id(text: str) -> int | None:
    """An id or cursor written in ASCII digits within the 64-bit range, else None."""
    if not (text.isascii() and text.isdigit() and len(text) <= _ID_DIGITS):
        return None
    value = int(text)
    return value if value <= ID_MAX else None


class IdConverter(IntegerConverter):
    """`<id:name>`: 0 to 2**63 - 1 in ASCII digits (Werkzeug's `int` also takes other
    Unicode digits and any size)."""

    regex = rf"[0-9]{{1,{_ID_DIGITS}}}"

    def __init__(self, map: Map) -> None:
        super().__init__(map, max=ID_MAX)


def init_app(app: Flask) -> None:
    """Register the converter; must run before any blueprint adds its routes."""
    app.url_map.converters["id"] = IdConverter
