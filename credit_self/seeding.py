"""Seed data: the catalog in `seed/`, a deterministic synthetic population, demo personas.

No Flask here: every function takes a sqlite-utils `Database`, so the `flask seed`
command, the tests and the benchmark share them.

- `load_catalog` upserts lists, sanctions, list_sanctions, pilots and holidays from
  `seed/` and can be run again at any time.
- `generate_population` writes N residents with checksum-valid IDs, entries on every
  list at realistic rates, and Rongcheng pilot enrolments with score events. The same
  arguments always give the same rows (one `random.Random(seed)` drives everything).
- `create_personas` adds the named demo residents of `PERSONAS` (see `demo_accounts()`).

Every generated ID uses a sequence code from 001 to 899; the personas use 9xx codes, so
they can never collide with a generated resident.
"""
from __future__ import annotations

import bisect
import csv
import functools
import itertools
import json
import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database
from stdnum.cn import ric
from werkzeug.security import generate_password_hash

from .config import PROJECT_ROOT
from .db import write_transaction
from .identity import with_check_digit

SEED_DIR = PROJECT_ROOT / "seed"

# The password every demo account uses (at least 10 characters, as the app requires).
DEMO_PASSWORD = "demo-pass-2026"

FIRST_BIRTH_YEAR = 1940
LAST_BIRTH_YEAR = 2008
# Generated residents use sequence codes 001-899; 900-999 are kept for the personas.
MAX_GENERATED_SEQUENCE = 899


# ---------------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def load_catalog(db: Database, seed_dir: Path | str = SEED_DIR) -> dict[str, int]:
    """Upsert the catalog (lists, sanctions, list_sanctions, pilots, holidays).

    Safe to run again: rows are matched on their primary keys. A pilot that already
    exists keeps its status, so re-loading never resumes a pilot an administrator paused
    or closed.
    """
    seed_dir = Path(seed_dir)
    lists = _read_json(seed_dir / "lists.json")
    sanctions = _read_json(seed_dir / "sanctions.json")
    links = _read_json(seed_dir / "list_sanctions.json")
    pilots = _read_json(seed_dir / "pilots.json")
    with (seed_dir / "holidays.csv").open(encoding="utf-8", newline="") as f:
        holidays = list(csv.DictReader(f))

    with write_transaction(db):
        status_now = {row["code"]: row["status"]
                      for row in db.query("SELECT code, status FROM pilots")}
        pilot_rows = []
        for pilot in pilots:
            row = dict(pilot)
            row["grade_bands"] = json.dumps(pilot["grade_bands"], ensure_ascii=False)
            row["rules"] = json.dumps(pilot["rules"], ensure_ascii=False)
            row["status"] = status_now.get(row["code"], row["status"])
            pilot_rows.append(row)
        db.table("lists").upsert_all(lists, pk="code")
        db.table("sanctions").upsert_all(sanctions, pk="code")
        db.table("list_sanctions").upsert_all(links, pk=("list_code", "sanction_code"))
        db.table("pilots").upsert_all(pilot_rows, pk="code")
        db.table("holidays").upsert_all(holidays, pk="day")
    return {
        "lists": len(lists),
        "sanctions": len(sanctions),
        "list_sanctions": len(links),
        "pilots": len(pilots),
        "holidays": len(holidays),
    }


# ---------------------------------------------------------------------------------
# Places, agencies and names
# ---------------------------------------------------------------------------------

RONGCHENG = "371082"

# code: (English, Chinese, one-character abbreviation used in document numbers,
#        share of the generated population)
REGIONS: dict[str, tuple[str, str, str, float]] = {
    "310101": ("Huangpu", "黄浦区", "黄", 0.66),
    "310104": ("Xuhui", "徐汇区", "徐", 1.11),
    "310105": ("Changning", "长宁区", "长", 0.69),
    "310106": ("Jing'an", "静安区", "静", 0.98),
    "310107": ("Putuo", "普陀区", "普", 1.24),
    "310109": ("Hongkou", "虹口区", "虹", 0.76),
    "310110": ("Yangpu", "杨浦区", "杨", 1.24),
    "310112": ("Minhang", "闵行区", "闵", 2.65),
    "310113": ("Baoshan", "宝山区", "宝", 2.24),
    "310115": ("Pudong New Area", "浦东新区", "浦", 5.68),
    RONGCHENG: ("Rongcheng", "荣成市", "荣", 0.0),  # share set below: about 10 %
}
RONGCHENG_SHARE = 0.10


def _district_en(code: str) -> str:
    name = REGIONS[code][0]
    return name if code in (RONGCHENG, "310115") else f"{name} District"


@functools.lru_cache(maxsize=None)
def valid_birth_years(region_code: str) -> tuple[int, ...]:
    """Birth years for which stdnum accepts this region code.

    Some districts did not exist before a certain year (Minhang 1981, Baoshan 1988,
    Rongcheng 1989, Pudong 1992), and an ID that claims otherwise fails validation.
    """
    return tuple(
        year
        for year in range(FIRST_BIRTH_YEAR, LAST_BIRTH_YEAR + 1)
        if ric.is_valid(with_check_digit(f"{region_code}{year}0701001"))
        and ric.is_valid(with_check_digit(f"{region_code}{year}0101001"))
    )


def _birth_year_weight(year: int) -> float:
    """A rough age pyramid for a Chinese city in the 2020s."""
    if year < 1950:
        return 0.45
    if year < 1960:
        return 1.0
    if year < 1970:
        return 1.45
    if year < 1980:
        return 1.2
    if year < 1990:
        return 1.4
    if year < 2000:
        return 1.15
    return 0.85


def _zipf(items: list[str], exponent: float = 0.9) -> list[tuple[str, float]]:
    return [(item, 1.0 / (rank + 1) ** exponent) for rank, item in enumerate(items)]


def _head_and_tail(head: str, tail: str) -> list[tuple[str, float]]:
    """Weighted surnames: `head` is "姓:percent ..."; the tail shares the rest, tapering."""
    weighted = [(item.split(":")[0], float(item.split(":")[1])) for item in head.split()]
    names = tail.split()
    weighted += [(name, 1.0 - 0.7 * i / max(1, len(names) - 1)) for i, name in enumerate(names)]
    return weighted


# Surnames by rough frequency (percent of the population for the most common ones).
# Shanghai's ranking differs from the national one (陈, 徐, 朱, 沈, 陆, 顾 are far more
# common), and the Jiaodong peninsula around Rongcheng has its own (于, 曲, 鞠, 隋, 毕).
SURNAMES = {
    "sh": _head_and_tail(
        "张:5.6 王:5.5 陈:5.4 李:4.4 徐:3.5 朱:3.2 周:3.0 沈:2.6 陆:2.5 顾:2.3 吴:2.3 "
        "黄:2.2 杨:2.1 刘:2.0 钱:1.6 蒋:1.5 孙:1.5 金:1.4 胡:1.3 姚:1.2",
        "曹 施 郭 许 马 唐 宋 范 杜 邱 潘 俞 何 林 高 罗 汪 严 赵 郑 谢 袁 傅 戴 韩 冯 丁 "
        "叶 程 方 盛 邵 倪 龚 薛 秦 贺 夏 毛 卢 董 吕 蔡 彭 任 石 江 邹 季 尤 奚 乔 葛",
    ),
    "rc": _head_and_tail(
        "王:9.0 张:6.0 李:5.0 刘:4.5 孙:4.0 于:3.5 曲:2.5 邹:2.2 林:2.2 杨:2.0 赵:2.0 "
        "毕:1.8 宋:1.8 郭:1.7 陈:1.7 姜:1.6 董:1.5 徐:1.4 高:1.4 隋:1.2 鞠:1.2 丛:1.1",
        "梁 谷 袁 唐 连 车 慕 岳 马 周 吕 吴 郑 田 崔 胡 姚 苗 宫 滕 初 戚 乔 邵",
    ),
}

# Given names by sex and birth cohort (born before 1962, 1962-1981, 1982-1996, 1997 on).
# Each pool mixes single-character names, popular two-character names and names
# composed from a first and a second character, so a few names are very common (张伟,
# 王芳, 李静 ...) and most are rare, as in a real register.
_SINGLE = {
    ("M", 0): "明 华 强 忠 荣 海 斌 勇 林 平 刚 军 德 福 昌 生 根 祥 宝",
    ("M", 1): "伟 勇 军 磊 强 斌 涛 杰 波 辉 刚 健 明 峰 俊 东 平 华 毅 亮 鹏 凯 超 兵 雷",
    ("M", 2): "磊 鹏 浩 超 杰 涛 鑫 伟 宇 俊 斌 晨 凯 亮 帅 博 杨 成 坤 龙 飞 阳 翔 豪 晖",
    ("M", 3): "睿 浩 宇 轩 铭 哲 航 辰 晨 皓 锦 泽 昊 煜 翔 杰 凯 博 然 琦",
    ("F", 0): "红 英 芳 琴 珍 兰 梅 凤 华 萍 玲 娟 秀 英 霞 云 洁 敏",
    ("F", 1): "丽 静 敏 燕 艳 娟 霞 芳 红 萍 慧 琴 英 华 玲 莉 洁 颖 蓉 婷 梅 萍 雪 青",
    ("F", 2): "婷 丹 洁 倩 雪 琳 颖 佳 静 敏 欣 慧 璐 蕾 莹 娜 燕 露 瑶 梦 雯 菲 悦 婧 妍",
    ("F", 3): "涵 琪 欣 妍 萱 悦 怡 彤 玥 诺 瑶 婷 雯 琳 馨 然 睿 桐",
}
_POPULAR = {
    ("M", 0): "建国 建华 国华 国强 志刚 德明 建军 卫国 国庆 金生 福生 永康 振华 文华 宝山 "
    "玉林 根宝 桂林 国平 建平 正华 志明 德华 学文 长林 阿三 荣根 顺发",
    ("M", 1): "建军 建平 海波 海涛 志强 志伟 晓东 晓峰 文斌 立新 卫东 红兵 小军 建华 国伟 "
    "永刚 春雷 海峰 建国 志刚 伟民 卫国 建明 俊杰 永明 国栋",
    ("M", 2): "浩然 宇航 俊杰 家豪 文博 志远 明辉 子豪 嘉伟 天宇 一鸣 佳俊 晓龙 海涛 鹏飞 "
    "思远 振宇 文涛 晓东 俊豪 建伟 志强 伟杰 晨阳 海洋",
    ("M", 3): "宇轩 浩宇 子轩 梓豪 俊熙 皓轩 子墨 一诺 博文 思远 逸凡 嘉懿 明哲 浩然 梓睿 "
    "宇航 子豪 晨阳 天佑 俊宇 奕辰 昊天 锦程 梓轩 宇泽",
    ("F", 0): "秀英 桂英 秀兰 玉兰 桂兰 淑珍 凤英 玉珍 秀珍 金凤 美华 丽华 玉梅 凤兰 秀芳 "
    "月英 根娣 美娟 惠珍 雪英 素珍 玉英 宝娣 彩凤 兰英 金娣",
    ("F", 1): "丽娟 丽华 海燕 红梅 晓红 小红 春燕 雪梅 玉兰 秀梅 美玲 晓燕 卫红 红霞 丽萍 "
    "建英 海英 丽君 美华 文静 晓梅 秀丽 艳红 慧敏",
    ("F", 2): "婷婷 雪梅 晓燕 丹丹 佳佳 思雨 晶晶 文静 晓雯 佳慧 倩倩 莉莉 海燕 静怡 雅婷 "
    "梦瑶 颖颖 慧敏 诗雨 晓丽 雨婷 心怡 欣然",
    ("F", 3): "欣怡 梓涵 子涵 诗涵 可馨 雨涵 一诺 梓萱 思彤 欣妍 语嫣 佳怡 雨欣 紫涵 静怡 "
    "梦琪 若曦 诗琪 雨桐 佳琪 思雨 艺涵 子萱 心怡 可欣 语桐 晨曦",
}
_FIRST = {
    "M": "建 志 国 文 海 晓 永 俊 家 子 浩 明 天 宇 振 立 德 嘉 思 博 一 成 春 世 鹏",
    "F": "秀 丽 晓 美 雪 海 春 玉 佳 思 雨 欣 梦 静 诗 雅 慧 文 若 紫 艳 晶 凤 月 心",
}
_SECOND = {
    "M": "华 明 强 伟 军 平 东 杰 龙 涛 斌 峰 辉 宇 豪 轩 博 鸣 远 然 涛 安 林 航 晨",
    "F": "英 华 兰 梅 芳 红 燕 婷 丽 霞 琴 雯 怡 涵 琪 瑶 萱 妍 馨 彤 玲 洁 娜 颖 悦",
}
# Share of single-character, popular and composed names per cohort.
_NAME_MIX = {0: (0.25, 0.45, 0.30), 1: (0.35, 0.35, 0.30), 2: (0.25, 0.30, 0.45),
             3: (0.08, 0.35, 0.57)}


def _given_pool(sex: str, cohort: int) -> list[tuple[str, float]]:
    singles = [c for c in _SINGLE[sex, cohort].split() if len(c) == 1]
    popular = _POPULAR[sex, cohort].split()
    composed = [a + b for a in _FIRST[sex].split() for b in _SECOND[sex].split() if a != b]
    pool: dict[str, float] = {}
    for share, names, exponent in zip(_NAME_MIX[cohort], (singles, popular, composed),
                                      (0.7, 0.6, 0.3)):
        weighted = _zipf(list(dict.fromkeys(names)), exponent)
        total = sum(w for _, w in weighted)
        for name, w in weighted:
            pool[name] = pool.get(name, 0.0) + share * w / total
    return sorted(pool.items(), key=lambda item: (-item[1], item[0]))


GIVEN_NAMES = {(sex, cohort): _given_pool(sex, cohort) for sex in "MF" for cohort in range(4)}


def _cohort(year: int) -> int:
    if year < 1962:
        return 0
    if year < 1982:
        return 1
    if year < 1997:
        return 2
    return 3


class _Picker:
    """Weighted choice with one random number and a bisect (faster than rng.choices)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, weighted: list[tuple[str, float]]):
        self.items = [item for item, _ in weighted]
        self.cum = list(itertools.accumulate(w for _, w in weighted))
        self.total = self.cum[-1]

    def pick(self, u: float) -> str:
        """The item for a uniform number u in [0, 1)."""
        return self.items[bisect.bisect_right(self.cum, u * self.total)]


PHONE_PREFIXES = (
    "130 131 132 133 135 136 137 138 139 150 151 152 153 155 156 157 158 159 "
    "166 176 177 180 181 182 183 185 186 187 188 189 191 198 199"
).split()

CHECK_CHARACTERS = "0123456789X"


def _adult_from(birth_iso: str, age: int = 18) -> date:
    born = date.fromisoformat(birth_iso)
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February
        return born.replace(year=born.year + age, day=28)


# ---------------------------------------------------------------------------------
# Lists: how entries are generated
# ---------------------------------------------------------------------------------

# Share of residents holding each entry profile. A "profile" is one person's set of
# entries: a debtor is usually on both court lists for the same case.
PROFILE_RATES: dict[str, float] = {
    "debtor": 0.0045,  # judgment defaulter + restricted consumption, same case
    "defaulter_only": 0.0015,
    "restricted_only": 0.0010,
    "railway": 0.0015,
    "aviation": 0.0003,
    "tax": 0.0002,
    "procurement": 0.0001,
    "focus_market_regulation": 0.0030,
    "focus_transport": 0.0025,
    "focus_ecology": 0.0005,
    "focus_work_safety": 0.0020,
    "focus_three": 0.0002,  # on three focus lists at once: flagged for review
    "taxpayer_a": 0.0030,
    "blood_donor": 0.0100,
    "volunteer_honours": 0.0080,
}

PROFILE_LISTS: dict[str, tuple[str, ...]] = {
    "debtor": ("judgment_defaulter", "restricted_consumption"),
    "defaulter_only": ("judgment_defaulter",),
    "restricted_only": ("restricted_consumption",),
    "railway": ("railway_misconduct",),
    "aviation": ("aviation_misconduct",),
    "tax": ("major_tax_violation",),
    "procurement": ("procurement_dishonesty",),
    "focus_market_regulation": ("focus_market_regulation",),
    "focus_transport": ("focus_transport",),
    "focus_ecology": ("focus_ecology",),
    "focus_work_safety": ("focus_work_safety",),
    "taxpayer_a": ("taxpayer_a",),
    "blood_donor": ("blood_donor",),
    "volunteer_honours": ("volunteer_honours",),
}
FOCUS_LISTS = (
    "focus_market_regulation",
    "focus_transport",
    "focus_ecology",
    "focus_work_safety",
)

# Publication tier (NDRC credit-repair measures): minor <= 3 months, general 3 months to
# 1 year, serious 1 to 3 years. Redlists are rewards; their tier is nominal ("minor").
LIST_TIER = {
    "judgment_defaulter": "serious",
    "restricted_consumption": "serious",
    "railway_misconduct": "general",
    "aviation_misconduct": "serious",
    "major_tax_violation": "serious",
    "procurement_dishonesty": "serious",
    "focus_market_regulation": "general",
    "focus_transport": "general",
    "focus_ecology": "general",
    "focus_work_safety": "general",
    "taxpayer_a": "minor",
    "blood_donor": "minor",
    "volunteer_honours": "minor",
}

# Days the listing date may lie in the past, and the chance an entry was closed early.
LIST_WINDOW_DAYS = {
    "judgment_defaulter": 1460,
    "restricted_consumption": 1460,
    "railway_misconduct": 400,
    "aviation_misconduct": 730,
    "major_tax_violation": 1800,
    "procurement_dishonesty": 1500,
    "taxpayer_a": 700,
    "blood_donor": 1400,
    "volunteer_honours": 1400,
}
FOCUS_WINDOW_DAYS = 700
P_WITHDRAWN = 0.03
P_RESTORED = {
    "judgment_defaulter": 0.30,
    "restricted_consumption": 0.30,
    "railway_misconduct": 0.08,
    "major_tax_violation": 0.15,
    "procurement_dishonesty": 0.10,
    "focus_market_regulation": 0.20,
    "focus_transport": 0.20,
    "focus_ecology": 0.20,
    "focus_work_safety": 0.20,
}
# Share of negative entries recorded with another same-name resident's identifiers.
P_MIXUP = 0.03


def _is_shanghai(region: str) -> bool:
    return region.startswith("31")


def _court(region: str) -> tuple[str, str, str]:
    """(English, Chinese, case-number code) of the basic-level court for a region."""
    if region == RONGCHENG:
        return ("Rongcheng People's Court, Shandong", "山东省荣成市人民法院", "鲁1082")
    en, zh, _, _ = REGIONS[region]
    return (f"{_district_en(region)} People's Court, Shanghai", f"上海市{zh}人民法院",
            f"沪{region[2:]}")


def _agency(list_code: str, region: str) -> tuple[str, str]:
    """The department that keeps the entry, as (English, Chinese)."""
    sh = _is_shanghai(region)
    district_en, district_zh = _district_en(region), REGIONS[region][1]
    if list_code in ("judgment_defaulter", "restricted_consumption"):
        return _court(region)[:2]
    table = {
        "railway_misconduct": (
            ("China Railway Shanghai Group", "中国铁路上海局集团有限公司") if sh
            else ("China Railway Jinan Group", "中国铁路济南局集团有限公司")),
        "aviation_misconduct": (
            "CAAC East China Regional Administration", "中国民用航空华东地区管理局"),
        "major_tax_violation": (
            ("First Inspection Bureau, Shanghai Municipal Tax Service, STA",
             "国家税务总局上海市税务局第一稽查局") if sh
            else ("Inspection Bureau, Weihai Municipal Tax Service, STA",
                  "国家税务总局威海市税务局稽查局")),
        "procurement_dishonesty": (
            ("Shanghai Municipal Finance Bureau", "上海市财政局") if sh
            else ("Rongcheng Finance Bureau", "荣成市财政局")),
        "focus_market_regulation": (
            (f"{district_en} Administration for Market Regulation, Shanghai",
             f"上海市{district_zh}市场监督管理局") if sh
            else ("Rongcheng Administration for Market Regulation", "荣成市市场监督管理局")),
        "focus_transport": (
            ("Shanghai Municipal Transportation Commission", "上海市交通委员会") if sh
            else ("Rongcheng Transport Bureau", "荣成市交通运输局")),
        "focus_ecology": (
            ("Shanghai Municipal Bureau of Ecology and Environment", "上海市生态环境局") if sh
            else ("Rongcheng Branch, Weihai Bureau of Ecology and Environment",
                  "威海市生态环境局荣成分局")),
        "focus_work_safety": (
            (f"{district_en} Emergency Management Bureau, Shanghai",
             f"上海市{district_zh}应急管理局") if sh
            else ("Rongcheng Emergency Management Bureau", "荣成市应急管理局")),
        "taxpayer_a": (
            ("Shanghai Municipal Tax Service, STA", "国家税务总局上海市税务局") if sh
            else ("Rongcheng Municipal Tax Service, STA", "国家税务总局荣成市税务局")),
        "blood_donor": (
            ("Shanghai Municipal Health Commission", "上海市卫生健康委员会") if sh
            else ("Rongcheng Health Bureau", "荣成市卫生健康局")),
        "volunteer_honours": (
            ("Shanghai Volunteer Association", "上海市志愿者协会") if sh
            else ("Rongcheng Volunteer Federation", "荣成市志愿服务联合会")),
    }
    return table[list_code]


# Document-number styles. Court case numbers follow the real pattern; the others are
# illustrative but shaped like the departments' own decision numbers.
def _doc_prefix(list_code: str, region: str, year: int) -> tuple[str, str, int]:
    """(key for the counter, format string with {n}, zero-padding width)."""
    sh = _is_shanghai(region)
    abbr = REGIONS[region][2]
    if list_code in ("judgment_defaulter", "restricted_consumption"):
        code = _court(region)[2]
        return (f"court:{code}:{year}", f"({year}){code}执{{n}}号", 0)
    styles = {
        "railway_misconduct": ("上铁客信" if sh else "济铁客信") + f"〔{year}〕第{{n}}号",
        "aviation_misconduct": f"民航华东局信〔{year}〕第{{n}}号",
        "major_tax_violation": ("沪税稽一罚" if sh else "威税稽罚") + f"〔{year}〕{{n}}号",
        "procurement_dishonesty": ("沪财采罚" if sh else "荣财采罚") + f"〔{year}〕{{n}}号",
        "focus_market_regulation": (f"沪市监{abbr}处" if sh else "荣市监处") + f"〔{year}〕{{n}}号",
        "focus_transport": ("沪交执罚" if sh else "荣交罚") + f"〔{year}〕{{n}}号",
        "focus_ecology": ("沪环评信" if sh else "威环荣评信") + f"〔{year}〕{{n}}号",
        "focus_work_safety": (f"(沪{abbr})应急罚" if sh else "(荣)应急罚") + f"〔{year}〕{{n}}号",
        "taxpayer_a": ("沪税信A" if sh else "荣税信A") + f"〔{year}〕{{n}}号",
        "blood_donor": ("沪献血奖" if sh else "荣献血奖") + f"〔{year}〕{{n}}号",
        "volunteer_honours": ("沪志愿星" if sh else "荣志愿星") + f"〔{year}〕{{n}}号",
    }
    width = {"railway_misconduct": 5, "taxpayer_a": 6, "blood_donor": 5,
             "volunteer_honours": 5}.get(list_code, 0)
    fmt = styles[list_code]
    return (f"{list_code}:{fmt}", fmt, width)


class _DocumentNumbers:
    """Increasing, unique document numbers per department and year.

    `start` fixes where every counter begins (the personas use a block from 90001, far
    above what the generator reaches); otherwise each starts at a random low number.
    """

    def __init__(self, rng: random.Random, start: int | None = None):
        self.rng = rng
        self.start = start
        self.counters: dict[str, int] = {}

    def next(self, list_code: str, region: str, year: int) -> str:
        key, fmt, width = _doc_prefix(list_code, region, year)
        if key not in self.counters:
            self.counters[key] = self.start if self.start is not None else self.rng.randint(1, 120)
        n = self.counters[key] + self.rng.randint(1, 37)
        self.counters[key] = n
        return fmt.format(n=str(n).zfill(width) if width else n)


CREDITORS = [
    ("a commercial bank (credit card debt)", "某商业银行（信用卡欠款）"),
    ("a former employer", "原用人单位"),
    ("a building materials supplier", "某建材供应商"),
    ("a private lender", "个人出借人"),
    ("a landlord (unpaid rent)", "出租人（欠付租金）"),
    ("a car finance company", "某汽车金融公司"),
    ("a home decoration company", "某装饰工程公司"),
    ("a former business partner", "原合伙人"),
    ("a small-loan company", "某小额贷款公司"),
    ("an injured party in a traffic accident", "交通事故受害人"),
]
# SPC Provisions (2017) Art. 1: grounds for listing; (1) has no fixed term.
GROUNDS = [
    ("you had the means to pay but refused (Art. 1(1)); listed until you perform",
     "有履行能力而拒不履行（第一条第（一）项），履行前不删除", None),
    ("you did not report your property as the court ordered (Art. 1(4))",
     "违反财产报告制度（第一条第（四）项）", 730),
    ("you broke the court's consumption restriction order (Art. 1(5))",
     "违反限制消费令（第一条第（五）项）", 730),
    ("you did not keep to a settlement agreement without good reason (Art. 1(6))",
     "无正当理由拒不履行执行和解协议（第一条第（六）项）", 730),
    ("you moved property out of reach to evade enforcement (Art. 1(3)); term extended by 1 year",
     "以转移财产方法规避执行（第一条第（三）项），期限延长一年", 1095),
]
GROUND_WEIGHTS = [40, 25, 10, 20, 5]

STATIONS = [
    ("Shanghai Hongqiao", "上海虹桥"), ("Shanghai", "上海"), ("Shanghai South", "上海南"),
    ("Suzhou", "苏州"), ("Nanjing South", "南京南"), ("Hangzhou East", "杭州东"),
    ("Beijing South", "北京南"), ("Jinan West", "济南西"), ("Qingdao North", "青岛北"),
    ("Weihai", "威海"), ("Rongcheng", "荣成"), ("Hefei South", "合肥南"),
]
RAIL_INCIDENTS = [
    ("smoked in a carriage of bullet train {train}", "在{train}次动车组列车车厢内吸烟"),
    ("occupied another passenger's reserved seat on train {train} and refused to move",
     "在{train}次列车上霸占他人座位且拒不改正"),
    ("travelled on train {train} with another person's ticket and ID card",
     "冒用他人车票及身份证件乘坐{train}次列车"),
    ("travelled on train {train} without a ticket and refused to pay the fare",
     "无票乘坐{train}次列车且拒不补票"),
    ("held the doors of train {train} open at {station}, delaying its departure",
     "在{station}站扒阻{train}次列车车门，致列车晚点"),
]
AIRPORTS = [
    ("Shanghai Hongqiao", "上海虹桥"), ("Shanghai Pudong", "上海浦东"),
    ("Weihai Dashuibo", "威海大水泊"), ("Yantai Penglai", "烟台蓬莱"),
    ("Beijing Capital", "北京首都"), ("Guangzhou Baiyun", "广州白云"),
    ("Chengdu Tianfu", "成都天府"), ("Shenzhen Bao'an", "深圳宝安"),
    ("Kunming Changshui", "昆明长水"), ("Xiamen Gaoqi", "厦门高崎"),
]
AIR_INCIDENTS = [
    ("smoked in the lavatory on flight {flight} from {a} to {b}",
     "在{a}飞往{b}的{flight}航班上于卫生间内吸烟"),
    ("opened an emergency exit on flight {flight} at {a} airport without authorisation",
     "在{a}机场擅自打开{flight}航班的应急出口"),
    ("blocked the boarding gate at {a} airport after flight {flight} was delayed",
     "因{flight}航班延误在{a}机场堵塞登机口"),
    ("fought with another passenger over luggage space on flight {flight} from {a} to {b}",
     "在{a}飞往{b}的{flight}航班上因行李架与他人打架"),
    ("boarded flight {flight} from {a} to {b} with another person's ID card",
     "冒用他人身份证件乘坐{a}飞往{b}的{flight}航班"),
]
TAX_SOURCES = [
    ("income from live-streamed sales", "直播带货收入"),
    ("rental income from several flats", "多套房屋出租收入"),
    ("fees disguised as business income of a sole proprietorship", "通过个人独资企业转换收入性质的劳务报酬"),
    ("gains from transferring company shares", "股权转让所得"),
]
PROCUREMENT_PROJECTS = [
    ("office furniture for a district school", "区属学校办公家具采购项目"),
    ("street lighting maintenance", "道路照明维护项目"),
    ("food supply for a hospital canteen", "医院食堂食材配送项目"),
    ("IT equipment for a sub-district office", "街道办事处信息化设备采购项目"),
    ("cleaning services for a community health centre", "社区卫生服务中心保洁服务项目"),
]
MARKET_INCIDENTS = [
    ("you sold food past its use-by date at your stall in {market}",
     "您在{market}的摊位销售超过保质期的食品"),
    ("you ran a takeaway kitchen without a food business licence",
     "您未取得食品经营许可证经营外卖厨房"),
    ("your restaurant failed its hygiene re-inspection", "您经营的餐馆卫生复查不合格"),
    ("you used food additives beyond the permitted range in baked goods",
     "您在烘焙食品中超范围使用食品添加剂"),
]
MARKETS_SH = [("Caoyang wet market", "曹杨菜市场"), ("Tianlin market", "田林菜场"),
              ("Sanlin market", "三林菜市场"), ("Dahua market", "大华菜市场")]
MARKETS_RC = [("Shidao seafood market", "石岛海鲜市场"), ("Chengshan market", "成山集市")]
TRANSPORT_INCIDENTS = [
    ("you drove for a ride-hailing platform without a ride-hailing driver's permit",
     "您未取得网络预约出租汽车驾驶员证从事网约车经营"),
    ("you refused passengers and took detours as a taxi driver (3 complaints upheld)",
     "您作为出租汽车驾驶员拒载、绕道（3起投诉属实）"),
    ("your taxi service reputation assessment was rated B",
     "您的出租汽车驾驶员服务质量信誉考核等级为B级"),
]
ECOLOGY_PROJECTS = [
    ("a logistics warehouse", "物流仓储项目"), ("a printing works", "印刷厂项目"),
    ("a seafood processing plant", "水产品加工厂项目"), ("a car repair workshop", "汽车维修厂项目"),
]
ECOLOGY_INCIDENTS = [
    ("an EIA report you compiled for {project} copied large parts of another report",
     "您编制的{project}环境影响报告书大量抄袭其他报告"),
    ("an EIA form you compiled for {project} left out a protected water source nearby",
     "您编制的{project}环境影响报告表遗漏周边饮用水水源保护区"),
]
WORKSHOPS = [("garment workshop", "服装加工作坊"), ("small warehouse", "小型仓库"),
             ("metal-working shop", "五金加工店"), ("restaurant kitchen", "餐馆后厨")]
SAFETY_INCIDENTS = [
    ("as manager of a {workshop}, you did not fix a fire hazard by the deadline",
     "作为{workshop}负责人，未按期整改火灾隐患"),
    ("your {workshop} stored flammable materials in an escape route",
     "您负责的{workshop}在疏散通道堆放易燃物品"),
    ("workers at your {workshop} welded without special-operation certificates",
     "您负责的{workshop}作业人员未持特种作业操作证进行焊接作业"),
]
BLOOD_AWARDS = [
    (20, "the Bronze Award for Voluntary Blood Donation", "无偿献血奉献奖铜奖"),
    (30, "the Silver Award for Voluntary Blood Donation", "无偿献血奉献奖银奖"),
    (40, "the Gold Award for Voluntary Blood Donation", "无偿献血奉献奖金奖"),
]
VOLUNTEER_STARS = [(1, 100), (2, 300), (3, 600), (4, 1000), (5, 1500)]


def _money(amount: int) -> str:
    return f"{amount:,}"


def _facts(rng: random.Random, list_code: str, region: str, listed_on: date,
           context: dict) -> tuple[str, str]:
    """Plain-words facts of an entry (English, Chinese)."""
    sh = _is_shanghai(region)
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
        station_en, station_zh = rng.choice(STATIONS)
        inc_en, inc_zh = rng.choice(RAIL_INCIDENTS)
        fine = rng.choice([200, 500, 1000, 2000])
        return (
            f"On {day_en} you {inc_en.format(train=train, station=station_en)}. "
            f"The railway police fined you {_money(fine)} yuan.",
            f"{day_zh}，您{inc_zh.format(train=train, station=station_zh)}。"
            f"铁路公安机关对您处以罚款{fine}元。",
        )
    if list_code == "aviation_misconduct":
        (a_en, a_zh), (b_en, b_zh) = rng.sample(AIRPORTS, 2)
        if not sh:
            a_en, a_zh = AIRPORTS[2]
        flight = rng.choice(["MU", "FM", "HO", "9C", "SC", "CA"]) + str(rng.randint(1001, 9899))
        inc_en, inc_zh = rng.choice(AIR_INCIDENTS)
        return (
            f"On {day_en} you {inc_en.format(flight=flight, a=a_en, b=b_en)}. "
            "The airport police imposed an administrative penalty.",
            f"{day_zh}，您{inc_zh.format(flight=flight, a=a_zh, b=b_zh)}。"
            "机场公安机关对您作出行政处罚。",
        )
    if list_code == "major_tax_violation":
        src_en, src_zh = rng.choice(TAX_SOURCES)
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
        proj_en, proj_zh = rng.choice(PROCUREMENT_PROJECTS)
        years = context["years"]
        return (
            f"As the operator of an individual business, you submitted false qualification "
            f"documents in a bid for {proj_en}. You are barred from government procurement "
            f"for {years} year{'s' if years > 1 else ''} and fined.",
            f"您作为个体工商户经营者，在{proj_zh}投标中提供虚假资质材料，"
            f"被处以罚款并{years}年内禁止参加政府采购活动。",
        )
    if list_code == "focus_market_regulation":
        market_en, market_zh = rng.choice(MARKETS_SH if sh else MARKETS_RC)
        inc_en, inc_zh = rng.choice(MARKET_INCIDENTS)
        fine = rng.randint(2, 50) * 1000
        return (
            f"On {day_en} an inspection found that {inc_en.format(market=market_en)}. "
            f"Fined {_money(fine)} yuan; more frequent inspections for a year.",
            f"{day_zh}检查发现{inc_zh.format(market=market_zh)}，处罚款{fine}元；"
            "一年内增加检查频次。",
        )
    if list_code == "focus_transport":
        inc_en, inc_zh = rng.choice(TRANSPORT_INCIDENTS)
        fine = rng.choice([0, 2000, 5000, 10000])
        fine_en = f" Fined {_money(fine)} yuan." if fine else ""
        fine_zh = f"处罚款{fine}元。" if fine else ""
        return (
            f"On {day_en} the transport authority found that {inc_en}.{fine_en}",
            f"{day_zh}，交通运输主管部门查实{inc_zh}。{fine_zh}",
        )
    if list_code == "focus_ecology":
        proj_en, proj_zh = rng.choice(ECOLOGY_PROJECTS)
        inc_en, inc_zh = rng.choice(ECOLOGY_INCIDENTS)
        points = rng.choice([10, 15, 20])
        return (
            f"On {day_en} a review found that {inc_en.format(project=proj_en)}. "
            f"{points} dishonesty points were recorded against you as its compiler.",
            f"{day_zh}经复核，{inc_zh.format(project=proj_zh)}，对您作为编制人员记失信记分{points}分。",
        )
    if list_code == "focus_work_safety":
        ws_en, ws_zh = rng.choice(WORKSHOPS)
        inc_en, inc_zh = rng.choice(SAFETY_INCIDENTS)
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
        times, award_en, award_zh = rng.choice(BLOOD_AWARDS)
        times += rng.randint(0, 9)
        since = listed_on.year - rng.randint(8, 20)
        return (
            f"You have donated blood {times} times since {since} and received {award_en}.",
            f"您自{since}年起累计无偿献血{times}次，获{award_zh}。",
        )
    if list_code == "volunteer_honours":
        stars, hours = rng.choice(VOLUNTEER_STARS)
        hours += rng.randint(0, 90)
        return (
            f"You are a {stars}-star registered volunteer with {hours} hours of service recorded.",
            f"您是{stars}星级注册志愿者，累计记录志愿服务{hours}小时。",
        )
    raise ValueError(list_code)


def _iso_at(day: date, hour: int = 9, minute: int = 0) -> str:
    """A UTC timestamp on `day`, in the format `clock.iso_now()` stores."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.utc).isoformat()


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


RESTORED_REASON = {
    "judgment_defaulter": "Judgment performed in full; the court deleted the entry.",
    "restricted_consumption": "Judgment performed; the court lifted the restriction order.",
}
DEFAULT_RESTORED_REASON = "Credit repair approved: conduct corrected and commitment letter filed."
WITHDRAWN_REASON = "Listed in error: the decision was revoked on review."
REDLIST_WITHDRAWN_REASON = "The resident asked not to have this good record published."

# A resident as the generator passes it around, in the register's column order.
RESIDENT_COLUMNS = ("id_number", "name", "birth_date", "sex", "region_code", "phone_masked")
Resident = tuple  # (id_number, name, birth_date, sex, region_code, phone_masked)


class _EntryMaker:
    """Builds entry rows, and the history row of each closed one, with unique document
    numbers. Ids are assigned here so the history can point at its entry."""

    def __init__(self, rng: random.Random, today: date, lists: dict[str, dict],
                 first_id: int = 1, document_start: int | None = None):
        self.rng = rng
        self.today = today
        self.lists = lists
        self.docs = _DocumentNumbers(rng, document_start)
        self.entries: list[dict] = []
        self.history: list[dict] = []
        self.next_id = first_id
        self.made: dict[str, int] = {}  # entries made per list, for the forced statuses
        self.last_context: dict = {}  # the court case of the last entry, for its twin

    def make(self, list_code: str, holder: Resident, *, context: dict | None = None,
             listed_on: date | None = None, recorded: tuple | None = None,
             status: str | None = None, changed_on: date | None = None,
             expires_on: date | None | bool = True) -> dict | None:
        """Add one entry about `holder`; None when the holder is too young to be listed.

        Without `status` the outcome is rolled: mostly listed (active or expired by its
        dates), sometimes withdrawn or restored early. The second and third entry made
        on each list are forced withdrawn and restored, so every group exists even in a
        small population. `expires_on=True` means "from the list's default period".
        """
        rng, today = self.rng, self.today
        id_number, name, birth_iso, sex, region, _phone = holder
        spec = self.lists[list_code]
        adult = _adult_from(birth_iso)
        if listed_on is None:
            window = LIST_WINDOW_DAYS.get(list_code, FOCUS_WINDOW_DAYS)
            listed_on = today - timedelta(days=rng.randint(1, window))
        if listed_on < adult:
            if adult >= today:
                return None
            listed_on = adult + timedelta(days=rng.randint(0, (today - adult).days - 1))
        context = dict(context or {})
        if list_code in ("judgment_defaulter", "restricted_consumption") and "case" not in context:
            context.update(self._court_case(region, listed_on))
        if expires_on is True:
            days = spec["default_days"]
            if list_code == "judgment_defaulter":
                days = context["ground"][2]
            elif list_code == "procurement_dishonesty":
                context.setdefault("years", rng.choice([1, 1, 2, 3]))
                days = 365 * context["years"]
            expires_on = listed_on + timedelta(days=days) if days else None
        elif list_code == "procurement_dishonesty":
            context.setdefault("years", 1)

        reason = None
        if status is None:
            status, changed_on = self._roll_status(list_code, spec, listed_on, expires_on)
        if status == "withdrawn":
            reason = REDLIST_WITHDRAWN_REASON if spec["kind"] == "redlist" else WITHDRAWN_REASON
        elif status == "restored":
            reason = RESTORED_REASON.get(list_code, DEFAULT_RESTORED_REASON)

        facts_en, facts_zh = _facts(rng, list_code, region, listed_on, context)
        if "case" in context:
            document_no = context["case"]
            agency_en, agency_zh = context["court"][:2]
        else:
            document_no = self.docs.next(list_code, region, listed_on.year)
            agency_en, agency_zh = _agency(list_code, region)
        rec_name, rec_sex, rec_birth, rec_region = recorded or (name, sex, birth_iso, region)
        entry = {
            "id": self.next_id,
            "list_code": list_code,
            "id_number": id_number,
            "recorded_name": rec_name,
            "recorded_sex": rec_sex,
            "recorded_birth_year": int(rec_birth[:4]),
            "recorded_region_code": rec_region,
            "tier": LIST_TIER[list_code],
            "facts_en": facts_en,
            "facts_zh": facts_zh,
            "document_no": document_no,
            "source_agency_en": agency_en,
            "source_agency_zh": agency_zh,
            "listed_on": listed_on.isoformat(),
            "expires_on": expires_on.isoformat() if expires_on else None,
            "status": status,
            "updated_at": _iso_at(changed_on or listed_on, rng.randint(1, 9), rng.randint(0, 59)),
        }
        self.next_id += 1
        self.entries.append(entry)
        self.last_context = context
        if status != "listed":
            self.history.append({
                "entry_id": entry["id"],
                "at": entry["updated_at"],
                "actor": f"source:{agency_en}",
                "field": "status",
                "old_value": "listed",
                "new_value": status,
                "reason": reason,
            })
        return entry

    def _roll_status(self, list_code: str, spec: dict, listed_on: date,
                     expires_on: date | None) -> tuple[str, date | None]:
        rng = self.rng
        n = self.made.get(list_code, 0)
        self.made[list_code] = n + 1
        p_restored = P_RESTORED.get(list_code, 0.0)
        roll = rng.random()
        if n == 1 or (n != 2 and roll < P_WITHDRAWN):
            status = "withdrawn"
        elif (n == 2 and p_restored) or (n != 2 and roll < P_WITHDRAWN + p_restored):
            status = "restored"
        else:
            return "listed", None
        earliest = listed_on + timedelta(days=7 if status == "withdrawn" else 30)
        if status == "restored" and spec["restoration_min_days"]:
            earliest = listed_on + timedelta(days=spec["restoration_min_days"])
        latest = (min(expires_on, self.today) if expires_on else self.today) - timedelta(days=1)
        if earliest > latest:
            return "listed", None
        return status, earliest + timedelta(days=rng.randint(0, (latest - earliest).days))

    def _court_case(self, region: str, listed_on: date) -> dict:
        rng = self.rng
        # Most cases are heard where the debtor lives; some elsewhere in the city.
        court_region = region
        if _is_shanghai(region) and rng.random() < 0.2:
            court_region = rng.choice([c for c in REGIONS if _is_shanghai(c)])
        case_year = listed_on.year if rng.random() < 0.7 else listed_on.year - 1
        amount = int(min(5_000_000, max(3_000, rng.lognormvariate(11.4, 1.1))) // 100 * 100)
        return {
            "court": _court(court_region),
            "case": self.docs.next("judgment_defaulter", court_region, case_year),
            "creditor": rng.choice(CREDITORS),
            "amount": amount,
            "ground": rng.choices(GROUNDS, weights=GROUND_WEIGHTS)[0],
        }


# ---------------------------------------------------------------------------------
# Scoring pilot: Rongcheng enrolments and events
# ---------------------------------------------------------------------------------

ENROL_SHARE = 0.30
EVENT_WEIGHTS = {
    "volunteer_service": 30,
    "traffic_ticket": 30,
    "blood_donation": 14,
    "charitable_donation": 12,
    "unpaid_fine": 8,
    "heroic_act": 2,
    "drunk_driving": 2,
}
EVENT_DETAILS: dict[str, tuple[list[str], str]] = {
    "traffic_ticket": ([
        "Speeding on Chengshan Avenue (camera record)",
        "Ran a red light at the Shidao Road junction",
        "Parked on the pavement on Binhai Road",
        "Used a phone while driving on the Rongcheng ring road",
    ], "Rongcheng Public Security Traffic Police Brigade"),
    "drunk_driving": ([
        "Drunk driving on Binhai Road: blood alcohol over 80 mg/100 ml",
    ], "Rongcheng People's Court"),
    "unpaid_fine": ([
        "Fine for illegal street trading not paid within 15 days",
        "Fine for dumping construction waste not paid within 15 days",
    ], "Rongcheng Comprehensive Administrative Law Enforcement Bureau"),
    "heroic_act": ([
        "Rescued a swimmer off Shidao Bay; recognised as an act of bravery",
        "Stopped a bag snatcher at Rongcheng bus station; recognised as an act of bravery",
    ], "Rongcheng Committee for Rewarding Acts of Bravery"),
    "volunteer_service": ([
        "20 hours with the Swan Lake conservation volunteers",
        "20 hours with the community elderly-care volunteer team",
        "20 hours of traffic-safety volunteering at school gates",
    ], "Rongcheng Volunteer Federation"),
    "blood_donation": ([
        "Voluntary blood donation at the Rongcheng blood donation station",
    ], "Weihai Central Blood Station"),
    "charitable_donation": ([
        "Donation to the Rongcheng Charity Federation's winter heating fund",
        "Donation to a school library fund through a registered charity",
    ], "Rongcheng Charity Federation"),
}


def _score_event(pilot: str, rules: dict, id_number: str, event_type: str, reason: str,
                 occurred: date, recorded: date, hour: int, minute: int) -> dict:
    return {
        "pilot_code": pilot,
        "id_number": id_number,
        "event_type": event_type,
        "delta": int(rules[event_type]["points"]),
        "reason": reason,
        "source": EVENT_DETAILS[event_type][1],
        "occurred_on": occurred.isoformat(),
        "recorded_at": _iso_at(recorded, hour, minute),
    }


def _random_score_events(rng: random.Random, pilot: str, rules: dict, id_number: str,
                         since: date, today: date, count: int) -> list[dict]:
    """Events after the opt-in, drawn only from rules that name a legal basis."""
    usable = [t for t in EVENT_WEIGHTS if rules.get(t, {}).get("legal_basis_en")]
    weights = [EVENT_WEIGHTS[t] for t in usable]
    span = (today - since).days
    events = []
    for _ in range(count):
        event_type = rng.choices(usable, weights=weights)[0]
        occurred = since + timedelta(days=rng.randint(1, max(1, span - 1)))
        recorded = min(today, occurred + timedelta(days=rng.randint(0, 3)))
        events.append(_score_event(pilot, rules, id_number, event_type,
                                   rng.choice(EVENT_DETAILS[event_type][0]), occurred,
                                   recorded, rng.randint(1, 9), rng.randint(0, 59)))
    events.sort(key=lambda e: e["occurred_on"])
    return events


def _pilot_rules(db: Database, code: str) -> dict | None:
    rows = list(db.query("SELECT rules FROM pilots WHERE code = ?", [code]))
    return json.loads(rows[0]["rules"]) if rows else None


def _enrolment_rows(pilot: str, id_number: str, at: str) -> tuple[dict, dict]:
    return (
        {"pilot_code": pilot, "id_number": id_number, "state": "in", "changed_at": at},
        {"pilot_code": pilot, "id_number": id_number, "old_state": None, "new_state": "in",
         "at": at, "actor": f"resident:{id_number}", "note": "Opted in with informed consent"},
    )


# ---------------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------------


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Split `total` into integer counts proportional to `shares` (largest remainder)."""
    weight = sum(shares.values())
    exact = {k: total * v / weight for k, v in shares.items()}
    counts = {k: int(v) for k, v in exact.items()}
    rest = total - sum(counts.values())
    for k in sorted(exact, key=lambda k: (counts[k] - exact[k], k))[:rest]:
        counts[k] += 1
    return counts


def _region_keys(rng: random.Random, region: str, count: int) -> list[int]:
    """`count` distinct sorted keys `birth_day_ordinal * 1000 + sequence` for a region.

    Sorted keys give IDs in ascending order, which makes the primary-key inserts
    appends instead of random B-tree writes (about three times faster).
    """
    years = valid_birth_years(region)
    cum = list(itertools.accumulate(_birth_year_weight(y) for y in years))
    starts = {y: date(y, 1, 1).toordinal() for y in years}
    lengths = {y: date(y, 12, 31).toordinal() - starts[y] + 1 for y in years}
    keys: set[int] = set()
    randrange = rng.randrange
    while len(keys) < count:
        for year in rng.choices(years, cum_weights=cum, k=count - len(keys)):
            keys.add((starts[year] + randrange(lengths[year])) * 1000
                     + randrange(1, MAX_GENERATED_SEQUENCE + 1))
    return sorted(keys)


def generate_population(db: Database, residents: int, seed: int, today: date) -> dict[str, int]:
    """Write `residents` synthetic residents with entries, enrolments and score events.

    Deterministic: the same (residents, seed, today) always writes the same rows. Run it
    once, after `load_catalog`, on an empty register (the CLI refuses a populated one).
    Everything is written in one transaction.
    """
    rng = random.Random(seed)
    lists = {row["code"]: row for row in db.query("SELECT * FROM lists")}
    missing = {code for codes in PROFILE_LISTS.values() for code in codes} - set(lists)
    if missing:
        raise ValueError(f"load the catalog first: lists missing {sorted(missing)}")
    rongcheng_rules = _pilot_rules(db, "rongcheng")

    # Region sizes, and who holds which kind of entry, are decided up front so the
    # resident rows can stream straight into SQLite.
    shanghai = {code: w for code, (_, _, _, w) in REGIONS.items() if code != RONGCHENG}
    region_counts = _split(round(residents * (1 - RONGCHENG_SHARE)), shanghai)
    region_counts[RONGCHENG] = residents - sum(region_counts.values())
    profile_counts = {p: max(1, round(residents * r)) for p, r in PROFILE_RATES.items()}
    # Twice as many candidates as holders, so each profile can keep the ones of a
    # plausible age (no 80-year-old ride-hailing drivers).
    chosen = rng.sample(range(residents), min(residents, 2 * sum(profile_counts.values())))
    candidate_of: dict[int, str] = {}
    position = 0
    for profile, count in profile_counts.items():
        for index in chosen[position:position + 2 * count]:
            candidate_of[index] = profile
        position += 2 * count
    # Besides the many natural namesakes (张伟, 王芳 ...), one resident in 400 gets the
    # exact name of a recent resident of the same sex.
    namesakes = set(rng.sample(range(residents), min(residents, max(2, residents // 400))))

    candidates: list[tuple[str, Resident]] = []
    to_enrol: list[tuple[str, str]] = []  # (id_number, birth_date)
    adult_cutoff = _years_before(today, 18).isoformat()

    def resident_rows() -> Iterator[tuple]:
        yield RESIDENT_COLUMNS
        days: dict[int, tuple[str, str, int]] = {}
        recent = {"M": ["张伟", "王伟", "李伟"], "F": ["王芳", "李静", "张敏"]}
        given = {key: _Picker(pool) for key, pool in GIVEN_NAMES.items()}
        random_, getrandbits = rng.random, rng.getrandbits
        n_prefixes = len(PHONE_PREFIXES)
        index = 0
        for region in sorted(region_counts):
            surnames = _Picker(SURNAMES["rc" if region == RONGCHENG else "sh"])
            is_rongcheng = region == RONGCHENG
            for key in _region_keys(rng, region, region_counts[region]):
                ordinal, seq = divmod(key, 1000)
                day = days.get(ordinal)
                if day is None:
                    d = date.fromordinal(ordinal)
                    day = days[ordinal] = (d.strftime("%Y%m%d"), d.isoformat(), d.year)
                first17 = f"{region}{day[0]}{seq:03d}"
                # ISO 7064 MOD 11-2, as stdnum.cn.ric.calc_check_digit computes it.
                id_number = first17 + CHECK_CHARACTERS[(1 - 2 * int(first17, 13)) % 11]
                sex = "M" if seq & 1 else "F"
                pool = recent[sex]
                if index in namesakes:
                    name = pool[getrandbits(16) % len(pool)]
                else:
                    name = surnames.pick(random_()) + given[sex, _cohort(day[2])].pick(random_())
                    if len(pool) < 256:
                        pool.append(name)
                    else:
                        pool[getrandbits(8)] = name
                bits = getrandbits(24)
                phone = f"{PHONE_PREFIXES[bits % n_prefixes]}****{(bits >> 6) % 10000:04d}"
                row = (id_number, name, day[1], sex, region, phone)
                profile = candidate_of.get(index)
                if profile is not None:
                    candidates.append((profile, row))
                if is_rongcheng and day[1] <= adult_cutoff and random_() < ENROL_SHARE:
                    to_enrol.append((id_number, day[1]))
                index += 1
                yield row

    counts: dict[str, int] = {}
    with _bulk_load_pragmas(db), write_transaction(db):
        # Secondary indexes are rebuilt once after the load (measured: about 20 % faster
        # than keeping the name index up to date row by row). Their SQL is read back
        # from the schema, so they come back exactly as the migrations made them.
        with _indexes_rebuilt_after(db, "residents"):
            db.table("residents").insert_all(resident_rows(), batch_size=10_000)
        counts["residents"] = residents

        first_id = (db.execute("SELECT max(id) FROM entries").fetchone()[0] or 0) + 1
        maker = _EntryMaker(rng, today, lists, first_id)
        for profile, holder in _pick_holders(candidates, profile_counts, today):
            _entries_for_profile(db, maker, profile, holder)
        db.table("entries").insert_all(maker.entries, batch_size=10_000)
        db.table("entry_history").insert_all(maker.history, batch_size=10_000)
        counts["entries"] = len(maker.entries)

        enrolments, enrolment_history, events = [], [], []
        if rongcheng_rules is not None:
            for id_number, birth_iso in to_enrol:
                first = max(_adult_from(birth_iso), today - timedelta(days=1100))
                if first >= today - timedelta(days=30):
                    continue
                joined = first + timedelta(days=rng.randint(0, (today - first).days - 30))
                enrolment, history = _enrolment_rows(
                    "rongcheng", id_number, _iso_at(joined, rng.randint(0, 12), rng.randint(0, 59)))
                enrolments.append(enrolment)
                enrolment_history.append(history)
                events += _random_score_events(rng, "rongcheng", rongcheng_rules, id_number,
                                               joined, today, rng.choice((0, 1, 2, 3, 3, 4, 5, 6)))
        db.table("enrolments").insert_all(enrolments, batch_size=10_000)
        db.table("enrolment_history").insert_all(enrolment_history, batch_size=10_000)
        db.table("score_events").insert_all(events, batch_size=10_000)
        counts["enrolments"] = len(enrolments)
        counts["score_events"] = len(events)
    return counts


# Plausible ages (on the seed date) of the people on each profile.
PROFILE_AGES: dict[str, tuple[int, int]] = {
    "debtor": (22, 80), "defaulter_only": (22, 80), "restricted_only": (22, 80),
    "railway": (18, 80), "aviation": (20, 75), "tax": (25, 70), "procurement": (25, 65),
    "focus_market_regulation": (22, 70), "focus_transport": (21, 60),
    "focus_ecology": (24, 60), "focus_work_safety": (25, 65), "focus_three": (25, 60),
    "taxpayer_a": (25, 70), "blood_donor": (18, 60), "volunteer_honours": (18, 80),
}


def _pick_holders(candidates: list[tuple[str, Resident]], counts: dict[str, int],
                  today: date) -> list[tuple[str, Resident]]:
    """Per profile, the first `count` candidates of a plausible age (any age if short)."""
    picked = []
    for profile, count in counts.items():
        pool = [row for p, row in candidates if p == profile]
        low, high = PROFILE_AGES[profile]
        fits, rest = [], []
        for row in pool:
            (fits if low <= today.year - int(row[2][:4]) <= high else rest).append(row)
        picked += [(profile, row) for row in (fits + rest)[:count]]
    return picked


def _entries_for_profile(db: Database, maker: _EntryMaker, profile: str, holder: Resident) -> None:
    rng = maker.rng
    if profile == "focus_three":
        # Three departments' lists at once, all in force: the case the platform flags.
        for code in rng.sample(FOCUS_LISTS, 3):
            maker.make(code, holder, status="listed",
                       listed_on=maker.today - timedelta(days=rng.randint(5, 300)))
        return
    codes = PROFILE_LISTS[profile]
    recorded = None
    if maker.lists[codes[0]]["kind"] != "redlist" and rng.random() < P_MIXUP:
        recorded = _namesake_identifiers(db, holder)
    first = maker.make(codes[0], holder, recorded=recorded)
    if first is None or len(codes) == 1:
        return
    # A debtor's restriction order comes from the same enforcement case and stays until
    # the judgment is performed, when both entries close together.
    restored = first["status"] == "restored"
    maker.make(codes[1], holder, context=maker.last_context, recorded=recorded,
               listed_on=date.fromisoformat(first["listed_on"]),
               status="restored" if restored else "listed",
               changed_on=date.fromisoformat(first["updated_at"][:10]) if restored else None)


def _namesake_identifiers(db: Database, holder: Resident) -> tuple | None:
    """(name, sex, birth date, region) of another resident with the same name, whose
    identifiers a department might record by mistake; None if there is none."""
    for other in db.query(
        "SELECT name, sex, birth_date, region_code FROM residents "
        "WHERE name = ? AND id_number != ? ORDER BY id_number LIMIT 5",
        [holder[1], holder[0]],
    ):
        if (other["birth_date"][:4], other["region_code"]) != (holder[2][:4], holder[4]):
            return (other["name"], other["sex"], other["birth_date"], other["region_code"])
    return None


class _indexes_rebuilt_after:
    """Drop a table's plain (non-unique) indexes, and recreate them on exit."""

    def __init__(self, db: Database, table: str):
        self.db = db
        self.table = table
        self.indexes: list[tuple[str, str]] = []

    def __enter__(self) -> None:
        self.indexes = [
            (row[0], row[1])
            for row in self.db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'",
                [self.table],
            ).fetchall()
        ]
        for name, _ in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        # On an error the transaction rolls back, which restores the dropped indexes.
        if exc_type is None:
            for _, sql in self.indexes:
                self.db.execute(sql)


class _bulk_load_pragmas:
    """Fast PRAGMAs for a bulk load, restored afterwards.

    synchronous=OFF skips fsync: a crash mid-seed may corrupt the file, which is
    acceptable for a seed that is re-run from scratch.
    """

    NAMES = ("synchronous", "cache_size", "temp_store")

    def __init__(self, db: Database):
        self.db = db
        self.saved: dict[str, int] = {}

    def __enter__(self) -> None:
        self.saved = {n: self.db.execute(f"PRAGMA {n}").fetchone()[0] for n in self.NAMES}
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("PRAGMA cache_size = -262144")  # 256 MiB
        self.db.execute("PRAGMA temp_store = MEMORY")

    def __exit__(self, *exc: object) -> None:
        for name, value in self.saved.items():
            self.db.execute(f"PRAGMA {name} = {int(value)}")


# ---------------------------------------------------------------------------------
# Demo personas
# ---------------------------------------------------------------------------------

# Fixed IDs with sequence codes 9xx, which the generator never uses.
PERSONAS: list[dict[str, Any]] = [
    {"persona": "clean", "id_number": with_check_digit("31010419900315902"),
     "name": "陈静", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Shanghai (Xuhui) resident with no entries at all."},
    {"persona": "defaulter", "id_number": with_check_digit("31010719681123911"),
     "name": "刘建国", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Judgment defaulter with no end date, restricted from high "
                       "consumption (flight and rail restrictions apply); also an expired "
                       "railway entry and a withdrawn aviation entry."},
    {"persona": "train_expiring", "id_number": with_check_digit("31011019850709913"),
     "name": "赵磊", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Railway passenger misconduct entry that ends in 9 days."},
    {"persona": "expired_only", "id_number": with_check_digit("31010519790227904"),
     "name": "孙丽", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Only expired entries (aviation and railway): no restrictions."},
    {"persona": "focus_three", "id_number": with_check_digit("31010619750518906"),
     "name": "周海燕", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Three active priority-scrutiny entries from three departments: "
                       "flagged for review."},
    {"persona": "mixup", "id_number": with_check_digit("31011519930814915"),
     "name": "张伟", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Judgment-defaulter entry recorded with another 张伟's sex, birth "
                       "year and district: a department mix-up."},
    {"persona": "pilot_member", "id_number": with_check_digit("37108219900621919"),
     "name": "于海涛", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "Rongcheng resident opted in to the Rongcheng pilot, with 8 score "
                       "events over the past year and a blood-donor redlist entry."},
    {"persona": "new_resident", "id_number": with_check_digit("31010120010905920"),
     "name": "林晓燕", "password": DEMO_PASSWORD, "role": "resident",
     "description_en": "In the register but not activated: use her to try activation "
                       "(the password is the one to choose). A volunteer-honours redlist "
                       "entry and an expired railway entry."},
]
PERSONA_PHONES = {
    "clean": "138****0315", "defaulter": "136****1123", "train_expiring": "186****0709",
    "expired_only": "159****0227", "focus_three": "137****0518", "mixup": "188****0814",
    "pilot_member": "153****0621", "new_resident": "177****0905",
}

# The other 张伟: in the register (no account); the mix-up entry carries her identifiers.
NAMESAKE = {"id_number": with_check_digit("31011219820130918"), "name": "张伟",
            "birth_date": "1982-01-30", "sex": "F", "region_code": "310112",
            "phone_masked": "139****2046"}

# Staff demo accounts (not residents), one per role, inserted directly (unaudited, like
# the rest of the seed); `flask create-admin` is the audited way to add real ones.
ADMIN_ACCOUNTS: list[dict[str, Any]] = [
    {"persona": "pilot_admin", "login": "demo-pilot-admin", "password": DEMO_PASSWORD,
     "role": "pilot_admin", "pilot_code": "rongcheng",
     "display_name": "Rongcheng pilot administrator"},
    {"persona": "reviewer", "login": "demo-reviewer", "password": DEMO_PASSWORD,
     "role": "reviewer", "pilot_code": None, "display_name": "Corrections reviewer"},
    {"persona": "superadmin", "login": "demo-superadmin", "password": DEMO_PASSWORD,
     "role": "superadmin", "pilot_code": None, "display_name": "Superadministrator"},
]

PILOT_MEMBER_EVENTS = [  # (days ago, event type, reason)
    (350, "volunteer_service", "20 hours with the Swan Lake conservation volunteers"),
    (301, "traffic_ticket", "Speeding on Chengshan Avenue (camera record)"),
    (260, "blood_donation", "Voluntary blood donation at the Rongcheng blood donation station"),
    (214, "volunteer_service", "20 hours with the community elderly-care volunteer team"),
    (161, "heroic_act", "Rescued a swimmer off Shidao Bay; recognised as an act of bravery"),
    (97, "traffic_ticket", "Ran a red light at the Shidao Road junction"),
    (53, "charitable_donation", "Donation to the Rongcheng Charity Federation's winter heating fund"),
    (12, "volunteer_service", "20 hours of traffic-safety volunteering at school gates"),
]


def demo_accounts() -> list[dict[str, Any]]:
    """The resident personas as `flask demo-accounts --json` prints them."""
    return [{k: p[k] for k in ("persona", "id_number", "name", "password", "role")}
            for p in PERSONAS]


def _persona(name: str) -> dict[str, Any]:
    return next(p for p in PERSONAS if p["persona"] == name)


def _persona_resident(name: str) -> Resident:
    p = _persona(name)
    born = ric.get_birth_date(p["id_number"])
    sex = "M" if int(p["id_number"][16]) % 2 else "F"
    return (p["id_number"], p["name"], born.isoformat(), sex, p["id_number"][:6],
            PERSONA_PHONES[name])


def create_personas(db: Database, today: date) -> dict[str, int]:
    """Add the demo personas: register rows, entries, pilot history and accounts.

    Dates are relative to `today`. Every persona except `new_resident` has an activated
    account (login = ID number); the administrator accounts of `ADMIN_ACCOUNTS` are
    added too. Needs the catalog; fails if the personas already exist.
    """
    def ago(days: int) -> date:
        return today - timedelta(days=days)

    lists = {row["code"]: row for row in db.query("SELECT * FROM lists")}
    first_id = (db.execute("SELECT max(id) FROM entries").fetchone()[0] or 0) + 1
    # A private generator, and document numbers from 90001 up (far above what the
    # generator reaches), so personas look the same whatever population came before.
    maker = _EntryMaker(random.Random(20260101), today, lists, first_id, document_start=90000)

    def entry(code: str, who: str, listed: date, status: str = "listed", **kwargs) -> dict:
        return maker.make(code, _persona_resident(who), listed_on=listed, status=status, **kwargs)

    # defaulter: open-ended judgment-defaulter entry and restriction order for one case.
    case = {"court": _court("310107"), "creditor": CREDITORS[2], "amount": 386_500,
            "ground": GROUNDS[0],
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
    case = {"court": _court("310112"), "creditor": CREDITORS[0], "amount": 48_200,
            "ground": GROUNDS[0],
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

    member = _persona("pilot_member")["id_number"]
    rules = _pilot_rules(db, "rongcheng")
    if rules is None:
        raise ValueError("load the catalog first: the rongcheng pilot is missing")
    enrolment, enrolment_history = _enrolment_rows("rongcheng", member, _iso_at(ago(395), 2, 15))
    events = [
        _score_event("rongcheng", rules, member, kind, reason, ago(days), ago(max(0, days - 2)), 3, 10)
        for days, kind, reason in PILOT_MEMBER_EVENTS
    ]

    accounts = []
    for i, p in enumerate(PERSONAS):
        if p["persona"] == "new_resident":
            continue
        accounts.append({
            "login": p["id_number"], "id_number": p["id_number"],
            "password_hash": generate_password_hash(p["password"]),
            "role": p["role"], "pilot_code": None, "display_name": p["name"],
            "activated_at": _iso_at(ago(400 - 20 * i), 10, 5),
        })
    for admin in ADMIN_ACCOUNTS:
        accounts.append({
            "login": admin["login"], "id_number": None,
            "password_hash": generate_password_hash(admin["password"]),
            "role": admin["role"], "pilot_code": admin["pilot_code"],
            "display_name": admin["display_name"], "activated_at": _iso_at(ago(400), 9, 0),
        })

    register = [dict(zip(RESIDENT_COLUMNS, _persona_resident(p["persona"]))) for p in PERSONAS]
    with write_transaction(db):
        db.table("residents").insert_all(register + [dict(NAMESAKE)])
        db.table("entries").insert_all(maker.entries)
        db.table("entry_history").insert_all(maker.history)
        db.table("enrolments").insert(enrolment)
        db.table("enrolment_history").insert(enrolment_history)
        db.table("score_events").insert_all(events)
        db.table("accounts").insert_all(accounts)
        capability_rows = _capability_demo_data(db, today)
    return {"personas": len(PERSONAS), "persona_entries": len(maker.entries),
            "accounts": len(accounts), **capability_rows}


# Capabilities that add demo data for the personas (an open correction, a certificate,
# ...) do it in `credit_self/<capability>/demo.py` with `add_demo_data(db, today)`
# returning row counts; it runs inside the personas' transaction.
DEMO_CAPABILITIES = ("pilots", "corrections", "certificates", "transparency")


def _capability_demo_data(db: Database, today: date) -> dict[str, int]:
    import importlib

    counts: dict[str, int] = {}
    for capability in DEMO_CAPABILITIES:
        try:
            demo = importlib.import_module(f"credit_self.{capability}.demo")
        except ModuleNotFoundError as missing:
            if missing.name != f"credit_self.{capability}.demo":
                raise
            continue
        counts.update(demo.add_demo_data(db, today))
    return counts
