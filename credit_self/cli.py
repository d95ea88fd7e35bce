"""Seed commands: `flask seed` and `flask demo-accounts`.

`flask seed` brings the schema up to date first, then never overwrites records: on a
database that already has residents it refuses (exit 1), or with `--if-empty` says so
and does nothing (exit 0), which is what `make run` relies on.
"""
import json
import time
from datetime import date, datetime

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from . import audit, clock, schema, seeding
from .db import engine_for, is_postgresql, scalar


@click.command("seed")
@click.option("--residents", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="How many synthetic residents to generate.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Random seed: the same seed, size and date give the same rows.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date the entries and personas are relative to (YYYY-MM-DD). "
                   "Default: today in China.")
@click.option("--if-empty", is_flag=True,
              help="On a database that already has residents, do nothing and exit 0.")
@with_appcontext
def seed_command(residents: int, seed_value: int, today: datetime | None, if_empty: bool) -> None:
    """Load the catalog from seed/ and generate a population with demo personas."""
    engine = engine_for(current_app)
    where = engine.url.render_as_string()
    day: date = today.date() if today else clock.today()
    schema.upgrade(engine)
    with engine.connect() as conn:
        existing = scalar(conn, "SELECT count(*) FROM residents")
        if existing:
            if if_empty:
                click.echo(f"{where} is already seeded ({existing:,} residents): nothing to do.")
                return
            raise click.ClickException(
                f"{where} already has {existing:,} residents. Seeding never overwrites "
                "records: point CREDIT_SELF_DATABASE_URL at a new database, or use "
                "--if-empty to skip a seeded database."
            )
        started = time.perf_counter()
        catalog = seeding.load_catalog(conn, seeding.SEED_DIR)
        try:
            population = seeding.generate_population(conn, residents, seed_value, day)
        except ValueError as error:  # more residents than the generated ID numbers allow
            raise click.ClickException(str(error)) from None
        personas = seeding.create_personas(conn, day)
        elapsed = time.perf_counter() - started
        audit.record(conn, "system:cli", "seed", None, {
            "residents": residents, "seed": seed_value, "today": day.isoformat(),
            **population, **personas,
        })
        if is_postgresql(conn):
            # Fresh statistics, so the first queries plan with the real sizes.
            conn.commit()
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            conn.commit()
            conn.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    click.echo(f"Seeded {where} (seed {seed_value}, dates relative to {day.isoformat()}):")
    rows = [
        ("lists", catalog["lists"]),
        ("sanctions", catalog["sanctions"]),
        ("pilots", catalog["pilots"]),
        ("holidays", catalog["holidays"]),
        ("residents", population["residents"]),
        ("entries", population["entries"]),
        ("pilot enrolments", population["enrolments"]),
        ("score events", population["score_events"]),
        ("demo personas", personas["personas"]),
        ("demo accounts", personas["accounts"]),
    ]
    for label, count in rows:
        click.echo(f"  {label:<17}{count:>12,}")
    click.echo(f"Done in {elapsed:.1f} s. `flask demo-accounts` lists the demo sign-ins.")


@click.command("demo-accounts")
@click.option("--json", "as_json", is_flag=True,
              help="Print the personas as a JSON list: residents (persona, id_number, "
                   "name, password, role), then staff (persona, username, password, role, "
                   "totp_secret).")
def demo_accounts_command(as_json: bool) -> None:
    """List the demo personas and their sign-in details."""
    if as_json:
        click.echo(json.dumps(seeding.demo_accounts(), ensure_ascii=False, indent=2))
        return
    click.echo("Residents (sign in with the ID number):")
    for p in seeding.PERSONAS:
        click.echo(f"  {p['persona']:<15}{p['id_number']}  {p['name']:<4}\t{p['password']}")
        click.echo(f"  {'':<15}{p['description_en']}")
    click.echo("Staff (sign in at /admin/login with the user name, then a code from an "
               "authenticator app set up with the secret):")
    for a in seeding.ADMIN_ACCOUNTS:
        pilot = f" ({a['pilot_code']})" if a["pilot_code"] else ""
        click.echo(f"  {a['role']:<15}{a['login']:<20}{a['password']}{pilot}")
        click.echo(f"  {'':<15}TOTP secret {a['totp_secret']}")


def init_app(app: Flask) -> None:
    """Register the seed commands on `app.cli`."""
    app.cli.add_command(seed_command)
    app.cli.add_command(demo_accounts_command)
