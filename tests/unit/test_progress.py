"""Long command-line work (seeding millions, imports, verify-audit, pilot events) shows a
progress bar on a terminal and stays quiet otherwise (logs, pipes, CI)."""
import io
import sys

from credit_self.progress import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_sees_the_bar_with_its_label(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress(1_000, "Enrolling residents") as bar:
        for _ in range(10):
            bar.update(100)
    assert "Enrolling residents" in terminal.getvalue()
    assert "100%" in terminal.getvalue()


def test_a_log_or_pipe_stays_quiet(monkeypatch):
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with progress(1_000, "Enrolling residents") as bar:
        bar.update(1_000)
    assert pipe.getvalue() == ""
