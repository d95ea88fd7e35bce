"""What a synthetic entry says: the department that recorded it, its document number and
the facts in plain words, in English and Chinese (tables in seed/population/)."""
from __future__ import annotations

import random
from datetime import date, timedelta

from .tables import pairs, table


def places() -> dict:
    return table("places")


def rongcheng() -> str:
    return places()["rongcheng"]


def is_shanghai(region: str) -> bool:
    return region.startswith("31")


def district_en(code: str) -> str:
    name = places()["regions"][code]["en"]
    return name if code in (rongcheng(), "310115") else f"{name} District"


def court(region: str) -> tuple[str, str, str]:
    """(English, Chinese, case-number code) of the basic-level court for a region."""
    if region == rongcheng():
        return ("Rongcheng People's Court, Shandong", "山东省荣成市人民法院", "鲁1082")
    zh = places()["regions"][region]["zh"]
    return (f"{district_en(region)} People's Court, Shanghai", f"上海市{zh}人民法院",
            f"沪{region[2:]}")


def agency(list_code: str, region: str) -> tuple[str, str]:
    """The department that keeps the entry, as (English, Chinese)."""
    if list_code in ("judgment_defaulter", "restricted_consumption"):
        return court(region)[:2]
    place = "shanghai" if is_shanghai(region) else "rongcheng"
    en, zh = table("facts")["agencies"][list_code][place]
    district = {"district_en": district_en(region), "district_zh": places()["regions"][region]["zh"]}
    return en.format(**district), zh.format(**district)


class DocumentNumbers:
    """Increasing, unique document numbers per department and year. Court case numbers
    follow the real pattern; the others are shaped like the departments' own.

    `start` fixes where every counter begins (the personas use a block from 900001, far
    above what the generator reaches); otherwise each starts at a random low number.
    """

    def __init__(self, rng: random.Random, start: int | None = None):
        self.rng = rng
        self.start = start
        self.counters: dict[str, int] = {}

    def _style(self, list_code: str, region: str, year: int) -> tuple[str, str, int]:
        """(counter key, format with {n}, zero-padding width)."""
        if list_code in ("judgment_defaulter", "restricted_consumption"):
            code = court(region)[2]
            return f"court:{code}:{year}", f"({year}){code}执{{n}}号", 0
        style = table("facts")["document_styles"][list_code]
        template = style["shanghai" if is_shanghai(region) else "rongcheng"]
        fmt = template.replace("{n}", "{{n}}").format(
            year=year, abbreviation=places()["regions"][region]["abbreviation"])
        return f"{list_code}:{fmt}", fmt, style["width"]

    def next(self, list_code: str, region: str, year: int) -> str:
        key, fmt, width = self._style(list_code, region, year)
        if key not in self.counters:
            self.counters[key] = self.start if self.start is not None else self.rng.randint(1, 120)
        n = self.counters[key] + self.rng.randint(1, 37)
        self.counters[key] = n
        return fmt.format(n=str(n).zfill(width) if width else n)


def court_case(rng: random.Random, documents: DocumentNumbers, region: str,
               listed_on: date) -> dict:
    """An enforcement case: court, case number, creditor, amount, ground of listing."""
    facts = table("facts")
    court_region = region
    shanghai = [code for code in places()["regions"] if is_shanghai(code)]
    # Most cases are heard where the debtor lives; some elsewhere in the city.
    if is_shanghai(region) and rng.random() < 0.2:
        court_region = rng.choice(shanghai)
    case_year = listed_on.year if rng.random() < 0.7 else listed_on.year - 1
    amount = int(min(5_000_000, max(3_000, rng.lognormvariate(11.4, 1.1))) // 100 * 100)
    case = documents.next("judgment_defaulter", court_region, case_year)
    creditor = tuple(rng.choice(facts["creditors"]))
    grounds = facts["grounds"]
    ground = rng.choices(grounds, weights=[g["weight"] for g in grounds])[0]
    return {
        "court": court(court_region),
        "case": case,
        "creditor": creditor,
        "amount": amount,
        "ground": (ground["en"], ground["zh"], ground["days"]),
    }


def _money(amount: int) -> str:
    return f"{amount:,}"


def facts_for(rng: random.Random, list_code: str, region: str, listed_on: date,
              context: dict) -> tuple[str, str]:
    """Plain-words facts of an entry (English, Chinese)."""
    data = table("facts")
    sh = is_shanghai(region)
    day = listed_on - timedelta(days=rng.randint(10, 60))
    day_en, day_zh = f"{day.day} {day:%B %Y}", f"{day.year}年{day.month}月{day.day}日"
    if list_code == "judgment_defaulter":
        court_en, court_zh, _ = context["court"]
        creditor_en, creditor_zh = context["creditor"]
        ground_en, ground_zh, _ = context["ground"]
        amount = context["amount"]
        return (
            f"Case {context['case']}: a judgment of {court_en} ordered you to pay "
            f"{_money(amount)} yuan to {creditor_en}. It has not been paid; {ground_en}.",
            f"{context['case']}：{court_zh}生效法律文书确定您应向{creditor_zh}支付"
            f"{amount}元，您未履行；{ground_zh}。",
        )
    if list_code == "restricted_consumption":
        court_en, court_zh, _ = context["court"]
        creditor_en, creditor_zh = context["creditor"]
        amount = context["amount"]
        return (
            f"In enforcement case {context['case']} ({_money(amount)} yuan owed to "
            f"{creditor_en}), {court_en} ordered you not to spend on high consumption "
            "until the judgment is performed.",
            f"在{context['case']}执行案件中（欠{creditor_zh}{amount}元），{court_zh}"
            "对您发出限制消费令，至履行完毕时止。",
        )
    if list_code == "railway_misconduct":
        train = rng.choice("GGGD") + str(rng.randint(1, 3999))
        station_en, station_zh = rng.choice(pairs(places()["stations"]))
        inc_en, inc_zh = rng.choice(pairs(data["rail_incidents"]))
        fine = rng.choice([200, 500, 1000, 2000])
        return (
            f"On {day_en} you {inc_en.format(train=train, station=station_en)}. "
            f"The railway police fined you {_money(fine)} yuan.",
            f"{day_zh}，您{inc_zh.format(train=train, station=station_zh)}。"
            f"铁路公安机关对您处以罚款{fine}元。",
        )
    if list_code == "aviation_misconduct":
        airports = pairs(places()["airports"])
        (a_en, a_zh), (b_en, b_zh) = rng.sample(airports, 2)
        if not sh:
            a_en, a_zh = airports[2]
        flight = rng.choice(["MU", "FM", "HO", "9C", "SC", "CA"]) + str(rng.randint(1001, 9899))
        inc_en, inc_zh = rng.choice(pairs(data["air_incidents"]))
        return (
            f"On {day_en} you {inc_en.format(flight=flight, a=a_en, b=b_en)}. "
            "The airport police imposed an administrative penalty.",
            f"{day_zh}，您{inc_zh.format(flight=flight, a=a_zh, b=b_zh)}。"
            "机场公安机关对您作出行政处罚。",
        )
    if list_code == "major_tax_violation":
        src_en, src_zh = rng.choice(pairs(data["tax_sources"]))
        amount = rng.randint(105, 900) * 10_000
        y2 = listed_on.year - rng.randint(1, 2)
        y1 = y2 - rng.randint(0, 2)
        years_en = f"{y1}" if y1 == y2 else f"{y1}-{y2}"
        years_zh = f"{y1}年" if y1 == y2 else f"{y1}年至{y2}年"
        return (
            f"A tax inspection found you evaded {_money(amount)} yuan of individual income "
            f"tax on {src_en} in {years_en}. Penalty decision issued; the tax, surcharges "
            "and fines were not paid within the time set.",
            f"经税务稽查，您{years_zh}{src_zh}少缴个人所得税{amount}元，已作出处罚决定，"
            "未在规定期限内缴清税款、滞纳金和罚款。",
        )
    if list_code == "procurement_dishonesty":
        proj_en, proj_zh = rng.choice(pairs(data["procurement_projects"]))
        years = context["years"]
        return (
            f"As the operator of an individual business, you submitted false qualification "
            f"documents in a bid for {proj_en}. You are barred from government procurement "
            f"for {years} year{'s' if years > 1 else ''} and fined.",
            f"您作为个体工商户经营者，在{proj_zh}投标中提供虚假资质材料，"
            f"被处以罚款并{years}年内禁止参加政府采购活动。",
        )
    if list_code == "focus_market_regulation":
        markets = places()["markets_shanghai" if sh else "markets_rongcheng"]
        market_en, market_zh = rng.choice(pairs(markets))
        inc_en, inc_zh = rng.choice(pairs(data["market_incidents"]))
        fine = rng.randint(2, 50) * 1000
        return (
            f"On {day_en} an inspection found that {inc_en.format(market=market_en)}. "
            f"Fined {_money(fine)} yuan; more frequent inspections for a year.",
            f"{day_zh}检查发现{inc_zh.format(market=market_zh)}，处罚款{fine}元；"
            "一年内增加检查频次。",
        )
    if list_code == "focus_transport":
        inc_en, inc_zh = rng.choice(pairs(data["transport_incidents"]))
        fine = rng.choice([0, 2000, 5000, 10000])
        fine_en = f" Fined {_money(fine)} yuan." if fine else ""
        fine_zh = f"处罚款{fine}元。" if fine else ""
        return (
            f"On {day_en} the transport authority found that {inc_en}.{fine_en}",
            f"{day_zh}，交通运输主管部门查实{inc_zh}。{fine_zh}",
        )
    if list_code == "focus_ecology":
        proj_en, proj_zh = rng.choice(pairs(data["ecology_projects"]))
        inc_en, inc_zh = rng.choice(pairs(data["ecology_incidents"]))
        points = rng.choice([10, 15, 20])
        return (
            f"On {day_en} a review found that {inc_en.format(project=proj_en)}. "
            f"{points} dishonesty points were recorded against you as its compiler.",
            f"{day_zh}经复核，{inc_zh.format(project=proj_zh)}，对您作为编制人员记失信记分{points}分。",
        )
    if list_code == "focus_work_safety":
        ws_en, ws_zh = rng.choice(pairs(data["workshops"]))
        inc_en, inc_zh = rng.choice(pairs(data["safety_incidents"]))
        fine = rng.randint(1, 30) * 1000
        return (
            f"On {day_en} an inspection found: "
            f"{inc_en.format(workshop=ws_en)}. Fined {_money(fine)} yuan.",
            f"{day_zh}检查发现：{inc_zh.format(workshop=ws_zh)}。处罚款{fine}元。",
        )
    if list_code == "taxpayer_a":
        year = listed_on.year - 1
        return (
            f"Your individual business was rated an A-level taxpayer for tax year {year}.",
            f"您经营的个体工商户被评为{year}年度纳税信用A级纳税人。",
        )
    if list_code == "blood_donor":
        award = rng.choice(data["blood_awards"])
        times = award["times"] + rng.randint(0, 9)
        since = listed_on.year - rng.randint(8, 20)
        return (
            f"You have donated blood {times} times since {since} and received {award['en']}.",
            f"您自{since}年起累计无偿献血{times}次，获{award['zh']}。",
        )
    if list_code == "volunteer_honours":
        star = rng.choice(data["volunteer_stars"])
        hours = star["hours"] + rng.randint(0, 90)
        return (
            f"You are a {star['stars']}-star registered volunteer with {hours} hours of "
            "service recorded.",
            f"您是{star['stars']}星级注册志愿者，累计记录志愿服务{hours}小时。",
        )
    raise ValueError(list_code)


def closing_reason(list_code: str, kind: str, status: str) -> str:
    """Why an entry was closed early (its history row says it)."""
    data = table("facts")
    if status == "withdrawn":
        return data["redlist_withdrawn_reason"] if kind == "redlist" else data["withdrawn_reason"]
    return data["restored_reasons"].get(list_code, data["default_restored_reason"])
