"""The admin console home: the tools a staff member's role gives them."""
import click
from flask import Blueprint, Flask, current_app, render_template
from flask_login import current_user

from .. import clock
from ..auth.roles import staff_required
from ..db import connect
from . import staff, tools

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("")
@staff_required()
def home() -> str:
    return render_template("admin/home.html", tools=tools.tools_for(current_user.role))


@click.command("create-admin")
@click.option("--username", required=True, help="Sign-in name, lower case.")
@click.option("--role", type=click.Choice(staff.STAFF_ROLES), required=True)
@click.option("--pilot", "pilot_code", default=None, help="Pilot code, for pilot_admin only.")
@click.option("--name", "display_name", default="", help="Role or office shown to residents.")
@click.password_option(help="At least 10 characters; prompted for when omitted.")
def create_admin_command(username, role, pilot_code, display_name, password) -> None:
    """Create a staff account (pilot_admin, reviewer or superadmin)."""
    db = connect(current_app.config["DATABASE"])
    try:
        staff.create_staff_account(
            db, username, password, role, display_name, pilot_code, "system:cli", clock.iso_now()
        )
    except staff.StaffAccountError as problem:
        raise click.ClickException(str(problem))
    finally:
        db.close()
    click.echo(f"Created {role} account {username!r}")


def init_app(app: Flask) -> None:
    app.cli.add_command(create_admin_command)
