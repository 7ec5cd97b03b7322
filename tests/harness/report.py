"""The report: Markdown for people, JSON for tools. Says which value set failed which check and why."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from common import FAIL, NA, PASS, SKIP, Check

MARK = {PASS: "✅", FAIL: "❌", NA: "n/a", SKIP: "skip"}
TIERS = ("generate", "static", "build", "run")


def _cell(text: str, limit: int = 400) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    text = "<br>".join(lines)
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tier_summary(checks: list[Check]) -> str:
    if not checks:
        return "–"
    counts = defaultdict(int)
    for c in checks:
        counts[c.status] += 1
    seconds = sum(c.seconds for c in checks)
    head = "❌" if counts[FAIL] else "✅"
    parts = [f"{counts[s]} {s}" for s in (FAIL, PASS, NA, SKIP) if counts[s]]
    return f"{head} {' · '.join(parts)} ({seconds:.1f}s)"


def _fmt_seconds(s: float) -> str:
    return f"{s:.0f}s" if s < 120 else f"{int(s // 60)}m {int(s % 60):02d}s"


def _json_lines(data: dict) -> str:
    """JSON with one line per check: small, and a rerun's diff shows which checks changed."""
    def one(value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    head = {k: v for k, v in data.items() if k != "sets"}
    lines = ["{"] + [f" {one(k)}: {one(v)}," for k, v in head.items()] + [' "sets": [']
    for i, s in enumerate(data["sets"]):
        meta = {k: v for k, v in s.items() if k != "checks"}
        lines.append(f"  {one(meta)[:-1]},\"checks\":[")
        lines += [f"   {one(c)}{',' if j < len(s['checks']) - 1 else ''}" for j, c in enumerate(s["checks"])]
        lines.append("  ]}" + ("," if i < len(data["sets"]) - 1 else ""))
    lines += [" ]", "}"]
    return "\n".join(lines) + "\n"


def write(base: Path, info: dict, matrix: list[Check], results: list[dict]) -> tuple[Path, Path]:
    base.parent.mkdir(parents=True, exist_ok=True)
    all_checks = [c for r in results for c in r["checks"]] + matrix
    totals = defaultdict(int)
    for c in all_checks:
        totals[c.status] += 1
    tier_seconds = defaultdict(float)
    for c in all_checks:
        tier_seconds[c.tier] += c.seconds

    data = {
        **info,
        "totals": dict(totals),
        "tier_seconds": {k: round(v, 1) for k, v in tier_seconds.items()},
        "matrix": [c.as_dict() for c in matrix],
        "sets": [{"name": r["name"], "values": r["values"], "ci": r["ci"], "tiers": r["tiers"],
                  "checks": [c.as_dict() for c in r["checks"]]} for r in results],
    }
    json_path = base.with_suffix(".json")
    json_path.write_text(_json_lines(data))

    out = ["# Harness report", ""]
    out.append(f"`{info['command']}` · commit {info['git']} · templates {info['templates']} rendered by "
               f"`{info['preview']}` · finished {info['finished']} · {_fmt_seconds(info['seconds'])} in all")
    out.append("")
    out.append(f"**{len(results)} value sets, {len(all_checks)} checks: {totals[PASS]} passed, {totals[FAIL]} failed, "
               f"{totals[NA]} not applicable, {totals[SKIP]} skipped.** Time per tier: "
               + ", ".join(f"{t} {_fmt_seconds(tier_seconds[t])}" for t in TIERS if t in tier_seconds) + ".")
    out.append("")
    out.append("✅ pass · ❌ fail · n/a: nothing of this kind in the repository, or a capability the service does not "
               "declare (never counted as a pass) · skip: present but cannot run here, or blocked by an earlier "
               "failure; the reason is in the JSON report and the tables below.")
    out.append("")
    for c in matrix:
        out.append(f"Matrix coverage: {MARK[c.status]} {_cell(c.detail)}")
        out.append("")

    out += ["## Summary", "", "| value set | generate | static | build | run | time |", "|---|---|---|---|---|---|"]
    for r in results:
        by_tier = defaultdict(list)
        for c in r["checks"]:
            by_tier[c.tier].append(c)
        total = sum(c.seconds for c in r["checks"])
        name = f"{r['name']}{' (ci)' if r['ci'] else ''}"
        cells = " | ".join(_tier_summary(by_tier[t]) for t in TIERS)
        out.append(f"| {name} | {cells} | {_fmt_seconds(total)} |")
    out.append("")

    failures = [(r["name"], c) for r in results for c in r["checks"] if c.status == FAIL]
    failures += [("(matrix)", c) for c in matrix if c.status == FAIL]
    out += ["## Failures", ""]
    if failures:
        out += ["| value set | tier | check | why |", "|---|---|---|---|"]
        out += [f"| {n} | {c.tier} | {_cell(c.name, 80)} | {_cell(c.detail, 900)} |" for n, c in failures]
    else:
        out.append("None.")
    out.append("")

    for tier in ("static", "run"):
        names: list[str] = []
        for r in results:
            for c in r["checks"]:
                if c.tier == tier and c.name not in names:
                    names.append(c.name)
        if not names:
            continue
        out += [f"## {tier.capitalize()} checks per value set", "",
                "| value set | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in results:
            cells = {c.name: c for c in r["checks"] if c.tier == tier}
            if cells:
                out.append(f"| {r['name']} | " + " | ".join(
                    (MARK[cells[n].status] if n in cells else "–") for n in names) + " |")
        out.append("")

    builds = [(r["name"], [c for c in r["checks"] if c.tier == "build"]) for r in results]
    builds = [(n, cs) for n, cs in builds if cs]
    if builds:
        out += ["## Build tier: the README's commands per value set", "", "| value set | commands |", "|---|---|"]
        for n, cs in builds:
            out.append(f"| {n} | " + "<br>".join(f"{MARK[c.status]} `{_cell(c.name, 120)}` {c.seconds:.1f}s"
                                                  for c in cs) + " |")
        out.append("")

    reasons: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for r in results:
        for c in r["checks"]:
            if c.status in (NA, SKIP):
                reasons[(c.name, c.status, c.detail.splitlines()[0] if c.detail else "")].append(r["name"])
    if reasons:
        out += ["## Not applicable and skipped, and why", "", "| check | status | reason | value sets |",
                "|---|---|---|---|"]
        for (name, status, why), sets in sorted(reasons.items()):
            shown = ", ".join(sets) if len(sets) <= 6 else f"{len(sets)} sets"
            out.append(f"| {_cell(name, 80)} | {status} | {_cell(why, 300)} | {shown} |")
        out.append("")

    out += ["## Tools", ""] + [f"- {k}: {_cell(v, 600)}" for k, v in info["tools"].items()]
    if info.get("backing_services_startup_seconds"):
        out.append("- backing services started in: " + ", ".join(
            f"{k} {v}s" for k, v in info["backing_services_startup_seconds"].items()))
    md_path = base.with_suffix(".md")
    md_path.write_text("\n".join(out) + "\n")
    return md_path, json_path
