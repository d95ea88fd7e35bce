"""The schema: one Alembic history for both engines, `flask db upgrade` to apply it
(and `flask db backup` for the embedded engine).

The core tables' revisions live in credit_self/migrations/versions; each capability that
owns tables keeps its own in credit_self/<capability>/migrations, as a branch of the same
history that depends on the core baseline. `upgrade` applies every branch to its head.
"""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import Connection, Engine, inspect, text

PACKAGE = Path(__file__).resolve().parent
CAPABILITIES_WITH_TABLES = ("records", "pilots", "corrections", "certificates", "transparency")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PACKAGE / "migrations"))
    locations = [PACKAGE / "migrations" / "versions"] + [
        PACKAGE / name / "migrations" for name in CAPABILITIES_WITH_TABLES]
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema up to date (safe to run repeatedly)."""
    with engine.begin() as connection:
        adopt_legacy_sqlite(connection)
        command.upgrade(alembic_config(connection), "heads")


def is_current(engine: Engine) -> bool:
    """True when every branch is at its head revision (a branch others depend on is
    not listed in alembic_version once they are applied, so ancestors count too)."""
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    script = ScriptDirectory.from_config(alembic_config())
    applied = {revision.revision for revision in script.iterate_revisions(current, "base")}
    return set(script.get_heads()) <= applied


# The last sqlite-utils migrations before Alembic, and the revisions that equal them.
_LEGACY_SETS = {
    "credit_self": ("m007_catalog_token", "core_0001"),
    "credit_self.pilots": ("m001_pilot_status_history", "pilots_0001"),
    "credit_self.corrections": ("m002_drafts", "corrections_0001"),
    "credit_self.certificates": ("m002_scan_refs", "certificates_0001"),
    "credit_self.transparency": ("m001_import_batches", "transparency_0001"),
}


def adopt_legacy_sqlite(connection: Connection) -> None:
    """An embedded database made by the sqlite-utils migrations (before Alembic) gets
    the baseline revisions its schema equals, so `upgrade` continues from there."""
    tables = set(inspect(connection).get_table_names())
    if "_sqlite_migrations" not in tables or "alembic_version" in tables:
        return
    applied = {(row[0], row[1]) for row in connection.execute(
        text("SELECT migration_set, name FROM _sqlite_migrations"))}
    missing = [f"{name} ({migration_set})" for migration_set, (name, _) in _LEGACY_SETS.items()
               if (migration_set, name) not in applied]
    if missing:
        raise click.ClickException(
            "This database predates the last sqlite-utils migrations (missing "
            f"{', '.join(missing)}): upgrade it with the release before Alembic first.")
    command.stamp(alembic_config(connection), [revision for _, revision in _LEGACY_SETS.values()])


@click.group("db")
def db_group() -> None:
    """The database schema (Alembic)."""


@db_group.command("upgrade")
def upgrade_command() -> None:
    """Create or upgrade the schema of the configured database."""
    from .db import engine_for

    upgrade(engine_for(current_app))
    click.echo(f"Schema up to date ({engine_for(current_app).url.render_as_string()})")


@db_group.command("current")
def current_command() -> None:
    """Show the revision each branch of the schema is at."""
    from .db import engine_for

    with engine_for(current_app).connect() as connection:
        command.current(alembic_config(connection))


@db_group.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Copy the embedded SQLite database to TARGET, consistently, while the app runs.

    PostgreSQL is backed up with its own tools (pg_dump, or the replica; docs/deploy.md).
    """
    from .db import engine_for, is_postgresql

    engine = engine_for(current_app)
    if target.exists():
        raise click.ClickException(f"{target} exists: a backup never overwrites a file")
    with engine.connect() as conn:
        if is_postgresql(conn):
            raise click.ClickException(
                "This is PostgreSQL: use pg_dump --format=custom (see docs/deploy.md)")
        # VACUUM INTO writes a compact, consistent copy without stopping readers or writers.
        conn.connection.driver_connection.execute("VACUUM INTO ?", [str(target)])
    click.echo(f"Backed up to {target}")


@db_group.command("revision")
@click.option("--branch", required=True,
              type=click.Choice(["core", *CAPABILITIES_WITH_TABLES]),
              help="Whose tables the revision changes.")
@click.option("-m", "--message", required=True, help="What the revision does.")
def revision_command(branch: str, message: str) -> None:
    """Start a new revision file at the head of one branch."""
    command.revision(alembic_config(), message=message, head=f"{branch}@head")


def init_app(app: Flask) -> None:
    app.cli.add_command(db_group)
