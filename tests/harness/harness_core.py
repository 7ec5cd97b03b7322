"""The harness's work once its tools are there: expand the matrix, generate, run the tiers, report."""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import os
import shutil
import subprocess
import time
import traceback
from pathlib import Path

import yaml

import report as report_mod
import tools
from build_checks import run_build
from common import FAIL, NA, PASS, Check, Timer, clip, run
from project import read_commands
from run_checks import ALL_CHECKS as ALL_RUN_CHECKS
from run_checks import run_service
from services import BackingServices, OtlpReceiver
from static_checks import run_static

TIERS = ("static", "build", "run")


# --------------------------------------------------------------------------- matrix

def expand_matrix(matrix: dict) -> list[dict]:
    """[{name, values, ci, template?}] in matrix order: product sets first, then named sets.

    A named set's `template` (a folder relative to the repository, e.g. an overlay that `extends` the
    matrix's template) renders it instead of the matrix's template; sets `from` it inherit it.
    """
    base = dict(matrix.get("base") or {})
    sets: dict[str, dict] = {}
    templates: dict[str, str] = {}
    axes = matrix.get("product") or {}
    keys = list(axes)
    for combo in itertools.product(*(axes[k] for k in keys)):
        name = "-".join(map(str, combo))
        sets[name] = {**base, **dict(zip(keys, combo))}
    for entry in matrix.get("sets") or []:
        parent = sets[entry["from"]] if entry.get("from") else base
        if entry["name"] in sets:
            raise ValueError(f"matrix.yaml: set {entry['name']!r} defined twice")
        sets[entry["name"]] = {**parent, **(entry.get("values") or {})}
        template = entry.get("template") or templates.get(entry.get("from") or "")
        if template:
            templates[entry["name"]] = template
    ci = set(matrix.get("ci") or [])
    unknown = ci - set(sets)
    if unknown:
        raise ValueError(f"matrix.yaml: ci names unknown sets {sorted(unknown)}")
    return [{"name": n, "values": v, "ci": n in ci, **({"template": templates[n]} if n in templates else {})}
            for n, v in sets.items()]


def matrix_checks(matrix: dict, sets: list[dict], manifest: dict) -> list[Check]:
    """The matrix covers the manifest: every enum value and boolean state in some set; CI covers the axes."""
    t = Timer()
    problems = []
    for name, spec in (manifest.get("parameters") or {}).items():
        seen = {str(s["values"].get(name, spec.get("default"))) for s in sets}
        if "enum" in spec:
            missing = [v for v in spec["enum"] if str(v) not in seen]
            if missing:
                problems.append(f"{name}: no value set uses {', '.join(map(str, missing))}")
        elif spec.get("type") == "boolean":
            missing = [v for v in ("True", "False") if v not in seen]
            if missing:
                problems.append(f"{name}: no value set has {name}={missing[0].lower()}")
    coverage = []
    ci_sets = [s for s in sets if s["ci"]]
    for axis in ("language", "apiType", "database"):
        wanted = (manifest["parameters"].get(axis) or {}).get("enum", [])
        got = {s["values"].get(axis) for s in ci_sets}
        missing = [v for v in wanted if v not in got]
        if missing:
            problems.append(f"the ci subset misses {axis} {', '.join(missing)}")
        coverage.append(f"{axis} {len(wanted) - len(missing)}/{len(wanted)}")
    detail = "\n".join(problems) or (f"{len(sets)} sets cover every enum value and boolean state of "
                                     f"{manifest.get('name')}; ci subset ({len(ci_sets)} sets) covers "
                                     + ", ".join(coverage))
    return [Check("matrix", "coverage", FAIL if problems else PASS, t.seconds, detail)]


def select(sets: list[dict], args: argparse.Namespace) -> list[dict]:
    chosen = sets
    if args.sets:
        names = {s["name"] for s in sets}
        unknown = [n for n in args.sets if n not in names]
        if unknown:
            raise SystemExit(f"harness: unknown value set(s) {', '.join(unknown)}; see --list")
        chosen = [s for s in chosen if s["name"] in args.sets]
    for flag, key in ((args.lang, "language"), (args.api, "apiType"), (args.db, "database")):
        if flag:
            chosen = [s for s in chosen if s["values"].get(key) in flag]
    return chosen


# --------------------------------------------------------------------------- generation

def ensure_preview(root: Path) -> None:
    built = (root / "plugin-ts" / "dist" / "cli" / "preview.js").exists()
    if not built and not os.environ.get("SVCGEN_HARNESS_PREVIEW"):
        tools.log("the preview script is not built: running `make setup`")
        subprocess.run(["make", "setup"], cwd=root, check=True)


def generate(root: Path, out_root: Path, entry: dict, template_dir: str | None) -> tuple[Path, Check]:
    target = out_root / entry["name"]
    values_file = out_root / "values" / f"{entry['name']}.yaml"
    values_file.parent.mkdir(parents=True, exist_ok=True)
    values_file.write_text(yaml.safe_dump(entry["values"], sort_keys=False))
    shutil.rmtree(target, ignore_errors=True)  # a fresh repository each time
    if target.exists():
        return target, Check("generate", "preview", FAIL, 0, f"cannot empty {target} (in use by another run?)")
    t = Timer()
    if entry.get("template"):  # its own set (an overlay finds its base by itself), whatever --template-dir says
        template_dir = str(root / entry["template"])
    template = ["--template-dir", str(Path(template_dir).resolve())] if template_dir else []
    preview = os.environ.get("SVCGEN_HARNESS_PREVIEW") or str(root / "plugin-ts" / "bin" / "svcgen-preview.js")
    r = run(["node", preview, *template, "--values", str(values_file), "--out", str(target)], cwd=root, timeout=120)
    if not r.ok:
        return target, Check("generate", "preview", FAIL, t.seconds, f"exit {r.returncode}: {clip(r.output)}")
    files = sum(1 for p in target.rglob("*") if p.is_file())
    shown = target.relative_to(root) if target.is_relative_to(root) else target  # no machine paths in reports
    return target, Check("generate", "preview", PASS, t.seconds, f"{files} files in {shown}")


# --------------------------------------------------------------------------- expectations

def apply_expectations(checks: list[Check], expect: dict, values: dict) -> None:
    wanted: dict[str, set[str]] = {tier: set(expect.get(tier) or []) for tier in TIERS}
    for rule in expect.get("when") or []:
        # A condition is a value or a list of values, any of which matches.
        if all(str(values.get(k)) in map(str, v if isinstance(v, list) else [v])
               for k, v in (rule.get("if") or {}).items()):
            for tier in TIERS:
                wanted[tier] |= set(rule.get(tier) or [])
    for c in checks:
        if c.status == NA and c.name in wanted.get(c.tier, set()):
            c.status = FAIL
            c.detail = f"expected by matrix.yaml but not applicable: {c.detail}"


# --------------------------------------------------------------------------- main

def main(args: argparse.Namespace, root: Path, here: Path) -> int:
    matrix = yaml.safe_load(Path(args.matrix).read_text())
    template_dir = Path(args.template_dir) if args.template_dir else root / "templates" / matrix["template"]
    manifest = yaml.safe_load((template_dir / "manifest.yaml").read_text())
    all_sets = expand_matrix(matrix)
    if args.list:
        for s in all_sets:
            changed = {k: v for k, v in s["values"].items() if matrix["base"].get(k) != v}
            print(f"{s['name']:28} {'ci ' if s['ci'] else '   '} {changed}"
                  + (f" (template {s['template']})" if s.get("template") else ""))
        return 0

    tiers = list(TIERS) if args.tier == "all" else [args.tier]
    full_run = not (args.sets or args.lang or args.api or args.db or args.ci or args.repo_dir) and args.tier == "all"
    report_base = Path(args.report) if args.report else (here / "report" if full_run else Path(args.out) / "report")

    if args.repo_dir:
        values = yaml.safe_load(Path(args.values_file).read_text()) if args.values_file else {}
        chosen = [{"name": Path(args.repo_dir).name, "values": values, "ci": True, "dir": Path(args.repo_dir)}]
    else:
        chosen = select(all_sets, args)
        if not chosen:
            print("harness: no value set matches", flush=True)
            return 2
        ensure_preview(root)

    t_all = Timer()
    tools.ensure_node_tools()
    if "static" in tiers:
        tools.ensure_checkov()  # before the parallel static checks need it
    matrix_results = [] if args.repo_dir else matrix_checks(matrix, all_sets, manifest)
    plan = [(entry, [t for t in tiers if not args.ci or t == "static" or entry["ci"]]) for entry in chosen]

    # Phase 1, in parallel: generate each repository and run its static tier (CPU-bound, independent).
    job = {"root": root, "out": Path(args.out), "template_dir": args.template_dir, "matrix": matrix}
    phase1 = [(entry, "static" in set_tiers, job) for entry, set_tiers in plan]
    if args.jobs > 1 and len(phase1) > 1:
        with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
            first = list(pool.map(_generate_and_static, phase1))
    else:
        first = [_generate_and_static(p) for p in phase1]

    # Phase 2, one at a time: build and run (installs, servers, ports).
    backing, otlp = None, None
    results = []
    try:
        for (entry, set_tiers), (repo, checks) in zip(plan, first):
            later = [t for t in set_tiers if t != "static"]
            if repo is not None and later:
                tools.log(f"{entry['name']}: {', '.join(later)}")
            for tier in later if repo is not None else []:
                t = Timer()
                try:
                    if tier == "build":
                        checks += run_build(repo)
                    elif blocked := _setup_failed(repo, checks):
                        checks += [Check("run", name, "skip", 0, f"not started: its set-up failed in the build "
                                                                 f"tier (`{blocked}`)") for name in ALL_RUN_CHECKS]
                    else:
                        if backing is None:
                            backing, otlp = BackingServices(), OtlpReceiver()
                        checks += run_service(repo, entry["values"], entry["name"], backing, otlp,
                                              built="build" in set_tiers)
                except Exception:  # noqa: BLE001 (a harness bug fails this set, visibly, not the whole run)
                    checks.append(Check(tier, "harness error", FAIL, t.seconds, clip(traceback.format_exc(), 3000)))
                tools.log(f"  {tier}: {t.seconds:.1f}s")
            apply_expectations(checks, matrix.get("expect") or {}, entry["values"])
            results.append({**{k: v for k, v in entry.items() if k != "dir"}, "tiers": set_tiers, "checks": checks})
            _print_set(entry["name"], checks)
    finally:
        if backing:
            backing.stop()
        if otlp:
            otlp.stop()

    info = {
        "command": " ".join(["python3 tests/harness/harness.py", *getattr(args, "argv_echo", [])]),
        "seconds": round(t_all.seconds, 1),
        "finished": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "git": run(["git", "rev-parse", "--short", "HEAD"], cwd=root).output.strip()
        + (" + uncommitted changes under templates/" if run(["git", "status", "--porcelain", "templates"],
                                                            cwd=root).output.strip() else ""),
        "templates": str(Path(args.template_dir).resolve()) if args.template_dir else "bundled (templates/)",
        "preview": os.environ.get("SVCGEN_HARNESS_PREVIEW") or "plugin-ts/bin/svcgen-preview.js",
        "tiers": tiers,
        "ci": args.ci,
        "tools": tools.versions(),
        "backing_services_startup_seconds": {k: round(v, 2) for k, v in (backing.started if backing else {}).items()},
    }
    md, js = report_mod.write(report_base, info, matrix_results, results)
    every = matrix_results + [c for r in results for c in r["checks"]]
    count = {status: sum(c.status == status for c in every) for status in (PASS, FAIL, NA, "skip")}
    print(f"\n{len(results)} value set(s), {len(every)} checks in {t_all.seconds:.0f}s: {count[NA]} not applicable, "
          f"{count['skip']} skipped. Report: {md} and {js}", flush=True)
    print(f"harness: {count[PASS]} passed, {count[FAIL]} failed", flush=True)
    return 1 if count[FAIL] else 0


def _generate_and_static(item: tuple[dict, bool, dict]) -> tuple[Path | None, list[Check]]:
    """Generate one value set's repository and run its static tier; (repo or None, checks)."""
    entry, static, job = item
    checks: list[Check] = []
    if "dir" in entry:
        repo = entry["dir"]
    else:
        try:
            repo, gen = generate(job["root"], job["out"], entry, job["template_dir"])
        except Exception:  # noqa: BLE001
            gen = Check("generate", "preview", FAIL, 0, clip(traceback.format_exc(), 3000))
        checks.append(gen)
        if gen.status != PASS:
            return None, checks
    if static:
        t = Timer()
        try:
            checks += run_static(repo, job["matrix"])
        except Exception:  # noqa: BLE001
            checks.append(Check("static", "harness error", FAIL, t.seconds, clip(traceback.format_exc(), 3000)))
        tools.log(f"{entry['name']}: static {t.seconds:.1f}s")
    return repo, checks


def _setup_failed(repo: Path, checks: list[Check]) -> str | None:
    """A set-up section's command that failed in the build tier (the Run section relies on them)."""
    setup = set(read_commands(repo).setup)
    return next((c.name for c in checks if c.tier == "build" and c.status == FAIL and c.name in setup), None)


def _print_set(name: str, checks: list[Check]) -> None:
    marks = {PASS: "ok  ", FAIL: "FAIL", NA: "n/a ", "skip": "skip"}
    lines = [f"== {name}"]
    for c in checks:
        lines.append(f"   {marks.get(c.status, c.status):4} {c.tier:8} {c.name[:60]:60} {c.seconds:6.1f}s")
        if c.status == FAIL:
            lines += ["        " + line for line in c.detail.splitlines()[:12]]
    print("\n".join(lines), flush=True)
