"""What every tier shares: a check's result, running a command, finding files in a generated repo."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PASS, FAIL, NA, SKIP = "pass", "fail", "n/a", "skip"
# n/a: the repository has nothing this check applies to (never counted as a pass).
# skip: there is something to check, but this check cannot run on it here (the reason says why).

IGNORED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".terraform", "vendor", "dist", "build"}


@dataclass
class Check:
    tier: str
    name: str
    status: str
    seconds: float = 0.0
    detail: str = ""
    files: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 2)
        if len(self.files) > 8:
            d["files"] = self.files[:8] + [f"... and {len(self.files) - 8} more"]
        return d


class Timer:
    def __init__(self) -> None:
        self.start = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.start


@dataclass
class Result:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(cmd: list[str], cwd: Path | str | None = None, env: dict | None = None, timeout: float = 300,
        stdin: str | None = None) -> Result:
    """Run a command, stdout and stderr together; a timeout or a missing program is a failed Result."""
    try:
        p = subprocess.run(
            cmd, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=timeout,
        )
        return Result(p.returncode, (p.stdout + p.stderr).strip())
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return Result(124, f"timed out after {timeout:.0f}s\n{out}")
    except FileNotFoundError as e:
        return Result(127, f"cannot run {cmd[0]}: {e}")


def repo_files(root: Path) -> list[Path]:
    """Every file of a generated repository (paths relative to it), build products excluded."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        for name in sorted(filenames):
            found.append((Path(dirpath) / name).relative_to(root))
    return found


def clip_tail(text: str, limit: int = 2500) -> str:
    """The end of a long output, where errors are."""
    text = text.strip()
    return text if len(text) <= limit else "(cut) …\n" + text[-(limit - 10):]


def clip(text: str, limit: int = 1500) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 20] + "\n… (cut)"
