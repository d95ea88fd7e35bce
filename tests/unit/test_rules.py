from datetime import date

from credit_self.records import rules

TODAY = date(2026, 11, 22)


def entry(**overrides):
    base = {
        "id": 1,
        "status": "listed",
        "listed_on": "2026-01-10",
        "expires_on": None,
        "kind": "blacklist",
        "tier": "serious",
        "restoration_min_days": None,
        "sanctions": [{"code": "no_air"}],
    }
    base.update(overrides)
    return base


def test_listed_without_end_date_is_active():
    assert rules.entry_state(entry(), TODAY) == rules.ACTIVE


def test_entry_ends_on_its_expiry_date():
    assert rules.entry_state(entry(expires_on="2026-11-23"), TODAY) == rules.ACTIVE
    assert rules.entry_state(entry(expires_on="2026-11-22"), TODAY) == rules.EXPIRED
    assert rules.entry_state(entry(expires_on="2025-01-01"), TODAY) == rules.EXPIRED


def test_listing_date_in_future_is_not_yet_in_force():
    assert rules.entry_state(entry(listed_on="2026-11-23"), TODAY) == rules.PENDING
    assert rules.entry_state(entry(listed_on="2026-11-22"), TODAY) == rules.ACTIVE


def test_an_entry_with_a_notice_period_counts_only_from_publish_on():
    noticed = entry(listed_on="2026-11-20", publish_on="2026-12-05",
                    sanctions=[{"code": "no_rail"}])
    assert rules.entry_state(noticed, TODAY) == rules.PENDING
    assert rules.entry_state(noticed, date(2026, 12, 5)) == rules.ACTIVE
    summary = rules.summarise([noticed], TODAY, 14)
    assert summary.restrictions == [] and [e["id"] for e in summary.notices] == [1]


def test_withdrawn_and_restored_win_over_dates():
    assert rules.entry_state(entry(status="withdrawn"), TODAY) == rules.WITHDRAWN
    assert rules.entry_state(entry(status="restored", expires_on="2030-01-01"), TODAY) == rules.RESTORED


def test_restrictions_come_only_from_active_blacklist_entries():
    entries = [
        entry(id=1, sanctions=[{"code": "no_air"}, {"code": "no_rail"}]),
        entry(id=2, sanctions=[{"code": "no_air"}]),  # same sanction counted once
        entry(id=3, expires_on="2026-01-01", sanctions=[{"code": "no_property"}]),
        entry(id=4, status="withdrawn", sanctions=[{"code": "no_hotels"}]),
        entry(id=5, kind="focus", sanctions=[]),
        entry(id=6, listed_on="2027-01-01", sanctions=[{"code": "no_tourism"}]),
    ]
    summary = rules.summarise(entries, TODAY, 14)
    assert [s["code"] for s in summary.restrictions] == ["no_air", "no_rail"]
    assert sorted(e["id"] for e in summary.active) == [1, 2, 5]
    assert [e["id"] for e in summary.notices] == [6]
    assert [e["id"] for e in summary.expired] == [3]
    assert [e["id"] for e in summary.closed] == [4]


def test_groups_are_newest_first():
    entries = [
        entry(id=1, listed_on="2024-01-01"),
        entry(id=2, listed_on="2026-05-01"),
        entry(id=3, listed_on="2025-03-01"),
    ]
    assert [e["id"] for e in rules.summarise(entries, TODAY, 14).active] == [2, 3, 1]


def test_no_entries_means_no_restrictions():
    summary = rules.summarise([], TODAY, 14)
    assert summary.restrictions == [] and summary.total == 0 and not summary.focus_flagged


def test_three_active_focus_entries_raise_the_flag_two_do_not():
    focus = [entry(id=i, kind="focus", tier="general", sanctions=[]) for i in range(1, 4)]
    assert rules.summarise(focus, TODAY, 14).focus_flagged
    assert not rules.summarise(focus[:2], TODAY, 14).focus_flagged
    expired_third = focus[:2] + [entry(id=9, kind="focus", expires_on="2026-01-01", sanctions=[])]
    assert not rules.summarise(expired_third, TODAY, 14).focus_flagged


def test_expiring_soon_uses_the_warning_window():
    entries = [
        entry(id=1, expires_on="2026-12-06"),  # 14 days
        entry(id=2, expires_on="2026-12-07"),  # 15 days
    ]
    assert [e["id"] for e in rules.summarise(entries, TODAY, 14).expiring_soon] == [1]


def test_earliest_repair_date_uses_the_longer_of_list_and_tier_minimum():
    assert rules.earliest_repair_date(
        entry(restoration_min_days=180, tier="general", listed_on="2026-01-01")
    ) == date(2026, 6, 30)
    assert rules.earliest_repair_date(
        entry(restoration_min_days=0, tier="serious", listed_on="2026-01-01")
    ) == date(2027, 1, 1)
    assert rules.earliest_repair_date(entry(restoration_min_days=None)) is None
    assert rules.earliest_repair_date(entry(kind="redlist", restoration_min_days=0)) is None


def test_identifier_differences_spot_a_mix_up():
    resident = {"name": "张伟", "sex": "M", "birth_date": "1985-06-12", "region_code": "310104"}
    same = {"recorded_name": "张伟", "recorded_sex": "M", "recorded_birth_year": 1985, "recorded_region_code": "310104"}
    assert rules.identifier_differences(same, resident) == []
    other = dict(same, recorded_birth_year=1979, recorded_region_code="310115")
    assert [d["field"] for d in rules.identifier_differences(other, resident)] == ["birth_year", "region_code"]
