"""Run tier, workloads: every container of the Kubernetes manifests, started the way Kubernetes starts it.

`kubectl kustomize k8s/overlays/<first overlay>` gives the objects ArgoCD would apply. For each pod template
(Jobs first: a migration hook runs before the rollout; then Deployments; then CronJobs) and each of its init
containers and containers, the check computes:

- the argv, from the Dockerfile's final stage and the container, with Kubernetes' rules: `command` replaces
  ENTRYPOINT (and drops CMD), `args` replaces CMD, `$(VAR)` expands the container's variables;
- the environment: the image's ENV, then `envFrom` in order (ConfigMaps of the build; Secrets that an
  ExternalSecret of the build creates, filled from a stand-in for the Secrets Manager entries Terraform
  writes, see `secrets_manager`), then `env`. Values that name cluster-only endpoints are replaced by the
  harness's (ports, OTLP, the AWS endpoint and credentials, smoke-test.yaml `env`, the identity provider);
  the check's detail lists them.

and runs exactly that argv outside a container: smoke-test.yaml `image_paths` maps the image's paths to
where the README's set-up puts them here (e.g. `/service: bin/svc`, `/opt/venv: .venv`, `/app: .`); the
working directory is the image's WORKDIR, mapped. What each workload must do, against real backing
services and a fresh database:

  k8s-migrate   a Job (the migration hook) exits 0 and leaves tables in the database
  k8s-server    a Deployment with ports becomes ready on PORT, creates an item (smoke-test.yaml crud: the
                schema and the database user's privileges are there), and exits 0 on SIGTERM within the pod's
                terminationGracePeriodSeconds (default 30)
  k8s-consumer  a Deployment without ports empties its queue (SQS_QUEUE_URL, holding at least one event)
                and exits 0 on SIGTERM within the pod's terminationGracePeriodSeconds
  k8s-job       a CronJob's job exits 0 within its deadline (at most 120 s)
  k8s-pull      every pod can pull its image: an imagePullSecrets entry (pod or service account) names a
                Secret of type kubernetes.io/dockerconfigjson the build creates, unless the image is on ECR
                (pulled with the nodes' IAM role)
  k8s-secrets   every ExternalSecret reads an entry and property that Terraform writes
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import yaml

import tools
from common import FAIL, NA, PASS, Check, Timer, clip, clip_tail

TIER = "run"
CHECKS = ["k8s-migrate", "k8s-server", "k8s-consumer", "k8s-job", "k8s-pull", "k8s-secrets"]
# Variables whose manifest values name cluster-only endpoints or ports: the harness's own replace them.
LOCAL_KEYS = ("PORT", "GRPC_PORT", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL",
              "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
              "OAUTH2_ISSUER", "OAUTH2_JWKS_URL", "OAUTH2_INTROSPECTION_URL")
WORKLOAD_KINDS = ("Job", "Deployment", "CronJob", "StatefulSet", "DaemonSet")


# --------------------------------------------------------------------------- the image

class Image:
    """ENTRYPOINT, CMD, ENV and WORKDIR of a Dockerfile's final stage (exec or shell form)."""

    def __init__(self, dockerfile: Path):
        self.entrypoint: list[str] | None = None
        self.cmd: list[str] | None = None
        self.env: dict[str, str] = {}
        self.workdir = "/"
        text = re.sub(r"\\\n", " ", dockerfile.read_text())
        for line in text.splitlines():
            words = line.strip().split(None, 1)
            if not words or words[0].startswith("#"):
                continue
            op, rest = words[0].upper(), (words[1] if len(words) > 1 else "")
            if op == "FROM":  # a new stage starts from scratch as far as the file says
                self.entrypoint, self.cmd, self.env, self.workdir = None, None, {}, "/"
            elif op in ("ENTRYPOINT", "CMD"):
                value = _exec_form(rest)
                if op == "ENTRYPOINT":
                    self.entrypoint, self.cmd = value, None  # Docker: a new ENTRYPOINT resets CMD
                else:
                    self.cmd = value
            elif op == "ENV":
                for key, val in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)', rest):
                    self.env[key] = val[1:-1] if val.startswith('"') else val
            elif op == "WORKDIR":
                self.workdir = rest.strip()


def _exec_form(rest: str) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            value = json.loads(rest)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                return value
        except json.JSONDecodeError:
            pass
    return ["/bin/sh", "-c", rest]


def effective_argv(image: Image, container: dict) -> tuple[list[str] | None, str]:
    """Kubernetes' rules: command replaces ENTRYPOINT and CMD; args alone replace CMD."""
    command, args = container.get("command"), container.get("args")
    if command is not None:
        return [*command, *(args or [])], "command" + (" + args" if args else "")
    if image.entrypoint is None and image.cmd is None:
        return None, "the image declares neither ENTRYPOINT nor CMD"
    if args is not None:
        return [*(image.entrypoint or []), *args], "image ENTRYPOINT + args"
    return [*(image.entrypoint or []), *(image.cmd or [])], "image ENTRYPOINT + CMD"


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables expand, $$ escapes, anything else stays."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


class PathMap:
    """smoke-test.yaml image_paths: image path prefix -> repository-relative path."""

    def __init__(self, repo: Path, mapping: dict[str, str]):
        self.repo = repo
        self.items = sorted(((k.rstrip("/") or "/", v) for k, v in mapping.items()), key=lambda kv: -len(kv[0]))

    def local(self, value: str) -> str:
        """Every image path in value (a word or a PATH-like list) mapped to this machine."""
        def one(part: str) -> str:
            for prefix, target in self.items:
                if part == prefix or part.startswith(prefix + "/"):
                    return str((self.repo / target).resolve()) + part[len(prefix):]
            return part
        return ":".join(one(p) for p in value.split(":")) if value.startswith("/") else value


# --------------------------------------------------------------------------- secrets

def secrets_manager(env: dict[str, str], admin_url: str | None, app: tuple[str, str, str] | None) -> dict[str, dict]:
    """What Terraform writes to Secrets Manager, by the entry name's last segment, pointing at the harness's
    backing services (terraform/modules/*: database, database-admin, redis, messaging, auth, registry)."""
    sm: dict[str, dict] = {}
    if admin_url and app:
        user, password, url = app
        sm["database"] = {"url": url, "username": user, "password": password}
        sm["database-admin"] = {"url": admin_url, "username": "postgres", "password": "postgres",
                                "app_username": user, "app_password": password}
    if "REDIS_URL" in env:
        sm["redis"] = {"url": env["REDIS_URL"]}
    if "SQS_QUEUE_URL" in env or "SNS_TOPIC_ARN" in env:
        sm["messaging"] = {"queue_url": env.get("SQS_QUEUE_URL", ""), "topic_arn": env.get("SNS_TOPIC_ARN", "")}
    sm["auth"] = {"jwt_secret": env.get("JWT_SECRET", ""), "client_id": env.get("OAUTH2_CLIENT_ID", ""),
                  "client_secret": env.get("OAUTH2_CLIENT_SECRET", "")}
    sm["registry"] = {"username": "harness", "password": "harness"}
    return sm


class Manifests:
    def __init__(self, objects: list[dict], sm: dict[str, dict]):
        self.objects = objects
        self.config = {o["metadata"]["name"]: o.get("data") or {} for o in objects if o.get("kind") == "ConfigMap"}
        self.secrets: dict[str, dict[str, str]] = {}
        self.secret_types: dict[str, str] = {}
        self.problems: list[str] = []
        for o in objects:
            if o.get("kind") == "Secret":
                self.secrets[o["metadata"]["name"]] = dict(o.get("stringData") or {})
                self.secret_types[o["metadata"]["name"]] = o.get("type", "Opaque")
            if o.get("kind") != "ExternalSecret":
                continue
            spec = o.get("spec") or {}
            target = (spec.get("target") or {}).get("name") or o["metadata"]["name"]
            values = {}
            for entry in spec.get("data") or []:
                ref = entry.get("remoteRef") or {}
                key, prop = str(ref.get("key", "")), ref.get("property")
                stored = sm.get(key.rsplit("/", 1)[-1])
                if stored is None or (prop is not None and prop not in stored):
                    self.problems.append(f"ExternalSecret {o['metadata']['name']}: {key}"
                                         + (f" property {prop}" if prop else "") + " is not an entry Terraform writes")
                    continue
                values[entry["secretKey"]] = stored[prop] if prop else json.dumps(stored)
            if spec.get("dataFrom"):
                self.problems.append(f"ExternalSecret {o['metadata']['name']}: dataFrom is not followed by the harness")
            self.secrets[target] = values
            self.secret_types[target] = ((spec.get("target") or {}).get("template") or {}).get("type", "Opaque")
        self.service_accounts = {o["metadata"]["name"]: o for o in objects if o.get("kind") == "ServiceAccount"}

    def container_env(self, container: dict, base: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        env, problems = dict(base), []
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                name = source["configMapRef"]["name"]
                if name not in self.config:
                    problems.append(f"envFrom ConfigMap {name} is not in the build")
                env.update({k: str(v) for k, v in self.config.get(name, {}).items()})
            elif "secretRef" in source:
                name = source["secretRef"]["name"]
                if name not in self.secrets and not source["secretRef"].get("optional"):
                    problems.append(f"envFrom Secret {name} is created by nothing in the build")
                env.update(self.secrets.get(name, {}))
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = _expand(str(var["value"]), env)
            elif "valueFrom" in var:
                ref = var["valueFrom"]
                if "fieldRef" in ref:
                    env[var["name"]] = {"metadata.name": "pod-0", "metadata.namespace": "harness"}.get(
                        ref["fieldRef"].get("fieldPath"), "harness")
                elif "secretKeyRef" in ref:
                    s = self.secrets.get(ref["secretKeyRef"]["name"], {})
                    if ref["secretKeyRef"]["key"] not in s:
                        problems.append(f"env {var['name']}: Secret {ref['secretKeyRef']['name']} has no key "
                                        f"{ref['secretKeyRef']['key']}")
                    env[var["name"]] = s.get(ref["secretKeyRef"]["key"], "")
                elif "configMapKeyRef" in ref:
                    env[var["name"]] = str(self.config.get(ref["configMapKeyRef"]["name"], {}).get(
                        ref["configMapKeyRef"]["key"], ""))
        return env, problems


def pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def role(obj: dict) -> str:
    if obj["kind"] == "Job":
        return "k8s-migrate"
    if obj["kind"] == "CronJob":
        return "k8s-job"
    ports = [p for c in pod_spec(obj).get("containers") or [] for p in c.get("ports") or []]
    return "k8s-server" if ports else "k8s-consumer"


# --------------------------------------------------------------------------- running one container

class Proc:
    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path):
        self.argv, self.log_path = argv, log
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def tail(self, n: int = 1200) -> str:
        self.log.flush()
        return clip_tail(self.log_path.read_text(errors="replace"), n)

    def wait(self, seconds: float) -> int | None:
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            return None

    def sigterm(self, grace: float) -> str | None:
        """SIGTERM as the kubelet sends it; None when it exited 0 within the grace period."""
        if self.proc.poll() is not None:
            return f"had already exited ({self.proc.returncode})"
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait(grace)
        if code is None:
            return f"still running {grace:.0f}s after SIGTERM"
        return None if code == 0 else f"exited {code} after SIGTERM"

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.log.close()


def _ready(port: str, path: str) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


# --------------------------------------------------------------------------- the check

def workload_checks(repo: Path, values: dict, set_name: str, backing, contract, run_env: dict[str, str],
                    auth_env: dict[str, str], auth_headers: dict[str, str], host_env: dict[str, str], make_client, workdir: Path) -> list[Check]:
    """The k8s-* checks of one generated repository. run_env: the run tier's service environment (backing
    services, ports, auth); auth_env, auth_headers: its identity provider's part and token; host_env: the machine's (PATH with the
    project's toolchain); make_client(http_port, grpc_port, headers): a client of smoke-test.yaml's API."""
    t = Timer()
    overlays = sorted((repo / "k8s" / "overlays").glob("*/kustomization.yaml"))
    if not (repo / "k8s").is_dir():
        return [Check(TIER, name, NA, 0, "no k8s/ folder") for name in CHECKS]
    first = next((o.parent for env in ("dev", "staging", "production") for o in overlays if o.parent.name == env),
                 overlays[0].parent if overlays else repo / "k8s" / "base")
    built = subprocess.run([tools.bin_path("kubectl"), "kustomize", str(first)], cwd=repo, capture_output=True,
                           text=True, timeout=120)
    if built.returncode:
        return [Check(TIER, CHECKS[0], FAIL, t.seconds, f"kubectl kustomize {first.relative_to(repo)}: "
                      f"{clip(built.stderr, 800)}")] + [Check(TIER, n, NA, 0, "manifests do not build") for n in CHECKS[1:]]
    objects = [o for o in yaml.safe_load_all(built.stdout) if isinstance(o, dict)]
    dockerfile = repo / "Dockerfile"
    if not dockerfile.exists():
        return [Check(TIER, name, FAIL if name == "k8s-server" else NA, 0, "no Dockerfile") for name in CHECKS]
    image = Image(dockerfile)
    paths = PathMap(repo, contract.image_paths)
    cwd = Path(paths.local(image.workdir)) if image.workdir != "/" else repo
    if not cwd.is_dir():
        cwd = repo

    # a fresh database, migrated by nobody yet; the application's own user, as Terraform configures it
    admin_url = app = None
    if values.get("database") == "postgresql":
        pg = backing.postgres_env(f"{set_name}-k8s")
        admin_url = pg["DATABASE_URL"]
        user = f"app_{secrets.token_hex(4)}"
        password = secrets.token_hex(16)
        app = (user, password, admin_url.replace("postgres:postgres@", f"{user}:{password}@", 1))
    local = {k: v for k, v in run_env.items() if k in LOCAL_KEYS or k in contract.env or k in auth_env}
    if "SQS_QUEUE_URL" in run_env:  # a queue of its own: the run tier's events are still on the other one
        sqs = backing.aws_client("sqs")
        run_env = {**run_env, "SQS_QUEUE_URL": sqs.create_queue(QueueName=f"{uuid.uuid4().hex[:12]}-k8s")["QueueUrl"]}
    manifests = Manifests(objects, secrets_manager(run_env, admin_url, app))
    localized = ", ".join(sorted(local))

    image_env = {k: paths.local(_expand_docker(v, host_env)) for k, v in image.env.items()}
    base = {**host_env, **image_env}
    results: dict[str, list[Check]] = {name: [] for name in CHECKS}
    order = {"Job": 0, "Deployment": 1, "StatefulSet": 1, "DaemonSet": 1, "CronJob": 2}
    workloads = sorted((o for o in objects if o.get("kind") in WORKLOAD_KINDS), key=lambda o: order[o["kind"]])
    for obj in workloads:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        check = role(obj)
        spec = pod_spec(obj)
        results["k8s-pull"].append(_pull_check(name, obj, spec, manifests))
        for kind, container in [("init", c) for c in spec.get("initContainers") or []] + \
                                [("container", c) for c in spec.get("containers") or []]:
            tc = Timer()
            env, problems = manifests.container_env(container, base)
            env.update(local)
            argv, how = effective_argv(image, container)
            where = f"{name} {kind} {container.get('name')}"
            if argv is None or problems:
                results[check].append(Check(TIER, check, FAIL, tc.seconds, f"{where}: " + "; ".join(
                    problems + ([how] if argv is None else []))))
                continue
            argv = [paths.local(_expand(a, env)) for a in argv]
            program = str(cwd / argv[0]) if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH", ""))
            if not program or not os.access(program, os.X_OK):
                results[check].append(Check(TIER, check, FAIL, tc.seconds, f"{where}: `{' '.join(argv)}` ({how}): "
                                            f"{argv[0]} is not a program here (image_paths maps "
                                            f"{', '.join(k for k, _ in paths.items) or 'nothing'})"))
                continue
            label = f"{where}: `{' '.join(argv)}` ({how}; local values for {localized or 'nothing'})"
            if kind == "init" or obj["kind"] in ("Job", "CronJob"):
                results[check].append(_run_to_end(label, check, argv, cwd, env, workdir, obj, admin_url, backing))
            else:
                grace = float(spec.get("terminationGracePeriodSeconds", 30))  # what the kubelet gives the pod
                results[check].append(_run_long(label, check, argv, cwd, env, workdir, contract, make_client,
                                                auth_headers, backing, grace))
    external = [o["metadata"]["name"] for o in objects if o.get("kind") == "ExternalSecret"]
    if external:
        results["k8s-secrets"].append(Check(TIER, "k8s-secrets", FAIL if manifests.problems else PASS, 0, "\n".join(
            manifests.problems) or f"{len(external)} ExternalSecret(s) read entries Terraform writes: {', '.join(external)}"))
    out = []
    for name in CHECKS:
        found = results[name]
        if not found:
            out.append(Check(TIER, name, NA, 0, {"k8s-migrate": "no Job in the manifests",
                                                 "k8s-consumer": "no queue consumer in the manifests",
                                                 "k8s-job": "no CronJob in the manifests",
                                                 "k8s-secrets": "no ExternalSecret"}.get(name, "no workload")))
            continue
        failed = [c for c in found if c.status == FAIL]
        out.append(Check(TIER, name, FAIL if failed else PASS, sum(c.seconds for c in found),
                         "\n".join(c.detail for c in (failed or found))))
    return out


def _expand_docker(value: str, host: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: host.get(m.group(1), ""), value)


def _pull_check(name: str, obj: dict, spec: dict, manifests: Manifests) -> Check:
    images = {c.get("image", "") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])}
    if all(".dkr.ecr." in i for i in images):
        return Check(TIER, "k8s-pull", PASS, 0, f"{name}: ECR, pulled with the nodes' IAM role")
    account = manifests.service_accounts.get(spec.get("serviceAccountName", "default"), {})
    refs = [r.get("name") for r in (spec.get("imagePullSecrets") or []) + (account.get("imagePullSecrets") or [])]
    good = [r for r in refs if manifests.secret_types.get(r) == "kubernetes.io/dockerconfigjson"]
    if good:
        return Check(TIER, "k8s-pull", PASS, 0, f"{name}: pulls {', '.join(sorted(images))} with Secret {good[0]}")
    return Check(TIER, "k8s-pull", FAIL, 0, f"{name}: no pull credentials for {', '.join(sorted(images))}: "
                 + (f"imagePullSecrets {refs} name no kubernetes.io/dockerconfigjson Secret of the build" if refs
                    else "no imagePullSecrets on the pod or its service account"))


def _run_to_end(label: str, check: str, argv, cwd, env, workdir, obj, admin_url, backing) -> Check:
    t = Timer()
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    limit = min(float(spec.get("activeDeadlineSeconds") or 120), 120)
    proc = Proc(argv, cwd, env, workdir / f"{check}-{uuid.uuid4().hex[:6]}.log")
    try:
        code = proc.wait(limit)
        if code is None:
            return Check(TIER, check, FAIL, t.seconds, f"{label}: still running after {limit:.0f}s\n{proc.tail()}")
        if code != 0:
            return Check(TIER, check, FAIL, t.seconds, f"{label}: exited {code}\n{proc.tail()}")
        if check == "k8s-migrate" and admin_url:
            tables = _tables(backing, admin_url)
            if not tables:
                return Check(TIER, check, FAIL, t.seconds, f"{label}: exited 0 but the database has no table\n"
                             + proc.tail())
            return Check(TIER, check, PASS, t.seconds, f"{label}: exited 0; tables: {', '.join(tables[:6])}")
        return Check(TIER, check, PASS, t.seconds, f"{label}: exited 0")
    finally:
        proc.stop()


def _tables(backing, url: str) -> list[str]:
    psql = backing.pg["bindir"] / "psql"
    r = subprocess.run([str(psql), url, "-Atc", "select table_name from information_schema.tables where "
                        "table_schema not in ('pg_catalog', 'information_schema') order by 1"],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.split() if r.returncode == 0 else []


def _headers(contract, env: dict[str, str], oauth2_headers: dict[str, str]) -> dict[str, str]:
    """A token the deployed service accepts: for HS256, signed with its secret for its issuer and audience;
    for OAuth2, the harness's identity provider stands in for the cluster's (its URLs and audience are local)."""
    from run_checks import _jwt_hs256

    auth = contract.auth or {}
    if auth.get("type") == "jwt-hs256":
        now = int(time.time())
        claims = {"sub": "svcgen-harness", "iat": now, "exp": now + 3600, **(auth.get("claims") or {})}
        claims.update({k: env[v] for k, v in (("iss", "JWT_ISSUER"), ("aud", "JWT_AUDIENCE")) if env.get(v)})
        return {"Authorization": f"Bearer {_jwt_hs256(env.get(auth.get('secret_env', 'JWT_SECRET'), ''), claims)}"}
    return oauth2_headers


def _queue_depth(backing, url: str) -> int:
    attrs = backing.aws_client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


def _run_long(label, check, argv, cwd, env, workdir, contract, make_client, auth_headers, backing,
              grace: float) -> Check:
    """A server or a consumer: up, doing its work, then SIGTERM."""
    t = Timer()
    queue = env.get("SQS_QUEUE_URL") if check == "k8s-consumer" else None
    if queue and _queue_depth(backing, queue) == 0:  # something to consume: an event as the service writes it
        backing.aws_client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({
            "id": str(uuid.uuid4()), "type": f"{(contract.crud or {}).get('resource', 'item')}.created",
            "subject_id": str(uuid.uuid4()), "occurred_at": datetime.now(timezone.utc).isoformat(),
            "data": dict((contract.crud or {}).get("sample") or {})}))
    proc = Proc(argv, cwd, env, workdir / f"{check}-{uuid.uuid4().hex[:6]}.log")
    try:
        note = ""
        if check == "k8s-server":
            deadline = time.monotonic() + contract.startup_seconds
            while time.monotonic() < deadline and proc.proc.poll() is None and not _ready(env.get("PORT", ""),
                                                                                          contract.ready):
                time.sleep(0.3)
            if not _ready(env.get("PORT", ""), contract.ready):
                why = f"exited {proc.proc.returncode}" if proc.proc.poll() is not None else "never ready"
                return Check(TIER, check, FAIL, t.seconds, f"{label}: {why} on {contract.ready}\n{proc.tail()}")
            note = "ready"
            if contract.crud:
                from run_checks import _create_one
                client = make_client(int(env["PORT"]), int(env.get("GRPC_PORT") or 0), _headers(contract, env, auth_headers))
                try:
                    item, why = _create_one(client, contract.crud)
                finally:
                    if hasattr(client, "close"):
                        client.close()
                if item is None:
                    return Check(TIER, check, FAIL, t.seconds, f"{label}: ready, but {why}\n{proc.tail()}")
                note += f", created {contract.crud.get('resource', 'item')} {item}"
        elif queue:
            deadline, depth = time.monotonic() + 30, -1
            while time.monotonic() < deadline and proc.proc.poll() is None:
                depth = _queue_depth(backing, queue)
                if depth == 0:
                    break
                time.sleep(0.5)
            if depth != 0:
                why = f"exited {proc.proc.returncode}" if proc.proc.poll() is not None else f"{depth} message(s) left"
                return Check(TIER, check, FAIL, t.seconds, f"{label}: did not empty {queue} ({why})\n{proc.tail()}")
            note = f"emptied {queue}"
        else:
            time.sleep(3)
            if proc.proc.poll() is not None:
                return Check(TIER, check, FAIL, t.seconds, f"{label}: exited {proc.proc.returncode}\n{proc.tail()}")
            note = "running after 3s"
        problem = proc.sigterm(grace)
        if problem:
            return Check(TIER, check, FAIL, t.seconds, f"{label}: {note}; {problem}\n{proc.tail()}")
        return Check(TIER, check, PASS, t.seconds, f"{label}: {note}; exited 0 on SIGTERM")
    finally:
        proc.stop()
