"""Routes of the pilots capability (thin: validation and data work live beside them).

`pilots`: residents see the pilots covering their region, opt in or out, and while
enrolled see their score, grade, ledger and chart. `pilots_admin` (/admin/pilots): pilot
administrators see their pilot's figures, pause/resume/close it and record events.
"""
import click
from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, url_for
from flask.cli import with_appcontext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import clock, registry
from ..i18n import N_
from ..auth.roles import resident_required, staff_required
from ..db import engine_for, get_db
from ..htmx import is_partial_request, redirect_for_htmx
from ..identity import mask_id
from . import data, forms

bp = Blueprint("pilots", __name__)
admin_bp = Blueprint("pilots_admin", __name__, url_prefix="/admin/pilots")

ADMIN_ROLES = ("pilot_admin", "superadmin")
registry.add_resident_page("pilots.index", N_("Scoring pilots"), order=30)
registry.add_admin_tool(
    "pilots_admin.dashboard", N_("Scoring pilot"),
    N_("Figures, pause, resume or close the pilot, and record score events."),
    roles=ADMIN_ROLES,
)


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
        "opt_out_form": forms.OptOutForm(prefix=f"pilot-{pilot['code']}", formdata=None),
    }


def _resident_pilot(db, code: str) -> dict:
    pilot = data.get_pilot(db, code)
    if pilot is None or not data.covers(pilot, current_user.id_number):
        abort(404)
    return pilot


@bp.get("/pilots")
@resident_required
def index() -> str:
    db = get_db()
    id_number = current_user.id_number
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
        data.opt_in(db, pilot, current_user.id_number, current_user.audit_name, clock.iso_now())
    except data.PilotError as refused:
        return _after_change(db, pilot, forms.pilot_error_message(refused.code), "warning")
    return _after_change(db, pilot, _("You have opted in. Scoring starts from today."))


@bp.post("/pilots/<code>/opt-out")
@resident_required
def opt_out(code: str):
    db = get_db()
    pilot = _resident_pilot(db, code)
    form = forms.OptOutForm(prefix=f"pilot-{code}")
    erase = form.erase.data
    if erase and not form.confirmed.data:
        # Erasing cannot be undone: the confirmation page says what will be lost first.
        confirm = url_for("pilots.erase_confirm", code=code)
        return redirect_for_htmx(confirm) if is_partial_request() else redirect(confirm, code=303)
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


@bp.get("/pilots/<code>/erase")
@resident_required
def erase_confirm(code: str):
    """Ask before erasing: how many events and which grade go, and that joining again
    starts from the base score. Works without JavaScript (the form posts to opt-out)."""
    db = get_db()
    pilot = _resident_pilot(db, code)
    if not data.events_held(db, code, current_user.id_number):
        flash(_("The pilot holds no score events about you."), "info")
        return redirect(url_for("pilots.index") + f"#pilot-{code}", code=303)
    return render_template(
        "pilots/erase.html", pilot=pilot,
        standing=data.standing(db, pilot, current_user.id_number),
        enrolled=data.enrolment_state(db, code, current_user.id_number) == "in",
        form=forms.OptOutForm(prefix=f"pilot-{code}", formdata=None))


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
    if current_user.role == "pilot_admin":
        if not current_user.pilot_code:
            abort(403)
        return redirect(url_for("pilots_admin.pilot", code=current_user.pilot_code))
    return render_template("pilots/admin/list.html", pilots=data.all_pilots(get_db()))


@admin_bp.get("/<code>")
@staff_required(*ADMIN_ROLES)
def pilot(code: str) -> str:
    db = get_db()
    managed = _managed_pilot(db, code)
    return render_template(
        "pilots/admin/pilot.html",
        pilot=managed,
        figures=data.figures(db, managed, clock.today()),
        history=data.status_history(db, code),
        retention_days=data.RETENTION_DAYS,
    )


TOGGLED = {
    "pause": _l("The pilot is paused. Scores are frozen and nobody can opt in; residents can "
                "still opt out."),
    "resume": _l("The pilot is active again."),
    "close": _l("The pilot is closed. Scoring has ended; score events will be erased after "
                "%(num)d days.", num=data.RETENTION_DAYS),
}


@admin_bp.route("/<code>/<any(pause, resume, close):action>", methods=["GET", "POST"])
@staff_required(*ADMIN_ROLES)
def toggle(code: str, action: str):
    db = get_db()
    managed = _managed_pilot(db, code)
    if managed["status"] not in data.TRANSITIONS[action][0]:
        flash(forms.pilot_error_message(f"cannot_{action}"), "warning")
        return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    form = forms.ReasonForm()
    if form.validate_on_submit():
        try:
            data.set_status(db, managed, action, current_user.audit_name, form.reason.data,
                            clock.iso_now())
        except data.PilotError as refused:
            flash(forms.pilot_error_message(refused.code), "warning")
        else:
            flash(str(TOGGLED[action]), "success")
        return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    return render_template("pilots/admin/toggle.html", pilot=managed, action=action, form=form,
                           retention_days=data.RETENTION_DAYS,
                           held=data.held_by_pilot(db, code) if action == "close" else None)


def _event_page(pilot: dict, lookup=None, event=None, resident=None):
    return render_template(
        "pilots/admin/event.html",
        pilot=pilot,
        resident=resident,
        lookup=lookup or forms.LookupForm(formdata=None),
        form=event or lookup,
        event=event or forms.EventForm(formdata=None, pilot=pilot, today=clock.today()),
    )


def _covered_resident(db, pilot: dict, id_number: str, lookup):
    """The resident the administrator looked up, if they live in the pilot's region."""
    resident = data.find_resident(db, pilot, id_number, current_user.audit_name)
    if resident is None or not resident["covered"]:
        lookup.add_error("id_number", _("No resident of this pilot's region has this ID number"))
        return None
    return resident


@admin_bp.get("/<code>/events")
@staff_required(*ADMIN_ROLES)
def event_form(code: str) -> str:
    return _event_page(_managed_pilot(get_db(), code))


@admin_bp.post("/<code>/events/lookup")
@staff_required(*ADMIN_ROLES)
def event_lookup(code: str) -> str:
    """Find a resident by ID number (POST so the ID stays out of URLs and logs)."""
    db = get_db()
    managed = _managed_pilot(db, code)
    lookup = forms.LookupForm()
    if not lookup.validate():
        return _event_page(managed, lookup=lookup)
    resident = _covered_resident(db, managed, lookup.id_number.data, lookup)
    event = forms.EventForm(formdata=None, pilot=managed, today=clock.today(),
                            id_number=lookup.id_number.data)
    return _event_page(managed, lookup=lookup, event=event if resident else None,
                       resident=resident)


@admin_bp.post("/<code>/events")
@staff_required(*ADMIN_ROLES)
def record_event(code: str):
    db = get_db()
    managed = _managed_pilot(db, code)
    lookup = forms.LookupForm()
    if not lookup.validate():
        return _event_page(managed, lookup=lookup)
    resident = _covered_resident(db, managed, lookup.id_number.data, lookup)
    if resident is None:
        return _event_page(managed, lookup=lookup)
    event = forms.EventForm(pilot=managed, today=clock.today())
    if event.validate():
        try:
            data.record_event(db, managed, lookup.id_number.data, event.event_type.data,
                              event.occurred_on.data, event.reason.data, event.source.data,
                              current_user.audit_name, clock.iso_now())
        except data.PilotError as refused:
            field = "occurred_on" if refused.code == "before_opt_in" else "event_type"
            event.add_error(field, forms.pilot_error_message(refused.code))
        else:
            flash(_("Event recorded for %(id)s.", id=mask_id(lookup.id_number.data)), "success")
            return redirect(url_for("pilots_admin.pilot", code=code), code=303)
    return _event_page(managed, lookup=lookup, event=event, resident=resident)


# ---------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------


@click.command("purge-closed-pilots")
@with_appcontext
def purge_closed_pilots_command() -> None:
    """Erase score events of pilots closed longer than the retention period."""
    with engine_for(current_app).connect() as conn:
        done = data.purge_closed(conn, clock.today())
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
    with engine_for(current_app).connect() as conn:
        try:
            enrolled, events = data.seed_pilot_events(conn, code, share, seed_value, clock.today())
        except data.PilotError:
            raise click.ClickException(f"no pilot {code!r}")
    click.echo(f"{code}: enrolled {enrolled} residents with {events} score events")


def init_app(app: Flask) -> None:
    """Register this capability's blueprints and CLI commands."""
    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.cli.add_command(purge_closed_pilots_command)
    app.cli.add_command(seed_pilot_events_command)
    app.jinja_env.globals.update(rule_not_applied=forms.RULE_NOT_APPLIED,
                                 pilot_statuses=forms.PILOT_STATUSES,
                                 enrolment_states=forms.ENROLMENT_STATES,
                                 card_pilot_statuses=forms.CARD_PILOT_STATUSES,
                                 card_enrolment_states=forms.CARD_ENROLMENT_STATES)
