"""How the harness reads a generated repository's own documentation and declarations.

Two conventions, which template authors follow (README.md of this folder says the same):

1. README.md documents its commands in fenced `sh` blocks under level-2/3 headings.
   - Headings starting with Set up / Setup / Install / Build / Compile (set-up sections) or with
     Lint / Type / Check, or mentioning "test" anywhere (check sections): their commands are the build
     tier, run in document order in ONE bash shell at the repo root (so `. .venv/bin/activate` carries
     over), each reported as its own check.
   - The heading starting with "Run" (and not mentioning tests): the run tier runs its commands in one
     shell with the backing services' environment (migrations, creating a queue...); the LAST command
     starts the service in the foreground. When the build tier has not run in the same invocation,
     the set-up sections run first.
   - Commands starting with `docker` are not run: no Docker engine here; the harness itself
     provides the backing services such a command would start.
   - Every other section (Deploy, Infrastructure, ...) is documentation only.
2. smoke-test.yaml at the repo root declares what the running service offers beyond /health and
   /ready: its CRUD API, tracing, grace period, extra environment, the command that runs its
   scheduled job once, and `image_paths`: where the image's paths are once the README's set-up has
   built the project (the workloads check runs the Kubernetes containers' commands with it). Without it, CRUD and trace checks are "n/a: the service declares no CRUD
   API" (and matrix.yaml's `expect` can turn that n/a into a failure once a template is supposed
   to have it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

SETUP_HEADINGS = ("set up", "setup", "install", "build", "compile")
CHECK_HEADINGS = ("lint", "type", "check", "test")
SHELL_INFO = {"sh", "bash", "shell", "console", "shell-session"}
CONTRACT_FILE = "smoke-test.yaml"


@dataclass
class Commands:
    build: list[str] = field(default_factory=list)  # set-up and check sections' commands, in order
    setup: list[str] = field(default_factory=list)  # the set-up sections' commands only
    run_setup: list[str] = field(default_factory=list)  # the Run section's commands before the last
    start: str | None = None  # the Run section's last command
    skipped: list[str] = field(default_factory=list)  # docker commands, not run here
    problems: list[str] = field(default_factory=list)


def _block_commands(lines: list[str]) -> list[str]:
    commands, pending = [], ""
    for raw in lines:
        line = raw.rstrip()
        if line.startswith("$ "):
            line = line[2:]
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append((pending + line.strip()).strip())
        pending = ""
    if pending.strip():
        commands.append(pending.strip())
    return commands


def _sections(readme: str) -> list[tuple[str, list[str]]]:
    """(heading, commands) for every shell block, in document order."""
    found: list[tuple[str, list[str]]] = []
    heading, fence, info, block = "", None, "", []
    for line in readme.splitlines():
        if fence is None:
            m = re.match(r"^(```+|~~~+)\s*([\w-]*)", line)
            if m:
                fence, info, block = m.group(1), m.group(2).lower(), []
                continue
            h = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if h:
                heading = h.group(1)
        elif line.strip().startswith(fence):
            if info in SHELL_INFO:
                found.append((heading, _block_commands(block)))
            fence = None
        else:
            block.append(line)
    return found


def read_commands(repo: Path) -> Commands:
    c = Commands()
    readme = repo / "README.md"
    if not readme.exists():
        c.problems.append("no README.md")
        return c
    run_seen = False
    for heading, commands in _sections(readme.read_text()):
        h = heading.lower().strip()
        if "test" in h or h.startswith(CHECK_HEADINGS):
            kind = "check"
        elif h.startswith(SETUP_HEADINGS):
            kind = "setup"
        elif h.startswith("run"):
            kind = "run"
        else:
            continue  # Deploy, Infrastructure...: documentation only
        kept = []
        for cmd in commands:
            if re.match(r"^(sudo\s+)?docker(-compose)?\s", cmd):
                c.skipped.append(cmd)
            else:
                kept.append(cmd)
        if kind in ("setup", "check"):
            c.build.extend(kept)
            if kind == "setup":
                c.setup.extend(kept)
            continue
        if run_seen:
            c.problems.append(f"a second Run section ({heading!r}) is ignored")
            continue
        run_seen = True
        if not kept:
            c.problems.append(f"section {heading!r} has no command to start the service")
            continue
        c.run_setup, c.start = kept[:-1], kept[-1]
    if not run_seen:
        c.problems.append("README.md has no 'Run' section with a command that starts the service")
    return c


# ---------------------------------------------------------------------------- smoke-test.yaml

@dataclass
class Contract:
    path: Path | None
    health: str = "/health"
    ready: str = "/ready"
    grace_seconds: float = 30.0
    startup_seconds: float = 240.0
    ready_seconds: float = 30.0
    tracing: bool = False
    env: dict[str, str] = field(default_factory=dict)
    aws: dict = field(default_factory=dict)
    auth: dict | None = None
    crud: dict | None = None
    job: dict | None = None  # {command: str, timeout_seconds: float}
    image_paths: dict[str, str] = field(default_factory=dict)  # image path -> repository path, once built
    problems: list[str] = field(default_factory=list)


CRUD_API_TYPES = ("rest", "grpc", "graphql")


def read_contract(repo: Path) -> Contract:
    path = repo / CONTRACT_FILE
    if not path.exists():
        return Contract(path=None)
    c = Contract(path=path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        c.problems.append(f"{CONTRACT_FILE} does not parse: {e}")
        return c
    known = {"version", "health", "ready", "grace_period_seconds", "startup_seconds", "ready_seconds", "tracing",
             "env", "aws", "auth", "crud", "job", "image_paths"}
    for key in sorted(set(data) - known):
        c.problems.append(f"{CONTRACT_FILE}: unknown key {key!r}")
    c.health = data.get("health", c.health)
    c.ready = data.get("ready", c.ready)
    c.grace_seconds = float(data.get("grace_period_seconds", c.grace_seconds))
    c.startup_seconds = float(data.get("startup_seconds", c.startup_seconds))
    c.ready_seconds = float(data.get("ready_seconds", c.ready_seconds))
    tracing = data.get("tracing")
    if tracing not in (None, False, "otlp-http"):
        c.problems.append(f"{CONTRACT_FILE}: tracing must be otlp-http (the harness listens for OTLP over HTTP)")
    c.tracing = tracing == "otlp-http"
    c.env = {str(k): str(v) for k, v in (data.get("env") or {}).items()}
    c.aws = data.get("aws") or {}
    paths = data.get("image_paths") or {}
    if not isinstance(paths, dict) or not all(isinstance(k, str) and k.startswith("/") and isinstance(v, str)
                                              for k, v in paths.items()):
        c.problems.append(f"{CONTRACT_FILE}: image_paths must map absolute image paths to repository paths")
    else:
        c.image_paths = paths
    c.auth = data.get("auth")
    crud = data.get("crud")
    if crud is not None:
        for key in ("api", "resource", "sample", "update", "invalid"):
            if key not in crud:
                c.problems.append(f"{CONTRACT_FILE}: crud.{key} is required")
        if crud.get("api") not in CRUD_API_TYPES:
            c.problems.append(f"{CONTRACT_FILE}: crud.api must be one of {', '.join(CRUD_API_TYPES)}")
        c.crud = crud
    job = data.get("job")
    if job is not None:
        if not isinstance(job, dict) or not isinstance(job.get("command"), str) or not job["command"].strip():
            c.problems.append(f"{CONTRACT_FILE}: job must be a mapping with a command (a shell command that runs "
                              f"the scheduled job once)")
        else:
            try:
                c.job = {"command": job["command"], "timeout_seconds": float(job.get("timeout_seconds", 120))}
            except (TypeError, ValueError):
                c.problems.append(f"{CONTRACT_FILE}: job.timeout_seconds must be a number")
    return c
