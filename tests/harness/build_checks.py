"""Tier 2, build and test: the generated project's own documented commands, as its README gives them.

All commands run in one bash shell at the repository root (an activated virtualenv carries over);
each is reported as its own check. Install caches are shared between value sets (tools.PROJECT_CACHES).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import tools
from common import FAIL, PASS, SKIP, Check, clip_tail
from project import read_commands

TIER = "build"
STEP_TIMEOUT = 900
MARK = "@@svcgen-harness-step"


def project_env(repo: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a user's shell would have, plus the shared install caches. A Node.js project
    gets the Node.js line it targets first on PATH (tools.NODE_SERVICE_VERSION); a project that generates
    code with buf gets the buf CLI (as its README asks users to install it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    if (repo / "package.json").exists():
        env["PATH"] = f"{tools.ensure_service_node()}{os.pathsep}{env.get('PATH', '')}"
    if (repo / "buf.gen.yaml").exists():  # the generated-code check runs `buf generate`
        env["PATH"] = f"{tools.buf_dir()}{os.pathsep}{env.get('PATH', '')}"
    for key, path in tools.PROJECT_CACHES.items():
        path.mkdir(parents=True, exist_ok=True)
        env[key] = str(path)
    env.update({
        "CI": "true",
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "npm_config_audit": "false",
        "npm_config_fund": "false",
        "npm_config_update_notifier": "false",
        "npm_config_prefer_offline": "true",
    })
    env.update(extra or {})
    return env


def run_steps(repo: Path, steps: list[str], env: dict[str, str]) -> list[tuple[str, str, float, str]]:
    """Run steps in one shell; (command, status, seconds, output) for each."""
    script = ["set -o pipefail"]
    for i, cmd in enumerate(steps):
        script.append(f"printf '\\n{MARK} {i}\\n'")
        script.append(cmd)
        script.append(f"__rc=$?; if [ $__rc -ne 0 ]; then printf '\\n{MARK} fail %s\\n' $__rc; exit $__rc; fi")
    script.append(f"printf '\\n{MARK} done\\n'")
    proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, text=True,
                            errors="replace")
    results: list[tuple[str, str, float, str]] = []
    current, started, output = -1, time.monotonic(), []
    timed_out = threading.Event()

    def watchdog() -> None:
        while proc.poll() is None:
            if time.monotonic() - started > STEP_TIMEOUT:
                timed_out.set()
                os.killpg(proc.pid, signal.SIGKILL)
                return
            time.sleep(1)

    threading.Thread(target=watchdog, daemon=True).start()

    def close(status: str, note: str = "") -> None:
        if current >= 0:
            results.append((steps[current], status, time.monotonic() - started, note + "".join(output)))

    for line in proc.stdout:
        if line.startswith(MARK):
            word = line.split()[1]
            if word == "fail":
                close(FAIL, f"exit status {line.split()[2]}\n")
                current = -2
                continue
            close(PASS)
            if word == "done":
                current = -2
                continue
            current, started, output = int(word), time.monotonic(), []
        else:
            output.append(line)
    proc.wait()
    if current >= 0:  # killed mid-step
        why = f"timed out after {STEP_TIMEOUT}s" if timed_out.is_set() else f"shell ended ({proc.returncode})"
        close(FAIL, why + "\n")
    for cmd in steps[len(results):]:
        results.append((cmd, SKIP, 0.0, "not run: an earlier step failed"))
    return results


def run_build(repo: Path) -> list[Check]:
    commands = read_commands(repo)
    if not commands.build:
        reason = "; ".join(commands.problems) or "README.md documents no set-up, build, lint or test command"
        return [Check(TIER, "commands", FAIL, 0, f"nothing to run: {reason}")]
    checks = []
    if commands.skipped:
        checks.append(Check(TIER, "docker commands", SKIP, 0,
                            "not run (no Docker engine; the run tier provides backing services itself): "
                            + "; ".join(commands.skipped)))
    for cmd, status, seconds, output in run_steps(repo, commands.build, project_env(repo)):
        detail = "" if status == PASS else clip_tail(output, 2500)
        checks.append(Check(TIER, cmd, status, seconds, detail))
    if not any(c.status == FAIL for c in checks) and not any("test" in c.name for c in checks):
        checks.append(Check(TIER, "unit tests documented", FAIL, 0,
                            "no README command runs the unit tests (none mentions 'test')"))
    return checks

