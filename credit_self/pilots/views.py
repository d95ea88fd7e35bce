"""Routes of the pilots capability (thin: validation and data work live beside them).

`pilots`: residents see the pilots covering their region, opt in or out, and while
enrolled see their score, grade, ledger and chart. `pilots_admin` (/admin/pilots): pilot
administrators see their pilot's figures, pause/resume/close it and record events.
"""
import click
from flask.cli import with_appcontext
from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_login import current_user
from markupsafe import Markup

from .. import clock, i18n, navigation
from ..admin import tools
from ..auth.roles import resident_required, staff_required
from ..db import connect, get_db
from ..htmx import is_partial_request
from ..i18n import gettext as _
from ..i18n import N_
from ..i18n import lazy_gettext as _l
from ..keep import kept
from ..request_globals import signed_in_user
from . import data, forms

bp = Blueprint("pilots", __name__)
admin_bp = Blueprint("pilots_admin", __name__, url_prefix="/admin/pilots")

navigation.register("pilots.index", N_("Scoring pilots"), order=30)
tools.register(
    "pilots_admin.dashboard",
    _l("Scoring pilot"),
    _l("Figures, pause, resume or close the pilot, and record score events."),
    roles=("pilot_admin", "superadmin"),
)
ADMIN_ROLES = ("pilot_admin", "superadmin")


# ---------------------------------------------------------------------------------
# Residents
# ---------------------------------------------------------------------------------


def _card(db, pilot: dict, id_number: str, message: str | None = None,
          category: str = "success") -> dict:
    """Everything one pilot card shows. No score is computed unless enrolled."""
    state = data.enrolment_state(db, pilot["code"], id_number)
    standing = chart = None
    if state == "in":
        standing = data.standing(db, pilot, id_number)
        chart = data.chart_points(pilot, standing.ledger, clock.today())
    return {
        "pilot": pilot,
        "state": state,
        "standing": standing,
        "chart": chart,
        "events_left": data.events_held(db, pilot["code"], id_number) if state == "out" else 0,
        "message": message,
        "message_category": category,
        "retention_days": data.RETENTION_DAYS,
    }


# Rendered rules-and-grades sections kept per app; a handful of pilots x languages.
_REFERENCES_KEPT = 256


def pilot_reference(pilot: dict) -> Markup:
    """What the pilot scores and its grades (templates/pilots/_pilot_reference.html).

    The same for every resident who sees the pilot, and about a fifth of /pilots'
    rendering, so each is rendered once per language and pilot version (its rules,
    bands and whether the bands are illustrative: `pilot["reference_key"]`) and kept.
    """
    def render() -> Markup:
        template = current_app.jinja_env.get_template("pilots/_pilot_reference.html")
        return template.module.pilot_reference(pilot)

    return kept(current_app.extensions.setdefault("pilot_references", {}),
                (i18n.language().code, pilot["reference_key"]), render, _REFERENCES_KEPT)


def _resident_pilot(db, code: str) -> dict:
    pilot = data.get_pilot(db, code)
    if pilot is None or not data.covers(pilot, current_user.id_number):
        abort(404)
    return pilot


@bp.get("/pilots")
@resident_required
def index() -> str:
    db = get_db()
    id_number = signed_in_user().id_number
    cards = [_card(db, p, id_number) for p in data.pilots_for_region(db, id_number[:6])]
    return render_template("pilots/index.html", cards=cards)


def _after_change(db, pilot: dict, message: str, category: str = "success"):
    if is_partial_request():
        return render_template("pilots/_card.html",
                               card=_card(db, pilot, current_user.id_number, message, category))
    flash(message, category)
    return redirect(url_for("pilots.index") + f"#pilot-{pilot['code']}", code=303)


@bp.post("/pilots/<code>/opt-in")
@resident_required
def opt_in(code: str):
    db = get_db()
    pilot = _resident_pilot(db, code)
    try:
        data.opt_in(db, pilot, current_user.id_number, current_user.audit_name,
                    clock.iso_now())
    except data.PilotError as refused:
        return _after_change(db, pilot, forms.pilot_error_message(refused.code), "warning")
    return _after_change(db, pilot, _("You have opted in. Scoring starts from today."))


@bp.post("/pilots/<code>/opt-out")
@resident_required
def opt_out(code: str):
    db = get_db()
    pilot = _resident_pilot(db, code)
    erase = request.form.get("erase") == "yes"
    was_in = data.enrolment_state(db, code, current_user.id_number) == "in"
    erased = data.opt_out(db, pilot, current_user.id_number, current_user.audit_name,
                          clock.iso_now(), erase)
    if was_in and erase:
        message = _("You have opted out. Scoring has stopped and %(num)d score events "
                    "were erased.", num=erased)
    elif was_in:
        message = _("You have opted out. Scoring has stopped and your score is hidden "
                    "from everyone.")
    elif erase:
        message = _("%(num)d score events were erased.", num=erased)
    else:
        message = _("You are not enrolled in this pilot.")
    return _after_change(db, pilot, message)


# ---------------------------------------------------------------------------------
# Pilot administrators
# ---------------------------------------------------------------------------------


def _managed_pilot(db, code: str) -> dict:
    """Ownership check on every admin route: 403 for another pilot."""
    if not data.can_manage(current_user.role, current_user.pilot_code, code):
        abort(403)
    pilot = data.get_pilot(db, code)
    if pilot is None:
        abort(404)
    return pilot


@admin_bp.get("")
@staff_required(*ADMIN_ROLES)
def dashboard():
    db = get_db()
    if current_user.role == "pilot_admin":
        if not current_user.pilot_code:
            abort(403)
        return redirect(url_for("pilots_admin.pilot", code=current_user.pilot_code))
    return render_template("pilots/admin/list.html", pilots=data.all_pilots(db))


@admin_bp.get("/<code>")
@staff_required(*ADMIN_ROLES)
def pilot(code: str) -> str:
    db = get_db()
    managed = _managed_pilot(db, code)
    today = clock.today()
    return render_template(
        "pilots/admin/pilot.html",
        pilot=managed,
        figures=data.figures(db, managed, today),
        history=data.status_history(db, code),
        retention_days=data.RETENTION_DAYS,
    )


@admin_bp.route("/<code>/<any(pause, resume, close):action>", methods=["GET", "POST"])
@staff_required(*ADMIN_ROLES)
def toggle(code: str, action: str):
    db = get_db()
    managed = _managed_pilot(db, code)
    errors: dict[str, str] = {}
    reason = ""
    if managed["status"] not in data.TRANSITIONS[action][0]:
        flash(forms.pilot_error_message(f"cannot_{action}"), "warning")
        return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    if request.method == "POST":
        reason, errors = forms.validate_reason(request.form)
        if not errors:
            try:
                data.set_status(db, managed, action, current_user.audit_name, reason,
                                clock.iso_now())
            except data.PilotError as refused:
                flash(forms.pilot_error_message(refused.code), "warning")
            else:
                flash({"pause": _("The pilot is paused. Scores are frozen and nobody can "
                                  "opt in; residents can still opt out."),
                       "resume": _("The pilot is active again."),
                       "close": _("The pilot is closed. Scoring has ended; score events "
                                  "will be erased after %(num)d days.",
                                  num=data.RETENTION_DAYS)}[action], "success")
            return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    return render_template("pilots/admin/toggle.html", pilot=managed, action=action,
                           reason=reason, errors=errors, retention_days=data.RETENTION_DAYS)


def _event_page(pilot: dict, resident=None, values=None, errors=None, id_number=""):
    return render_template(
        "pilots/admin/event.html",
        pilot=pilot,
        resident=resident,
        values=values or {"event_type": "", "occurred_on": "", "reason": "", "source": ""},
        errors=errors or {},
        id_number=id_number,
        rules=[(t, r, data.rule_applicable(r)) for t, r in pilot["rules"].items()],
        today=clock.today(),
    )


@admin_bp.get("/<code>/events")
@staff_required(*ADMIN_ROLES)
def event_form(code: str) -> str:
    db = get_db()
    return _event_page(_managed_pilot(db, code))


@admin_bp.post("/<code>/events/lookup")
@staff_required(*ADMIN_ROLES)
def event_lookup(code: str) -> str:
    """Find a resident by ID number (POST so the ID stays out of URLs and logs)."""
    db = get_db()
    managed = _managed_pilot(db, code)
    id_number, errors = forms.validate_lookup(request.form)
    if errors:
        return _event_page(managed, errors=errors, id_number=request.form.get("id_number", ""))
    resident = data.find_resident(db, managed, id_number, current_user.audit_name)
    if resident is None or not resident["covered"]:
        errors = {"id_number": _("No resident of this pilot's region has this ID number")}
        return _event_page(managed, errors=errors, id_number=id_number)
    return _event_page(managed, resident=resident, id_number=id_number)


@admin_bp.post("/<code>/events")
@staff_required(*ADMIN_ROLES)
def record_event(code: str):
    db = get_db()
    managed = _managed_pilot(db, code)
    id_number, errors = forms.validate_lookup(request.form)
    if errors:
        return _event_page(managed, errors=errors, id_number=request.form.get("id_number", ""))
    resident = data.find_resident(db, managed, id_number, current_user.audit_name)
    if resident is None or not resident["covered"]:
        errors = {"id_number": _("No resident of this pilot's region has this ID number")}
        return _event_page(managed, errors=errors, id_number=id_number)
    values, errors = forms.validate_event(request.form, managed, clock.today())
    if not errors:
        try:
            data.record_event(db, managed, id_number, values["event_type"],
                              values["occurred_on"], values["reason"], values["source"],
                              current_user.audit_name, clock.iso_now())
        except data.PilotError as refused:
            errors = {"event_type": forms.pilot_error_message(refused.code)}
        else:
            flash(_("Event recorded for %(id)s.", id=id_number[:4] + "**********" + id_number[-4:]),
                  "success")
            return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    shown = dict(values, occurred_on=request.form.get("occurred_on", ""))
    return _event_page(managed, resident=resident, values=shown, errors=errors,
                       id_number=id_number)


# ---------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------


@click.command("purge-closed-pilots")
@with_appcontext
def purge_closed_pilots_command() -> None:
    """Erase score events of pilots closed longer than the retention period."""
    db = connect(current_app.config["DATABASE"])
    try:
        done = data.purge_closed(db, clock.today())
    finally:
        db.close()
    if not done:
        click.echo("No closed pilot is past its retention period.")
    for code, erased in done:
        click.echo(f"{code}: erased {erased} events")


@click.command("seed-pilot-events")
@with_appcontext
@click.option("--pilot", "code", required=True, help="Pilot code, e.g. shanghai_civic.")
@click.option("--share", type=float, default=0.1, show_default=True,
              help="Share of the region's adult residents to enrol.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True)
def seed_pilot_events_command(code: str, share: float, seed_value: int) -> None:
    """Enrol a share of a pilot's residents with score events (bench and demo data)."""
    db = connect(current_app.config["DATABASE"])
    try:
        enrolled, events = data.seed_pilot_events(db, code, share, seed_value, clock.today())
    except data.PilotError:
        raise click.ClickException(f"no pilot {code!r}")
    finally:
        db.close()
    click.echo(f"{code}: enrolled {enrolled} residents with {events} score events")


def init_app(app: Flask) -> None:
    """Register this capability's blueprints, CLI commands and template helpers."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.cli.add_command(purge_closed_pilots_command)
    app.cli.add_command(seed_pilot_events_command)
    app.jinja_env.globals["pilot_reference"] = pilot_reference
