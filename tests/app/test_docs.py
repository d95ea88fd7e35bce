"""The README stays true: every route and every CLI command is documented there."""
import re

import pytest

from credit_self.config import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
UNDOCUMENTED_ON_PURPOSE = {"/static/<path:filename>"}


def _rule_pattern(rule: str) -> re.Pattern:
    """'/me/entries/<int:entry_id>' matches '/me/entries/<id>' or '/me/entries/<entry_id>'."""
    parts = re.split(r"<[^>]+>", rule)
    return re.compile("<[^>]+>".join(re.escape(part) for part in parts) + r"(?![\w/-])")


def test_every_route_is_in_the_readme(app):
    missing = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule not in UNDOCUMENTED_ON_PURPOSE and not _rule_pattern(rule.rule).search(README)
    ]
    assert not missing, f"routes missing from README.md: {sorted(set(missing))}"


def test_every_cli_command_is_in_the_readme(app):
    commands = set(app.cli.commands)
    missing = [name for name in sorted(commands) if f"flask --app app {name}" not in README and f"`{name}`" not in README]
    assert not missing, f"CLI commands missing from README.md: {missing}"


@pytest.mark.parametrize("persona_name", ["clean", "defaulter", "train_expiring", "expired_only", "focus_three", "mixup", "pilot_member", "new_resident"])
def test_every_persona_is_in_the_readme_table(persona_name):
    from tests.conftest import persona

    p = persona(persona_name)
    assert re.search(rf"\| `{persona_name}` \| {p['id_number']} \| {p['name']} \|", README)


def test_every_test_docs_security_names_exists():
    """docs/security.md names the test that holds each control: a renamed or deleted test
    must not leave a control there without one."""
    text = (PROJECT_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    missing = []
    for cell in re.findall(r"`([^`]*?\.py(?:::[^`]*)?)`", text):
        first, *names = cell.split("::")
        path = PROJECT_ROOT / "tests" / first
        if not first.startswith(("app/", "unit/", "browser/", "deployment/")):
            continue
        if not path.exists():
            missing.append(cell)
            continue
        source = path.read_text(encoding="utf-8")
        missing += [f"{first}::{name}" for name in names
                    if not re.search(rf"^def {re.escape(name)}\(", source, re.M)]
    # Later names in a cell without a file ("`::test_x`") belong to the file named before.
    current = None
    for cell in re.findall(r"`([^`]+)`", text):
        if cell.startswith(("app/", "unit/", "browser/", "deployment/")):
            current = PROJECT_ROOT / "tests" / cell.split("::")[0]
        elif cell.startswith("::") and current is not None:
            source = current.read_text(encoding="utf-8") if current.exists() else ""
            if not re.search(rf"^def {re.escape(cell[2:])}\(", source, re.M):
                missing.append(f"{current.name}{cell}")
    assert not missing, f"tests named in docs/security.md that do not exist: {missing}"
