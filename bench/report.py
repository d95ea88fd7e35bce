"""The report: Markdown tables (endpoints per engine, resources, the audit page) with
notes, and the same numbers as JSON with every raw wrk output.

Floors are reported as pass or **MISSED** and never fail the command; a result is
INVALID (and the command exits non-zero) only when the numbers do not describe the page.
"""
from __future__ import annotations

import math
import statistics
from typing import Any

from load import Target

ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# p99 floors hold at this size and load (see Endpoint.p99_floor_ms).
FLOOR_RESIDENTS = 1_000_000
FLOOR_CONNECTIONS = 16
POSTGRESQL_FLOOR = 0.7  # PostgreSQL's req/s at least this share of SQLite's
AUDIT_TARGET = 1.15  # the long log's page time at most this multiple of the short one's
NOISY_SPREAD = 0.15  # baseline runs further apart than this: a busy machine


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(target: Target) -> dict[str, Any]:
    """Medians over the rounds, totals of errors, and whether the load got the page."""
    runs = target.runs
    requests = sum(r.get("requests", 0) for r in runs)
    errors = {k: sum(r["socket_errors"][k] for r in runs)
              for k in ("connect", "read", "write", "timeout")}
    summary = {
        "rps": median([r["rps"] for r in runs]),
        "p50_ms": median([r["p50_ms"] for r in runs]),
        "p99_ms": median([r["p99_ms"] for r in runs]),
        "ratio": median(target.ratios) if target.ratios else None,
        "requests": requests,
        "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in runs),
        "socket_errors": errors,
        "bytes_per_request": round(sum(r.get("bytes", 0) for r in runs) / requests)
        if requests else 0,
        # CPU ms per request of each server (app; PostgreSQL's), median over the rounds.
        "cpu_ms": {name: median([r["cpu_ms"][name] for r in runs if name in r.get("cpu_ms", {})])
                   for name in target.cpu},
    }
    if summary["non_2xx_3xx"]:
        target.problems.append(f"{summary['non_2xx_3xx']:,} non-2xx/3xx responses")
    if errors["timeout"]:
        target.problems.append(f"{errors['timeout']:,} requests timed out")
    if sum(errors.values()) - errors["timeout"] >= 0.01 * max(requests, 1):
        target.problems.append(f"socket errors {errors}")
    if target.probe_bytes and summary["bytes_per_request"] < 0.5 * target.probe_bytes:
        target.problems.append(f"wrk read {summary['bytes_per_request']:,} bytes a response, "
                               f"the checked page has {target.probe_bytes:,}")
    return summary


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _size(kib: float) -> str:
    return f"{kib / 1024 ** 2:.2f} GiB" if kib >= 1024 ** 2 else f"{kib / 1024:.0f} MiB"


def endpoint_table(groups: list[list[Target]], summaries: dict[int, dict],
                   engines: list[str], settings: Any) -> tuple[str, list[str]]:
    """One row per endpoint: each engine's numbers, PostgreSQL/SQLite, floors, result."""
    both = len(engines) == 2
    floors_apply = (settings.residents >= FLOOR_RESIDENTS
                    and settings.connections == FLOOR_CONNECTIONS)
    head = ["endpoint"]
    for engine in engines:
        name = ENGINE_NAMES[engine]
        head += [f"{name} req/s", "p50 ms", "p99 ms", "× baseline"]
    head += (["PostgreSQL / SQLite"] if both else []) + ["floors", "result"]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 3) + "|---|---|"]
    notes = []
    for group in groups:
        cells, missed, floor_text = [group[0].name], [], []
        endpoint = group[0].endpoint
        for target in group:
            s = summaries[id(target)]
            cells += [f"{s['rps']:,.0f}", _ms(s["p50_ms"]), _ms(s["p99_ms"]),
                      f"{s['ratio']:.2f}"]
            if endpoint.p99_floor_ms is not None and floors_apply \
                    and not s["p99_ms"] < endpoint.p99_floor_ms:
                missed.append(f"{ENGINE_NAMES[target.engine]} p99 {s['p99_ms']:.1f} ms")
        if endpoint.p99_floor_ms is not None:
            floor_text.append(f"p99 < {endpoint.p99_floor_ms:g} ms"
                              + ("" if floors_apply else " (at 1M, 16 conn.)"))
        if both:
            ratio = summaries[id(group[1])]["rps"] / summaries[id(group[0])]["rps"]
            cells.append(f"{ratio:.2f}")
            floor_text.append(f"PostgreSQL ≥ {POSTGRESQL_FLOOR}× SQLite")
            if ratio < POSTGRESQL_FLOOR:
                missed.append(f"PostgreSQL/SQLite {ratio:.2f}")
        if any(t.problems for t in group):
            result = "INVALID"
        elif missed:
            result = "**MISSED** (" + "; ".join(missed) + ")"
            notes.append(f"- **{group[0].name}** missed a floor: {'; '.join(missed)}")
        else:
            result = "pass" if floor_text else "—"
        lines.append("| " + " | ".join(cells + ["; ".join(floor_text) or "—", result]) + " |")
    return "\n".join(lines), notes


def cpu_table(baseline: Target, groups: list[list[Target]], summaries: dict[int, dict],
              engines: list[str]) -> str:
    """CPU milliseconds per request: the app's gunicorn processes, and PostgreSQL's server
    processes (SQLite works inside the app). Unlike req/s, this hardly moves when other
    work shares the machine."""
    columns = [(e, "app") for e in engines] + (
        [("postgresql", "database server")] if "postgresql" in engines else [])
    head = ["endpoint"] + [f"{ENGINE_NAMES[e]} {part.split()[-1]}" for e, part in columns]
    both = len(engines) == 2
    if both:
        head.append("PostgreSQL ÷ SQLite")
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]

    def cell(value: float | None) -> str:
        return "—" if value is None or math.isnan(value) else f"{value:.2f}"

    base_cpu = summaries[id(baseline)]["cpu_ms"].get("app")
    lines.append("| baseline | " + " | ".join(
        [cell(base_cpu)] + ["" for _ in columns[1:]] + ([""] if both else [])) + " |")
    for group in groups:
        by_engine = {t.engine: summaries[id(t)]["cpu_ms"] for t in group}
        values = [by_engine[e].get(part) for e, part in columns]
        row = [group[0].name] + [cell(v) for v in values]
        if both:
            sqlite = by_engine["sqlite"].get("app")
            postgresql = sum(by_engine["postgresql"].values())
            row.append(f"{postgresql / sqlite:.2f}" if sqlite else "—")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def resources_table(databases: dict[str, Any], memory: dict[str, int]) -> str:
    engines = list(databases)
    lines = ["| | " + " | ".join(ENGINE_NAMES[e] for e in engines) + " |",
             "|---" + "|---:" * len(engines) + "|"]

    def row(label: str, cell: Any) -> None:
        lines.append(f"| {label} | " + " | ".join(cell(e) for e in engines) + " |")

    row("residents", lambda e: f"{databases[e].info['residents']:,}")
    row("seed time", lambda e: f"{databases[e].info['seed_seconds']:.0f} s"
        + (" (reused)" if databases[e].info.get("reused") else ""))
    row("seed peak memory", lambda e: _size(databases[e].info["seed_peak_rss_kb"]))
    row("database size", lambda e: _size(databases[e].info["size_bytes"] / 1024))
    row("app server peak memory", lambda e: _size(memory.get(f"app-{e}", 0)))
    return "\n".join(lines)


def audit_table(results: dict[str, list[dict]]) -> tuple[str, list[str]]:
    sizes = [r["audit_rows"] for r in next(iter(results.values()))]
    lines = ["| engine | " + " | ".join(f"{n:,} rows" for n in sizes)
             + " | ratio | target | result |",
             "|---" + "|---:" * (len(sizes) + 1) + "|---|---|"]
    notes = []
    for engine, found in results.items():
        ratio = found[-1]["median_ms"] / found[0]["median_ms"]
        result = "pass" if ratio <= AUDIT_TARGET else f"**MISSED** ({ratio:.2f})"
        if ratio > AUDIT_TARGET:
            notes.append(f"- **/admin/audit** on {ENGINE_NAMES[engine]}: {ratio:.2f}× slower "
                         f"with {sizes[-1]:,} rows than with {sizes[0]:,}")
        lines.append(f"| {ENGINE_NAMES[engine]} | "
                     + " | ".join(f"{_ms(r['median_ms'])} ms" for r in found)
                     + f" | {ratio:.2f} | ≤ {AUDIT_TARGET} | {result} |")
    return "\n".join(lines), notes


def render(header: str, settings: Any, baseline: Target | None, groups: list[list[Target]],
           databases: dict[str, Any], memory: dict[str, int],
           audit: dict[str, list[dict]], load_before: float) -> tuple[str, dict[str, Any]]:
    """The Markdown report and the JSON data."""
    engines = list(databases) or list(audit)
    summaries = {id(t): summarise(t) for t in ([baseline] if baseline else [])
                 + [t for g in groups for t in g]}
    parts, notes = [header], []
    if groups:
        b = summaries[id(baseline)]
        table, missed = endpoint_table(groups, summaries, engines, settings)
        parts += ["## Endpoints", table,
                  f"Baseline (hello world): {b['rps']:,.0f} req/s, p50 {_ms(b['p50_ms'])} ms, "
                  f"p99 {_ms(b['p99_ms'])} ms, peak memory {_size(memory.get('baseline', 0))}."]
        notes += missed
        parts += ["## CPU per request (ms, median over the rounds)",
                  cpu_table(baseline, groups, summaries, engines)]
        if "postgresql" in engines and not any(
                "database server" in t.cpu for g in groups for t in g):
            notes.append("- PostgreSQL's server CPU was not measured: the server is not on "
                         "this machine, or its data directory cannot be read.")
        for target in [baseline, *(t for g in groups for t in g)]:
            notes += [f"- **{target.name} {target.engine or ''}**: {p}" for p in target.problems]
        spread = [r["rps"] for r in baseline.runs]
        if len(spread) > 1 and (max(spread) - min(spread)) / median(spread) > NOISY_SPREAD:
            notes.append(f"- ⚠ The baseline's req/s varied from {min(spread):,.0f} to "
                         f"{max(spread):,.0f}: something else was using the CPU.")
        for target in (t for g in groups for t in g):
            if len(target.runs) > 1:
                notes.append(f"- {target.name} on {ENGINE_NAMES[target.engine]}: req/s per "
                             "round " + ", ".join(f"{r['rps']:,.0f}" for r in target.runs))
        notes.append("- req/s, p50 and p99 are medians over the rounds; × baseline is the "
                     "median of each run's req/s over the baseline run of its round.")
    if databases:
        parts += ["## Resources", resources_table(databases, memory)]
    if audit:
        table, missed = audit_table(audit)
        parts += ["## Audit log page (median of sequential requests)", table]
        notes += missed
    if load_before > 0.5:
        notes.append(f"- ⚠ Load average before the run was {load_before:.2f}: other work "
                     "was running, so the numbers are lower and noisier than on an idle machine.")
    parts += ["## Notes", "\n".join(notes)]
    data = {
        "databases": {e: {**d.info, "where": d.label} for e, d in databases.items()},
        "peak_memory_kb": memory,
        "audit_page": audit,
        "results": [
            {"name": t.name, "engine": t.engine, "url": t.url, "problems": t.problems,
             **summaries[id(t)], "ratios": t.ratios,
             "runs": [{k: v for k, v in r.items() if k != "raw"} for r in t.runs],
             "raw_wrk": [r["raw"] for r in t.runs]}
            for t in ([baseline] if baseline else []) + [t for g in groups for t in g]],
    }
    return "\n\n".join(parts) + "\n", data


def trustworthy(groups: list[list[Target]], baseline: Target | None) -> bool:
    return not any(t.problems for t in ([baseline] if baseline else [])
                   + [t for g in groups for t in g])
