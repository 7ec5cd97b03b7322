"""Tier 3, run: start the generated service as its README says, against real backing services, and use it.

Checks, in order: start, health, ready, crud-create, crud-read, crud-list, crud-update, crud-delete,
errors (4xx for invalid payloads and unknown ids), sigterm (an in-flight request completes, exit 0
within the grace period), trace (at least one span reached the harness's OTLP endpoint).

The environment a service gets (template authors: read these names):
  PORT                 HTTP port: /health, /ready, and the REST or GraphQL API
  GRPC_PORT            gRPC port (gRPC services also serve /health and /ready on PORT)
  DATABASE_URL, PG*    PostgreSQL (database=postgresql), a fresh database per value set
  AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
                       moto (database=dynamodb, messageQueue sqs|sns); tables from smoke-test.yaml aws
  SQS_QUEUE_URL / SNS_TOPIC_ARN   a queue / topic named <serviceName>-events, created beforehand
  REDIS_URL            Redis (redisCache=true)
  OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, OTEL_SERVICE_NAME, ...
  plus smoke-test.yaml `env`, where ${NAME} expands any of the above.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import string
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import api_clients as api
from build_checks import project_env
from common import FAIL, NA, PASS, SKIP, Check, Timer, clip, clip_tail
from project import CONTRACT_FILE, read_commands, read_contract
from services import BackingServices, OtlpReceiver, Unavailable, free_port, wait_port

TIER = "run"
CRUD_CHECKS = ["crud-create", "crud-read", "crud-list", "crud-update", "crud-delete", "errors"]
ALL_CHECKS = ["start", "health", "ready", *CRUD_CHECKS, "sigterm", "trace"]


# --------------------------------------------------------------------------- processes

def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def listener_pid(root: int, port: int) -> int | None:
    """The process of root's tree, nearest the root, that holds the socket listening on port.

    That is the service itself (what Kubernetes signals), not a wrapper such as `go run` or `npm start`.
    """
    inodes = _listening_inodes(port)
    level = [root]
    while level and inodes:
        for pid in level:
            try:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
            except OSError:
                continue
        level = [k for pid in level for k in _children(pid)]
    return None


MARK = "@@svcgen-harness-setup"


class Service:
    """The README's Run commands in one shell: its set-up commands (each marked in the log, so each is
    reported), then `exec` of the start command, in its own process group."""

    def __init__(self, repo: Path, setup: list[str], start: str, env: dict[str, str], log: Path):
        self.setup = setup
        lines = []
        for i, cmd in enumerate(setup):
            lines.append(f"printf '\\n{MARK} %s %s\\n' {i} \"$(date +%s.%N)\"")
            lines.append(f"{cmd} || {{ __rc=$?; printf '\\n{MARK} fail %s %s\\n' $__rc \"$(date +%s.%N)\"; "
                         f"exit $__rc; }}")
        lines.append(f"printf '\\n{MARK} start %s\\n' \"$(date +%s.%N)\"")
        lines.append(f"exec {start}")
        script = "\n".join(lines) + "\n"
        self.log_path = log
        self.log = open(log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(["bash", "-c", script], cwd=repo, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def setup_checks(self) -> list[Check]:
        """One check per set-up command, from the markers in the log (pass, fail, or skip when not reached)."""
        self.log.flush()
        checks, current, since, output = [], None, 0.0, []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if not line.startswith(MARK):
                output.append(line)
                continue
            word, stamp = line.split()[1], float(line.split()[-1])
            if current is not None:
                failed = word == "fail"
                checks.append(Check(TIER, f"set up: {self.setup[current]}", FAIL if failed else PASS, stamp - since,
                                    clip_tail("\n".join(output)) if failed else ""))
                if failed:
                    current = None
                    break
            current = int(word) if word.isdigit() else None
            since, output = stamp, []
        if current is not None:  # still running, or the shell died inside it
            checks.append(Check(TIER, f"set up: {self.setup[current]}", FAIL, 0,
                                "did not finish\n" + clip_tail("\n".join(output))))
        done = len(checks)
        checks += [Check(TIER, f"set up: {cmd}", SKIP, 0, "not reached") for cmd in self.setup[done:]]
        return checks

    def tail(self, n: int = 1500) -> str:
        self.log.flush()
        return clip_tail(self.log_path.read_text(errors="replace"), n)

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        else:  # the leader is gone; its group may not be
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.log.close()


def _get(port: int, path: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


# --------------------------------------------------------------------------- auth

def _jwt_hs256(secret: str, claims: dict) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def _auth(contract_auth: dict | None, issuer_factory) -> tuple[dict[str, str], dict[str, str]]:
    """(env for the service, headers for the client) from smoke-test.yaml `auth`.

    bearer:     a fixed token the service accepts (give it to the service through `env`)
    jwt-hs256:  the harness makes a secret, passes it in secret_env (default JWT_SECRET), signs an HS256 token
    oauth2:     the harness runs an OIDC issuer on loopback and passes OAUTH2_ISSUER_URL, OAUTH2_JWKS_URL and
                OAUTH2_AUDIENCE (names overridable: issuer_env, jwks_env, audience_env); RS256 token with
                iss, aud, sub, exp and `scope` (auth.scopes)
    """
    if not contract_auth:
        return {}, {}
    kind = contract_auth.get("type")
    now = int(time.time())
    claims = {"sub": "svcgen-harness", "iat": now, "exp": now + 3600, **(contract_auth.get("claims") or {})}
    if kind == "bearer":
        return {}, {"Authorization": f"Bearer {contract_auth['token']}"}
    if kind == "jwt-hs256":
        secret = "svcgen-harness-" + os.urandom(8).hex()
        return ({contract_auth.get("secret_env", "JWT_SECRET"): secret},
                {"Authorization": f"Bearer {_jwt_hs256(secret, claims)}"})
    if kind == "oauth2":
        issuer = issuer_factory()
        audience = contract_auth.get("audience", "svcgen-harness")
        token = issuer.mint({"iss": issuer.url, "aud": audience, "scope": " ".join(contract_auth.get("scopes") or []),
                             **claims})
        return ({contract_auth.get("issuer_env", "OAUTH2_ISSUER_URL"): issuer.url,
                 contract_auth.get("jwks_env", "OAUTH2_JWKS_URL"): f"{issuer.url}/jwks.json",
                 contract_auth.get("audience_env", "OAUTH2_AUDIENCE"): audience},
                {"Authorization": f"Bearer {token}"})
    raise ValueError(f"{CONTRACT_FILE}: auth.type must be bearer, jwt-hs256 or oauth2")


# --------------------------------------------------------------------------- CRUD

def _matches(expected, actual) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_matches(v, actual.get(k)) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_matches, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    return str(expected) == str(actual)


def _mismatch(expected: dict, item) -> str:
    if not isinstance(item, dict):
        return f"no {('object')} in the response"
    bad = [f"{k}: sent {v!r}, got {item.get(k)!r}" for k, v in expected.items() if not _matches(v, item.get(k))]
    return "; ".join(bad)


def crud_checks(client, crud: dict, auth_headers: dict) -> list[Check]:
    id_field = crud.get("id_field", "id")
    sample, update, invalid = crud["sample"], crud["update"], crud["invalid"]
    merged = {**sample, **update}
    unknown = crud.get("unknown_id", "00000000-0000-4000-8000-000000000000")
    checks: list[Check] = []

    def record(name: str, t: Timer, failure: str | None, ok_detail: str) -> bool:
        checks.append(Check(TIER, name, FAIL if failure else PASS, t.seconds, clip(failure or ok_detail, 1200)))
        return not failure

    def attempt(fn):
        try:
            return fn(), None
        except Exception as e:  # noqa: BLE001 (connection refused, timeouts: the check fails with it)
            return None, f"{type(e).__name__}: {e}"

    t = Timer()
    o, err = attempt(lambda: client.create(sample))
    item_id = None
    if not err and isinstance(o.item, dict) and o.item.get(id_field) not in (None, ""):
        item_id = o.item[id_field]  # created, even if answered wrongly: the other operations can go on
    if err or o.kind != api.OK:
        record("crud-create", t, err or f"create was not accepted: {o.describe()} {' '.join(o.notes)}", "")
    elif item_id is None:
        record("crud-create", t, f"the response carries no {id_field}: {o.describe()}", "")
    else:
        record("crud-create", t, _mismatch(sample, o.item) or None, f"{o.status}, {id_field}={item_id}")
    if item_id is None:
        for name in ("crud-read", "crud-list", "crud-update", "crud-delete"):
            checks.append(Check(TIER, name, SKIP, 0, "nothing was created to work on"))
    else:
        t = Timer()
        o, err = attempt(lambda: client.read(item_id))
        if err or o.kind != api.OK:
            record("crud-read", t, err or f"read {item_id}: {o.describe()} {' '.join(o.notes)}", "")
        else:
            record("crud-read", t, _mismatch(sample, o.item) or None, o.status)
        t = Timer()
        o, err = attempt(client.list)
        if err or o.kind != api.OK:
            record("crud-list", t, err or f"list: {o.describe()} {' '.join(o.notes)}", "")
        elif o.items is None:
            record("crud-list", t, f"no list in the response: {o.describe()}", "")
        else:
            found = any(isinstance(i, dict) and str(i.get(id_field)) == str(item_id) for i in o.items)
            record("crud-list", t, None if found else f"the created {id_field}={item_id} is not listed: {o.describe()}",
                   f"{o.status}, {len(o.items)} item(s)")
        t = Timer()
        o, err = attempt(lambda: client.update(item_id, update, merged))
        if err or o.kind != api.OK:
            record("crud-update", t, err or f"update {item_id}: {o.describe()} {' '.join(o.notes)}", "")
        else:
            after, err = attempt(lambda: client.read(item_id))
            problem = err or (after.kind != api.OK and f"read after update: {after.describe()}") \
                or _mismatch(merged, after.item)
            record("crud-update", t, problem or None, f"{o.status}, change visible on read")
        t = Timer()
        o, err = attempt(lambda: client.delete(item_id))
        if err or o.kind != api.OK:
            record("crud-delete", t, err or f"delete {item_id}: {o.describe()} {' '.join(o.notes)}", "")
        else:
            after, err = attempt(lambda: client.read(item_id))
            problem = err or (after.kind != api.NOT_FOUND and f"read after delete should be not-found: "
                                                               f"{after.describe()}")
            record("crud-delete", t, problem or None, f"{o.status}, then not found")

    # errors: each must be the right 4xx (or gRPC/GraphQL equivalent) with a message saying something
    t = Timer()
    problems, seen = [], []
    probes = [
        ("create with an invalid payload", lambda: client.create(invalid), api.INVALID),
        (f"read unknown id {unknown}", lambda: client.read(unknown), api.NOT_FOUND),
        (f"update unknown id {unknown}", lambda: client.update(unknown, update, merged), api.NOT_FOUND),
        (f"delete unknown id {unknown}", lambda: client.delete(unknown), api.NOT_FOUND),
    ]
    if auth_headers:
        probes.append(("create without credentials", lambda: client.create(sample, headers={}), api.UNAUTH))
    for label, fn, want in probes:
        o, err = attempt(fn)
        if err:
            problems.append(f"{label}: {err}")
        elif o.kind != want:
            problems.append(f"{label}: expected {want.replace('_', ' ')}, got {o.describe()}")
        elif want != api.NOT_FOUND or o.status != "graphql null":
            if not str(o.message).strip():
                problems.append(f"{label}: {o.status} but no error message in the body")
            else:
                seen.append(f"{label} -> {o.status}")
        else:
            seen.append(f"{label} -> null")
    record("errors", t, "\n".join(problems) or None, "; ".join(seen))
    return checks


# --------------------------------------------------------------------------- SIGTERM

def sigterm_check(svc: Service, http_port: int, inflight, grace: float, why_not: str | None = None) -> Check:
    """SIGTERM the service with a request in flight (its body half-sent); that request must be answered, then
    the service must exit 0 within its grace period.

    Only a request whose body is still arriving is reliably in flight: servers (Go's net/http among them)
    rightly drop a connection whose request headers are incomplete at shutdown. So a service without a
    declared CRUD API (nothing that takes a body) is checked for the exit only, and the detail says so.
    The signal goes to the process holding the listening socket, as Kubernetes signals the container's
    process, not to a wrapper such as `npm start` or `go run`.
    """
    t = Timer()
    target = listener_pid(svc.proc.pid, http_port) or svc.proc.pid
    problems, notes = [], []
    try:
        if inflight is not None:
            inflight.begin()
            time.sleep(0.5)
        os.kill(target, signal.SIGTERM)
        signalled = time.monotonic()
        if inflight is None:
            notes.append(why_not or "in-flight request not tested: the service declares no CRUD API "
                                    "(nothing takes a body)")
        else:
            time.sleep(1.0)
            if svc.proc.poll() is not None:
                problems.append(f"exited ({svc.proc.returncode}) with a request in flight")
            ok, what = inflight.complete()
            (notes if ok else problems).append(what)
    except OSError as e:
        signalled = time.monotonic()
        problems.append(f"in-flight request could not be made: {e}")
    remaining = max(grace - (time.monotonic() - signalled), 0.1)
    try:
        code = svc.proc.wait(remaining + 1)
        elapsed = time.monotonic() - signalled
        if code != 0:
            problems.append(f"exit status {code} after SIGTERM (expected 0)")
        notes.insert(0, f"SIGTERM to pid {target}; exited {code} after {elapsed:.1f}s (grace {grace:.0f}s)")
    except subprocess.TimeoutExpired:
        problems.append(f"still running {grace:.0f}s (the grace period) after SIGTERM")
    if problems:
        return Check(TIER, "sigterm", FAIL, t.seconds, "\n".join(problems + notes) + "\n--- service log:\n"
                     + svc.tail(800))
    return Check(TIER, "sigterm", PASS, t.seconds, "; ".join(notes))


# --------------------------------------------------------------------------- the tier

def _na_rest(checks: list[Check], names: list[str], reason: str, status: str = NA) -> None:
    have = {c.name for c in checks}
    checks += [Check(TIER, n, status, 0, reason) for n in names if n not in have]


def run_service(repo: Path, values: dict, set_name: str, backing: BackingServices, otlp: OtlpReceiver,
                built: bool = True) -> list[Check]:
    """The run tier for one generated repository. `built`: its build tier ran just before in this
    invocation; if not, the README's set-up sections run first (the Run section relies on them)."""
    checks: list[Check] = []
    commands = read_commands(repo)
    contract = read_contract(repo)
    if not commands.start:
        _na_rest(checks, ["start"], "; ".join(commands.problems) or "no start command", FAIL)
        _na_rest(checks, ALL_CHECKS, "the service could not be started", SKIP)
        return checks
    if contract.problems:
        checks.append(Check(TIER, "contract", FAIL, 0, "\n".join(contract.problems)))

    # backing services and the environment
    t = Timer()
    http_port, grpc_port = free_port(), free_port()
    env = {"PORT": str(http_port), "GRPC_PORT": str(grpc_port),
           "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
           "OTEL_SERVICE_NAME": values.get("serviceName", "service"), "OTEL_TRACES_EXPORTER": "otlp",
           "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_TRACES_SAMPLER": "always_on",
           "OTEL_BSP_SCHEDULE_DELAY": "200"}
    started = []
    try:
        if values.get("database") == "postgresql":
            env.update(backing.postgres_env(set_name))
            started.append("postgresql")
        queue = values.get("messageQueue", "none")
        if values.get("database") == "dynamodb" or queue in ("sqs", "sns") or contract.aws:
            env.update(backing.aws_env())
            name = f"{values.get('serviceName', 'service')}-events"
            env.update(backing.create_aws_resources(contract.aws, name if queue == "sqs" else None,
                                                    name if queue == "sns" else None))
            started.append("moto")
        if values.get("redisCache"):
            env.update(backing.redis_env())
            started.append("redis")
        auth_env, auth_headers = _auth(contract.auth, backing.oidc_issuer)
    except (Unavailable, ValueError, KeyError) as e:
        checks.append(Check(TIER, "backing services", FAIL, t.seconds, str(e)))
        _na_rest(checks, ALL_CHECKS, "backing services unavailable", SKIP)
        return checks
    env.update(auth_env)
    expand = {**env}
    env.update({k: string.Template(v).safe_substitute(expand) for k, v in contract.env.items()})
    otlp.reset()

    # start
    workdir = Path(tempfile.mkdtemp(prefix="svcgen-run-"))
    setup = commands.run_setup if built else commands.setup + commands.run_setup
    svc = Service(repo, setup, commands.start, project_env(repo, env), workdir / "service.log")
    try:
        t = Timer()
        deadline = time.monotonic() + contract.startup_seconds
        up = False
        while time.monotonic() < deadline and svc.alive():
            try:
                _get(http_port, contract.health, timeout=2)
                up = True
                break
            except OSError:
                time.sleep(0.3)
        api_type = (contract.crud or {}).get("api") or values.get("apiType")
        if up and api_type == "grpc" and contract.crud:
            up = wait_port(grpc_port, max(deadline - time.monotonic(), 1))
        setup_checks = svc.setup_checks()
        checks += setup_checks
        start_seconds = t.seconds - sum(c.seconds for c in setup_checks)
        if any(c.status == FAIL for c in setup_checks):
            _na_rest(checks, ALL_CHECKS, "not started: a set-up command of the Run section failed", SKIP)
            return checks
        if not up:
            why = "exited" if not svc.alive() else f"did not answer within {contract.startup_seconds:.0f}s"
            checks.append(Check(TIER, "start", FAIL, start_seconds,
                                f"`{commands.start}` {why} (backing: {', '.join(started) or 'none'})\n"
                                f"--- service log:\n{svc.tail()}"))
            _na_rest(checks, ALL_CHECKS, "the service did not start", SKIP)
            return checks
        checks.append(Check(TIER, "start", PASS, start_seconds,
                            f"`{commands.start}` up; backing: {', '.join(started) or 'none'}"))

        t = Timer()
        try:
            code, body = _get(http_port, contract.health)
            checks.append(Check(TIER, "health", PASS if code == 200 else FAIL, t.seconds,
                                f"GET {contract.health} -> {code} {clip(body, 200)}"))
        except OSError as e:
            checks.append(Check(TIER, "health", FAIL, t.seconds, f"GET {contract.health}: {e}"))
        t = Timer()
        code, body = 0, ""
        while t.seconds < contract.ready_seconds:
            try:
                code, body = _get(http_port, contract.ready)
            except OSError as e:
                body = str(e)
            if code == 200:
                break
            time.sleep(0.5)
        checks.append(Check(TIER, "ready", PASS if code == 200 else FAIL, t.seconds,
                            f"GET {contract.ready} -> {code} {clip(body, 200)}"))

        client = None
        if contract.crud and not contract.problems:
            t = Timer()
            try:
                client = api.make_client(contract.crud["api"], http_port, grpc_port, contract.crud, auth_headers,
                                         repo, workdir)
            except Exception as e:  # noqa: BLE001
                checks.append(Check(TIER, "crud-client", FAIL, t.seconds, f"cannot build the {api_type} client: {e}"))
            if client:
                checks += crud_checks(client, contract.crud, auth_headers)
        elif not contract.crud:
            _na_rest(checks, CRUD_CHECKS, f"the service declares no CRUD API (no crud in {CONTRACT_FILE})")
        _na_rest(checks, CRUD_CHECKS, f"not run: the client could not be built or {CONTRACT_FILE} has problems", SKIP)

        inflight, port, why_not = None, http_port, None
        if client is not None:
            grpc_opts = contract.crud.get("grpc") or {}
            if contract.crud["api"] != "grpc":
                inflight = client.inflight_request(contract.crud["sample"])
            elif grpc_opts.get("inflight_check"):
                inflight, port = client.inflight_request(contract.crud["sample"]), grpc_port
            else:
                why_not = ("in-flight call not tested: a unary gRPC call is only reliably in flight while its "
                           "handler runs (grpcio drops a half-received call at shutdown by design); "
                           "crud.grpc.inflight_check: true tests a half-sent call (grpc-go, grpc-js)")
        if hasattr(client, "close"):
            client.close()
        checks.append(sigterm_check(svc, port, inflight, contract.grace_seconds, why_not))

        t = Timer()
        if not contract.tracing:
            checks.append(Check(TIER, "trace", NA, 0, f"the service declares no tracing (no `tracing: otlp-http` in "
                                                      f"{CONTRACT_FILE})"))
        else:
            while not otlp.spans and t.seconds < 2:  # the service has exited: its spans are flushed
                time.sleep(0.2)
            names = sorted({s["name"] for s in otlp.spans})
            if otlp.spans:
                checks.append(Check(TIER, "trace", PASS, t.seconds,
                                    f"{len(otlp.spans)} span(s): {', '.join(names[:8])}"))
            else:
                checks.append(Check(TIER, "trace", FAIL, t.seconds, "no span reached OTLP/HTTP endpoint "
                                    f"{otlp.endpoint}/v1/traces. {'; '.join(otlp.errors)}"))
        return checks
    finally:
        svc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
