"""The demo personas: named residents and staff accounts, listed in the README and by
`flask demo-accounts`, each showing one situation the service must handle well.

They are made the way the service makes such things: entries through records' entry
functions, accounts through activation and staff account creation, and each
capability's own demo rows (a pilot membership, an open correction, a certificate)
through its `demo.add_demo_data`, which uses that capability's data functions.
"""
from __future__ import annotations

import importlib
import random
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection
from stdnum.cn import ric

from ..admin.staff import create_staff_account
from ..auth.accounts import activate
from ..auth.second_factor import enrol_with_secret
from ..db import rows, write_transaction
from ..i18n import N_
from ..identity import with_check_digit
from ..records.entries import add_entries, change_entry
from . import bulk, facts
from .population import RESIDENT_COLUMNS, EntryMaker, Resident, iso_at

# The password every demo account uses (at least 10 characters, as the app requires).
DEMO_PASSWORD = "demo-pass-2026"

# Fixed IDs with sequence codes 9xx, which the generator never uses.
PERSONAS: list[dict[str, Any]] = [
    {"persona": "clean", "id_number": with_check_digit("31010419900315902"),
     "name": "陈静", "password": DEMO_PASSWORD, "role": "resident", "phone": "13861520315",
     "description_en": "Shanghai (Xuhui) resident with no entries at all."},
    {"persona": "defaulter", "id_number": with_check_digit("31010719681123911"),
     "name": "刘建国", "password": DEMO_PASSWORD, "role": "resident", "phone": "13628471123",
     "description_en": "Judgment defaulter with no end date, restricted from high "
                       "consumption (flight and rail restrictions apply); also an expired "
                       "railway entry and a withdrawn aviation entry."},
    {"persona": "train_expiring", "id_number": with_check_digit("31011019850709913"),
     "name": "赵磊", "password": DEMO_PASSWORD, "role": "resident", "phone": "18650930709",
     "description_en": "Railway passenger misconduct entry that ends in 9 days."},
    {"persona": "expired_only", "id_number": with_check_digit("31010519790227904"),
     "name": "孙丽", "password": DEMO_PASSWORD, "role": "resident", "phone": "15973110227",
     "description_en": "Only expired entries (aviation and railway): no restrictions."},
    {"persona": "focus_three", "id_number": with_check_digit("31010619750518906"),
     "name": "周海燕", "password": DEMO_PASSWORD, "role": "resident", "phone": "13746200518",
     "description_en": "Three active priority-scrutiny entries from three departments: "
                       "flagged for review."},
    {"persona": "mixup", "id_number": with_check_digit("31011519930814915"),
     "name": "张伟", "password": DEMO_PASSWORD, "role": "resident", "phone": "18890380814",
     "description_en": "Judgment-defaulter entry recorded with another 张伟's sex, birth "
                       "year and district: a department mix-up."},
    {"persona": "pilot_member", "id_number": with_check_digit("37108219900621919"),
     "name": "于海涛", "password": DEMO_PASSWORD, "role": "resident", "phone": "15335740621",
     "description_en": "Rongcheng resident opted in to the Rongcheng pilot, with 8 score "
                       "events over the past year and a blood-donor redlist entry."},
    {"persona": "new_resident", "id_number": with_check_digit("31010120010905920"),
     "name": "林晓燕", "password": DEMO_PASSWORD, "role": "resident", "phone": "17781660905",
     "description_en": "In the register but not activated: use her to try activation "
                       "(the password is the one to choose). A volunteer-honours redlist "
                       "entry and an expired railway entry."},
]

# The other 张伟: in the register (no account); the mix-up entry carries her identifiers.
NAMESAKE = {"id_number": with_check_digit("31011219820130918"), "name": "张伟",
            "birth_date": "1982-01-30", "sex": "F", "region_code": "310112",
            "phone": "13970512046"}

# Staff demo accounts, one per role; `flask create-admin` is the way to add real ones.
# Their offices are msgids, shown in the reader's language (an office an administrator
# types is shown as typed). Each is enrolled in the second factor with a published
# secret (base32), so demos and checks can make its codes (`pyotp.TOTP(secret).now()`,
# or any authenticator app).
ADMIN_ACCOUNTS: list[dict[str, Any]] = [
    {"persona": "pilot_admin", "login": "demo-pilot-admin", "password": DEMO_PASSWORD,
     "role": "pilot_admin", "pilot_code": "rongcheng",
     "display_name": N_("Rongcheng pilot administrator"),
     "totp_secret": "POZHBVOL6ZQXXH2CR5IQ47KDAJOJVVS5"},
    {"persona": "reviewer", "login": "demo-reviewer", "password": DEMO_PASSWORD,
     "role": "reviewer", "pilot_code": None, "display_name": N_("Corrections reviewer"),
     "totp_secret": "DBERCCDW4J4F4MEDBJLT62F2SN4E7RPS"},
    {"persona": "superadmin", "login": "demo-superadmin", "password": DEMO_PASSWORD,
     "role": "superadmin", "pilot_code": None, "display_name": N_("Superadministrator"),
     "totp_secret": "JPQGJ4K63QGXGBNYEU3T5SV2U6536EBC"},
]

# Capabilities that add demo rows for the personas, each in its own demo.py.
DEMO_CAPABILITIES = ("pilots", "corrections", "certificates")
SEED_ACTOR = "system:seed"


def demo_accounts() -> list[dict[str, Any]]:
    """The personas as `flask demo-accounts --json` prints them: residents, then staff
    (with the user name and the second factor's secret)."""
    return [{k: p[k] for k in ("persona", "id_number", "name", "password", "role")}
            for p in PERSONAS] + [
        {"persona": a["persona"], "username": a["login"], "password": a["password"],
         "role": a["role"], "totp_secret": a["totp_secret"]} for a in ADMIN_ACCOUNTS]


def persona(name: str) -> dict[str, Any]:
    return next(p for p in PERSONAS if p["persona"] == name)


def _register_row(p: dict[str, Any]) -> Resident:
    born = ric.get_birth_date(p["id_number"])
    sex = "M" if int(p["id_number"][16]) % 2 else "F"
    return (p["id_number"], p["name"], born.isoformat(), sex, p["id_number"][:6], p["phone"])


def create_personas(conn: Connection, today: date) -> dict[str, int]:
    """Add the demo personas: register rows, entries, accounts and each capability's demo
    rows. Dates are relative to `today`. Needs the catalog; fails if they exist."""
    def ago(days: int) -> date:
        return today - timedelta(days=days)

    lists = {row["code"]: row for row in rows(conn, "SELECT * FROM lists")}
    # A private generator, and document numbers from 900001 up, so personas look the
    # same whatever population came before (a department's yearly counter reaches about
    # 90,000 among 25 million residents).
    maker = EntryMaker(random.Random(20260101), today, lists, document_start=900_000)
    holders = {p["persona"]: _register_row(p) for p in PERSONAS}

    def entry(code: str, who: str, listed: date, status: str = "listed", **kwargs) -> dict:
        return maker.make(code, holders[who], listed_on=listed, status=status, **kwargs)

    # defaulter: open-ended judgment-defaulter entry and restriction order for one case.
    case = {"court": facts.court("310107"), "creditor": tuple(facts.table("facts")["creditors"][2]),
            "amount": 386_500, "ground": _ground(0),
            "case": maker.docs.next("judgment_defaulter", "310107", ago(200).year)}
    entry("judgment_defaulter", "defaulter", ago(200), context=case)
    entry("restricted_consumption", "defaulter", ago(200), context=case)
    entry("railway_misconduct", "defaulter", ago(600))  # ended 420 days ago
    entry("aviation_misconduct", "defaulter", ago(300), status="withdrawn", changed_on=ago(280))
    # train_expiring: the 180-day railway entry has 9 days left.
    entry("railway_misconduct", "train_expiring", ago(171))
    # expired_only: aviation (1 year) and railway (180 days), both past their end.
    entry("aviation_misconduct", "expired_only", ago(500))
    entry("railway_misconduct", "expired_only", ago(800))
    # focus_three: three departments' priority-scrutiny lists, all in force.
    entry("focus_market_regulation", "focus_three", ago(100))
    entry("focus_transport", "focus_three", ago(60))
    entry("focus_work_safety", "focus_three", ago(30))
    # mixup: the Minhang court recorded the other 张伟's sex, birth year and district.
    case = {"court": facts.court("310112"), "creditor": tuple(facts.table("facts")["creditors"][0]),
            "amount": 48_200, "ground": _ground(0),
            "case": maker.docs.next("judgment_defaulter", "310112", ago(45).year)}
    entry("judgment_defaulter", "mixup", ago(45), context=case,
          recorded=(NAMESAKE["name"], NAMESAKE["sex"], NAMESAKE["birth_date"],
                    NAMESAKE["region_code"]))
    # pilot_member: a redlist entry besides the pilot.
    entry("blood_donor", "pilot_member", ago(150))
    # new_resident: something to see right after activation (a redlist entry and an
    # expired railway entry), and nothing that restricts her.
    entry("volunteer_honours", "new_resident", ago(90))
    entry("railway_misconduct", "new_resident", ago(400))

    with write_transaction(conn):
        bulk.load(conn, "residents", RESIDENT_COLUMNS,
                  [*holders.values(), tuple(NAMESAKE[c] for c in RESIDENT_COLUMNS)])
        for made in maker.entries:
            _add_as_department(conn, made, maker)
        accounts = 0
        for i, p in enumerate(PERSONAS):
            if p["persona"] != "new_resident":
                activate(conn, p["id_number"], p["password"], iso_at(ago(400 - 20 * i), 10, 5))
                accounts += 1
        for admin in ADMIN_ACCOUNTS:
            staff_id = create_staff_account(conn, admin["login"], admin["password"],
                                            admin["role"], admin["display_name"],
                                            admin["pilot_code"], SEED_ACTOR, iso_at(ago(400), 9, 0))
            enrol_with_secret(conn, staff_id, admin["totp_secret"], iso_at(ago(400), 9, 5))
            accounts += 1
        ids = {p["persona"]: p["id_number"] for p in PERSONAS}
        counts: dict[str, int] = {}
        for capability in DEMO_CAPABILITIES:
            demo = importlib.import_module(f"credit_self.{capability}.demo")
            counts.update(demo.add_demo_data(conn, today, ids))
    return {"personas": len(PERSONAS), "persona_entries": len(maker.entries),
            "accounts": accounts, **counts}


def _ground(index: int) -> tuple:
    ground = facts.table("facts")["grounds"][index]
    return (ground["en"], ground["zh"], ground["days"])


def _add_as_department(conn: Connection, made: dict, maker: EntryMaker) -> None:
    """A persona's entry as its department listed it, then closed it if it did."""
    listing = {k: v for k, v in made.items() if k != "id"}
    status = listing["status"]
    listing["status"] = "listed"
    actor = f"source:{made['source_agency_zh']}"
    listed_at = iso_at(date.fromisoformat(made["listed_on"]))
    (entry_id,) = add_entries(conn, [listing], actor, listed_at, N_("department listing"))
    if status != "listed":
        reason = next(h["reason"] for h in maker.history if h["entry_id"] == made["id"])
        change_entry(conn, entry_id, {"status": status}, actor, made["updated_at"], reason)
