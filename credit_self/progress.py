"""Progress bars for long command-line work (seeding millions, large imports, checking
the audit log, enrolling a pilot's residents): click's bar on a terminal, nothing at all
otherwise (CI logs, cron)."""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator


class _Quiet:
    def update(self, steps: int) -> None:
        pass


@contextlib.contextmanager
def progress(length: int, label: str) -> Iterator[object]:
    """Yields an object whose `update(n)` advances the bar by n of `length` steps."""
    if not sys.stderr.isatty():
        yield _Quiet()
        return
    import click

    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield bar
