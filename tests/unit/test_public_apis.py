"""The app uses other packages only through their public APIs: no module under
credit_self/ imports a private name (leading underscore) from another package, reaches
into a private module, or touches a private or name-mangled member of another package's
object. Upgrades then change only what their changelogs promise."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from credit_self.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "credit_self"
TEMPLATES = PROJECT_ROOT / "templates"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_private_names(trees: dict[Path, ast.AST]) -> set[str]:
    """Private names the app defines itself (its own helpers may be private)."""
    names: set[str] = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {name for name in names if _private(name)}


def violations(source: str, filename: str, own: set[str]) -> list[str]:
    """Every use of another package's private names in one module's source."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if any(_private(part) for part in node.module.split(".")):
                found.append(f"{where}: imports from private module {node.module}")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"{where}: imports private {node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if any(_private(part) for part in alias.name.split(".")):
                    found.append(f"{where}: imports private module {alias.name}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            mangled = "__" in node.attr[1:]
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            if mangled or (not on_self and node.attr not in own):
                found.append(f"{where}: uses private member .{node.attr}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value) and node.args[1].value not in own):
            found.append(f"{where}: {node.func.id}() of private member {node.args[1].value}")
    return found


def test_no_module_uses_another_packages_private_names():
    trees = {path: ast.parse(path.read_text(), str(path)) for path in PACKAGE.rglob("*.py")}
    own = _own_private_names(trees)
    found = [problem for path in sorted(trees)
             for problem in violations(path.read_text(), str(path.relative_to(PROJECT_ROOT)), own)]
    assert not found, "private names of other packages:\n" + "\n".join(found)


def test_no_template_calls_a_private_member():
    found = [f"{path.relative_to(PROJECT_ROOT)}: {line.strip()}"
             for path in sorted(TEMPLATES.rglob("*.html"))
             for line in path.read_text().splitlines()
             if "._" in line.replace("{#", "").split("#}")[0]]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("source, problem", [
    ("from flask.globals import _cv_request", "imports private flask.globals._cv_request"),
    ("from flask_login.utils import _create_identifier", "imports private"),
    ("from limits._storage import MemoryStorage", "imports from private module"),
    ("import werkzeug._internal", "imports private module"),
    ("limiter._check_request_limit()", "uses private member ._check_request_limit"),
    ("x = storage._MemoryStorage__expire_events", "uses private member"),
    ("hasattr(context, '_limiter_request_context')", "hasattr() of private member"),
])
def test_the_guard_catches_each_kind_of_reach(source, problem):
    assert any(problem in found for found in violations(source, "example.py", set()))


def test_the_guard_allows_the_apps_own_private_helpers_and_dunders():
    source = ("def _helper(): pass\nclass A:\n    def f(self):\n        return self._x\n"
              "value = obj.__class__\n_helper()\nimport os\nfrom .db import _local\n")
    assert violations(source, "example.py", {"_helper", "_x"}) == []
