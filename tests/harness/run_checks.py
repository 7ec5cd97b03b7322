"""Tier 3, run: start the generated service as its README says, against real backing services, and use it.

Checks, in order: start, health, ready, crud-create, crud-read, crud-list, crud-update, crud-delete,
errors (4xx for invalid payloads and unknown ids), then the advanced options, each n/a when off:
cache (redisCache: a read item's key is in Redis with a TTL), events (messageQueue sqs|sns: a create
publishes `<resource>.created` for the new id), job (smoke-test.yaml `job.command` exits 0 with the
service's environment); sigterm (an in-flight request completes, exit 0 within the grace period),
trace (at least one span reached the harness's OTLP endpoint); then the k8s-* checks (workloads.py): every
container of the Kubernetes manifests run as Kubernetes would run it.

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
import re
import shlex
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
import workloads
from build_checks import project_env
from common import FAIL, NA, PASS, SKIP, Check, Timer, clip, clip_tail
from project import CONTRACT_FILE, read_commands, read_contract
from services import BackingServices, OtlpReceiver, Unavailable, free_port, wait_port

TIER = "run"
CRUD_CHECKS = ["crud-create", "crud-read", "crud-list", "crud-update", "crud-delete", "errors"]
OPTION_CHECKS = ["cache", "events", "job"]
ALL_CHECKS = ["start", "health", "ready", *CRUD_CHECKS, *OPTION_CHECKS, "sigterm", "trace", *workloads.CHECKS]


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
    reported), then `exec` of the start command, in its own process group. The shell's environment just
    before the start command (set-up commands such as `. .venv/bin/activate` included) is saved in
    `env_file`: the job check runs the scheduled job with it."""

    def __init__(self, repo: Path, setup: list[str], start: str, env: dict[str, str], log: Path):
        self.setup = setup
        self.env_file = log.with_name("service.env")
        lines = []
        for i, cmd in enumerate(setup):
            lines.append(f"printf '\\n{MARK} %s %s\\n' {i} \"$(date +%s.%N)\"")
            lines.append(f"{cmd} || {{ __rc=$?; printf '\\n{MARK} fail %s %s\\n' $__rc \"$(date +%s.%N)\"; "
                         f"exit $__rc; }}")
        lines.append(f"printf '\\n{MARK} start %s\\n' \"$(date +%s.%N)\"")
        lines.append(f"env -0 > {shlex.quote(str(self.env_file))}")
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

    def environment(self) -> dict[str, str] | None:
        """The environment the start command got (None when the shell did not get that far)."""
        try:
            raw = self.env_file.read_bytes()
        except OSError:
            return None
        pairs = (entry.split("=", 1) for entry in raw.decode(errors="replace").split("\0") if "=" in entry)
        return {k: v for k, v in pairs if k != "_"}

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


# --------------------------------------------------------------------------- advanced options

def _create_one(client, crud: dict) -> tuple[object | None, str | None]:
    """Create an item from crud.sample: (its id, None), or (None, why not)."""
    id_field = crud.get("id_field", "id")
    try:
        o = client.create(crud["sample"])
    except Exception as e:  # noqa: BLE001
        return None, f"create: {type(e).__name__}: {e}"
    if o.kind != api.OK or not isinstance(o.item, dict) or o.item.get(id_field) in (None, ""):
        return None, f"create: {o.describe()}"
    return o.item[id_field], None


def _glob_escape(text: str) -> str:
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


def cache_check(client, crud: dict, redis) -> Check:
    """redisCache: read an item twice, then Redis must hold a key containing its id with a positive TTL.

    `redis(*command)` sends one command. Invalidation is the CRUD checks' part: with the cache on, the read
    after an update (crud-update) and after a delete (crud-delete) fail if a stale entry is served.
    """
    t = Timer()
    item_id, why = _create_one(client, crud)
    if item_id is None:
        return Check(TIER, "cache", SKIP, t.seconds, f"nothing was created to read: {why}")
    for _ in range(2):
        try:
            o = client.read(item_id)
        except Exception as e:  # noqa: BLE001
            return Check(TIER, "cache", FAIL, t.seconds, f"read {item_id}: {type(e).__name__}: {e}")
        if o.kind != api.OK:
            return Check(TIER, "cache", FAIL, t.seconds, f"read {item_id}: {o.describe()}")
    try:
        keys, cursor = [], "0"
        while True:
            cursor, batch = redis("SCAN", cursor, "MATCH", f"*{_glob_escape(str(item_id))}*", "COUNT", 1000)
            keys += batch
            if cursor == "0":
                break
        if not keys:
            _, sample = redis("SCAN", "0", "COUNT", 100)
            return Check(TIER, "cache", FAIL, t.seconds,
                         f"after two reads of {item_id}, no Redis key contains that id (read-through caching "
                         f"fills the cache on a read). Some keys in Redis: {', '.join(sorted(sample)[:10]) or 'none'}")
        ttls = {key: redis("TTL", key) for key in sorted(set(keys))}
    except Exception as e:  # noqa: BLE001 (the harness's Redis went away)
        return Check(TIER, "cache", FAIL, t.seconds, f"Redis: {type(e).__name__}: {e}")
    shown = ", ".join(f"{k} (TTL {v})" for k, v in ttls.items())
    if not any(isinstance(v, int) and v > 0 for v in ttls.values()):
        return Check(TIER, "cache", FAIL, t.seconds, f"cache entry without expiry (TTL -1 = none, -2 = gone): "
                                                     f"{shown}; entries must expire (CACHE_TTL_SECONDS)")
    return Check(TIER, "cache", PASS, t.seconds, f"after two reads: {shown}")


def _event_of(body: str):
    """The event in a message body: the JSON itself, or an SNS envelope's Message."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if isinstance(event, dict) and event.get("Type") == "Notification" and isinstance(event.get("Message"), str):
        try:
            event = json.loads(event["Message"])
        except ValueError:
            return None
    return event if isinstance(event, dict) else None


EVENT_FIELDS = ("id", "type", "subject_id", "occurred_at", "data")


def events_check(client, crud: dict, receive, where: str, wait: float = 10) -> Check:
    """messageQueue sqs|sns: after a create, a message `{"id", "type": "<resource>.created", "subject_id":
    <the new id>, "occurred_at", "data"}` must arrive on `where` (the queue, or a queue subscribed to the
    topic) within `wait` seconds. `receive()` returns the bodies of the messages visible now."""
    t = Timer()
    item_id, why = _create_one(client, crud)
    if item_id is None:
        return Check(TIER, "events", SKIP, t.seconds, f"nothing was created: {why}")
    seen: list[str] = []
    try:
        while True:
            bodies = receive()
            for body in bodies:
                event = _event_of(body)
                if event is None:
                    seen.append(f"not a JSON event: {clip(body, 120)}")
                    continue
                kind, subject = str(event.get("type", "")), str(event.get("subject_id", ""))
                if kind.endswith(".created") and subject == str(item_id):
                    absent = [f for f in EVENT_FIELDS if f not in event]
                    if absent or not str(event.get("id", "")).strip() or not str(event.get("occurred_at", "")):
                        return Check(TIER, "events", FAIL, t.seconds,
                                     f"the {kind} event for {item_id} lacks {', '.join(absent) or 'an id or time'}: "
                                     f"{clip(json.dumps(event), 400)}")
                    return Check(TIER, "events", PASS, t.seconds, f"{kind} for {item_id} on {where}")
                seen.append(f"{kind or '(no type)'} subject_id={subject or '(none)'}")
            if t.seconds > wait:
                break
            if not bodies:
                time.sleep(0.2)
    except Exception as e:  # noqa: BLE001 (moto went away)
        return Check(TIER, "events", FAIL, t.seconds, f"{where}: {type(e).__name__}: {e}")
    return Check(TIER, "events", FAIL, t.seconds,
                 f"no `<resource>.created` event with subject_id {item_id} on {where} within {wait:.0f}s of the "
                 f"create; messages seen: {'; '.join(seen[:10]) or 'none'}")


def job_check(repo: Path, job: dict, env: dict[str, str]) -> Check:
    """smoke-test.yaml `job.command` runs the scheduled job once: in the repository, with the environment the
    service got, while it and the backing services are up; it must exit 0 within job.timeout_seconds."""
    t = Timer()
    command, limit = job["command"], job.get("timeout_seconds", 120)
    proc = subprocess.Popen(["bash", "-c", command], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        output, _ = proc.communicate()
        return Check(TIER, "job", FAIL, t.seconds, f"`{command}` still running after {limit:.0f}s\n"
                                                   + clip_tail(output.decode(errors="replace"), 1200))
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        return Check(TIER, "job", FAIL, t.seconds, f"`{command}` exited {proc.returncode}\n" + clip_tail(text, 1200))
    last = next((line for line in reversed(text.splitlines()) if line.strip()), "")
    return Check(TIER, "job", PASS, t.seconds, f"`{command}` exited 0" + (f": {clip(last, 200)}" if last else ""))


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
        events_queue = None  # where the events check reads what the service publishes
        if values.get("database") == "dynamodb" or queue in ("sqs", "sns") or contract.aws:
            env.update(backing.aws_env())
            name = f"{values.get('serviceName', 'service')}-events"
            env.update(backing.create_aws_resources(contract.aws, name if queue == "sqs" else None,
                                                    name if queue == "sns" else None))
            if queue == "sqs":
                events_queue = (env["SQS_QUEUE_URL"], f"SQS_QUEUE_URL {env['SQS_QUEUE_URL']}")
            elif queue == "sns":
                url = backing.subscribe_queue(env["SNS_TOPIC_ARN"], f"{name}-harness-subscriber")
                events_queue = (url, f"queue {url} subscribed to SNS_TOPIC_ARN {env['SNS_TOPIC_ARN']}")
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

        # the advanced options, each exercised while the service is up
        no_client = (f"the service declares no CRUD API (no crud in {CONTRACT_FILE})" if not contract.crud else
                     f"not run: the client could not be built or {CONTRACT_FILE} has problems")
        if not values.get("redisCache"):
            checks.append(Check(TIER, "cache", NA, 0, "no Redis cache in this value set (redisCache off)"))
        elif client is None:
            checks.append(Check(TIER, "cache", NA if not contract.crud else SKIP, 0, no_client))
        else:
            checks.append(cache_check(client, contract.crud, backing.redis))
        if events_queue is None:
            checks.append(Check(TIER, "events", NA, 0, "no event publishing in this value set (messageQueue none)"))
        elif client is None:
            checks.append(Check(TIER, "events", NA if not contract.crud else SKIP, 0, no_client))
        else:
            url, where = events_queue
            checks.append(events_check(client, contract.crud, lambda: backing.receive_messages(url), where))
        if contract.job:
            checks.append(job_check(repo, contract.job, svc.environment() or project_env(repo, env)))
        else:
            checks.append(Check(TIER, "job", NA, 0, f"the service declares no scheduled job (no job.command in "
                                                    f"{CONTRACT_FILE})"))

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

        def make_client(port: int, grpc: int, headers: dict[str, str]):
            return api.make_client(contract.crud["api"], port, grpc, contract.crud, headers, repo, workdir)

        checks += workloads.workload_checks(repo, values, set_name, backing, contract, env, auth_env, auth_headers,
                                            project_env(repo), make_client, workdir)
        return checks
    finally:
        svc.stop()
        shutil.rmtree(workdir, ignore_errors=True)
