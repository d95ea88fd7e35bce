"""Which source files each zh_CN message catalog covers, and how to refresh them.

The foundation catalog (credit_self/translations) covers the shared layout, sign-in and
the record pages; each capability with its own blueprint keeps its own catalog in
credit_self/<capability>/translations, covering its package and templates/<capability>/.
flask-babel merges all of them at runtime (see config.translation_directories).

`python -m credit_self.i18n_catalogs` (or `make extract-messages`) re-extracts every
catalog and adds new strings with empty translations; tests/app/test_i18n.py fails
until each one has a translation.
"""
import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from .config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "credit_self"
TEMPLATES = PROJECT_ROOT / "templates"
# Babel names the zh_CN locale zh_Hans_CN, and looks for catalogs under that name.
LOCALE = "zh_Hans_CN"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "N_": None}
# Template folders and packages that belong to the foundation catalog (with the modules
# at the top of the package); seeding has no pages of its own, so no catalog of its own.
FOUNDATION_TEMPLATE_DIRS = ("auth", "records", "errors", "macros")
FOUNDATION_PACKAGES = ("auth", "records", "seeding")


@dataclass
class CatalogSources:
    name: str
    directory: Path  # holds zh_CN/LC_MESSAGES/messages.po
    python_files: list[Path]
    template_files: list[Path]

    @property
    def po_path(self) -> Path:
        return self.directory / LOCALE / "LC_MESSAGES" / "messages.po"


def catalogs() -> list[CatalogSources]:
    capability_packages = sorted(
        p for p in PACKAGE.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in FOUNDATION_PACKAGES
    )
    foundation = CatalogSources(
        "foundation",
        PACKAGE / "translations",
        sorted(PACKAGE.glob("*.py"))
        + [f for name in FOUNDATION_PACKAGES for f in sorted((PACKAGE / name).rglob("*.py"))],
        sorted(TEMPLATES.glob("*.html"))
        + [f for name in FOUNDATION_TEMPLATE_DIRS for f in sorted((TEMPLATES / name).rglob("*.html"))],
    )
    result = [foundation]
    for package in capability_packages:
        result.append(
            CatalogSources(
                package.name,
                package / "translations",
                sorted(package.rglob("*.py")),
                sorted((TEMPLATES / package.name).rglob("*.html")),
            )
        )
    return result


def extract(sources: CatalogSources) -> Iterator[str | tuple[str, str]]:
    """Yield every message id (a (singular, plural) pair for ngettext) in the sources."""
    for method, files in (("python", sources.python_files), ("jinja2", sources.template_files)):
        for path in files:
            for _line, message, _comments, _context in extract_from_file(
                method, str(path), keywords=KEYWORDS
            ):
                yield message
    for path in sources.python_files:
        yield from _calls_in_fstrings(path)


def _calls_in_fstrings(path: Path) -> Iterator[str | tuple[str, str]]:
    """Message ids of calls written inside f-strings, f"{date} ({ngettext(...)})": before
    Python 3.12 Babel reads an f-string as one string token and never looks inside."""
    for fstring in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(fstring, ast.JoinedStr):
            continue
        for call in ast.walk(fstring):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and call.func.id in KEYWORDS):
                continue
            literals = [arg.value for arg in call.args
                        if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
            if KEYWORDS[call.func.id] == (1, 2) and len(literals) >= 2:
                yield literals[0], literals[1]
            elif literals:
                yield literals[0]


def refresh(sources: CatalogSources) -> int:
    """Add new strings to the catalog (empty translations), drop unused ones."""
    template = Catalog(locale=None)
    for message in extract(sources):
        template.add(message)
    if sources.po_path.exists():
        with open(sources.po_path, "rb") as handle:
            catalog = read_po(handle, locale=LOCALE)
    else:
        catalog = Catalog(
            locale=LOCALE,
            project="Credit Self-Check",
            header_comment=f"# Simplified Chinese strings of Credit Self-Check: {sources.name}.",
        )
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    # A fuzzy header makes pybabel skip the whole catalog when compiling.
    catalog.fuzzy = False
    sources.po_path.parent.mkdir(parents=True, exist_ok=True)
    with open(sources.po_path, "wb") as handle:
        write_po(handle, catalog, no_location=True, sort_output=True)
    return sum(1 for m in catalog if m.id and not (all(m.string) if isinstance(m.string, tuple) else m.string))


if __name__ == "__main__":
    import sys

    # `python -m credit_self.i18n_catalogs pilots` refreshes only that catalog.
    wanted = set(sys.argv[1:])
    for sources in catalogs():
        if not sources.python_files and not sources.template_files:
            continue
        if wanted and sources.name not in wanted:
            continue
        untranslated = refresh(sources)
        print(f"{sources.po_path.relative_to(PROJECT_ROOT)}: {untranslated} untranslated")
