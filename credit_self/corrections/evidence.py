"""Evidence files of corrections on disk: what a file is (from its first bytes, never its
name or the browser's word for it), and writing and removing files under random names.

The folder (EVIDENCE_DIR) is outside static/: nothing in it is served except through the
download routes, which check who asks. No Flask here, like the data layer.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import filetype

MAX_FILES = 5
MAX_BYTES = 5 * 1024 * 1024
# The types a file may be, found in its content, with the extension its name gets.
ACCEPTED = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
# What the browser's file picker offers first (the server checks the content anyway).
ACCEPT_ATTRIBUTE = ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"
NAME_MAX = 100


@dataclass(frozen=True)
class Upload:
    """One accepted file, read into memory (at most MAX_BYTES)."""

    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def content_type(head: bytes) -> str | None:
    """The accepted type that a file's first bytes show (JPEG, PNG or PDF), else None."""
    kind = filetype.guess(head)
    return kind.mime if kind is not None and kind.mime in ACCEPTED else None


def display_name(given: str | None, mime: str) -> str:
    """The name shown and offered on download: the resident's own, without folders or
    control characters and shortened, ending in the extension of what the file is."""
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    stem = name.rsplit(".", 1)[0].strip() if "." in name[1:] else name
    return (stem[:NAME_MAX] or "evidence") + ACCEPTED[mime]


def save(directory: str, content: bytes) -> str:
    """Write the bytes under a new random name that only the app may read; the name."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    file_id = secrets.token_hex(16)
    handle = os.open(folder / file_id, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as out:
        out.write(content)
    return file_id


def path(directory: str, file_id: str) -> Path:
    return Path(directory) / file_id


def remove(directory: str, file_ids: list[str]) -> None:
    """Delete files written by a write that did not commit."""
    for file_id in file_ids:
        path(directory, file_id).unlink(missing_ok=True)
