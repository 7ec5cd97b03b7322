"""Real backing services on loopback for the run tier, and the OTLP receiver the services send spans to.

PostgreSQL (the machine's, initdb under the postgres user when root), moto_server for DynamoDB,
SQS, SNS and Secrets Manager, redis-server (Debian's). Each starts on first need, on a free port, and
is reset between value sets (a new database, moto's reset API, FLUSHALL).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import tools


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


class Unavailable(Exception):
    """A backing service cannot be started on this machine (the message says why)."""


class BackingServices:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="svcgen-services-"))
        self.procs: list[subprocess.Popen] = []
        self.pg: dict | None = None
        self.moto_port: int | None = None
        self.redis_port: int | None = None
        self.started: dict[str, float] = {}
        self._db_count = 0
        self.issuer = None

    # -- PostgreSQL
    def _start_postgres(self) -> None:
        bindir = tools.postgres_bin()
        if not bindir:
            raise Unavailable("no PostgreSQL server under /usr/lib/postgresql")
        t = time.monotonic()
        data = self.tmp / "pg"
        port = free_port()
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            subprocess.run(["install", "-d", "-o", "postgres", str(data)], check=True)
            os.chmod(self.tmp, 0o755)
            as_postgres = ["runuser", "-u", "postgres", "--"]
        else:
            data.mkdir()
        r = subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                            "--auth=trust", "--no-sync"], capture_output=True, text=True)
        if r.returncode:
            raise Unavailable(f"initdb failed: {r.stderr.strip()[-500:]}")
        r = subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"),
                            "-o", f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off", "-w", "start"],
                           capture_output=True, text=True)
        if r.returncode:
            raise Unavailable(f"pg_ctl start failed: {r.stderr.strip()[-500:]}")
        self.pg = {"port": port, "bindir": bindir, "data": data, "as": as_postgres}
        self.started["postgresql"] = time.monotonic() - t

    def postgres_env(self, set_name: str) -> dict[str, str]:
        if not self.pg:
            self._start_postgres()
        self._db_count += 1
        db = f"svc_{self._db_count}_{''.join(c if c.isalnum() else '_' for c in set_name)}"[:60].lower()
        r = subprocess.run([str(self.pg["bindir"] / "createdb"), "-h", "127.0.0.1", "-p", str(self.pg["port"]),
                            "-U", "postgres", db], capture_output=True, text=True)
        if r.returncode:
            raise Unavailable(f"createdb failed: {r.stderr.strip()}")
        port = str(self.pg["port"])
        return {
            "DATABASE_URL": f"postgresql://postgres:postgres@127.0.0.1:{port}/{db}?sslmode=disable",
            "PGHOST": "127.0.0.1", "PGPORT": port, "PGUSER": "postgres", "PGPASSWORD": "postgres",
            "PGDATABASE": db, "PGSSLMODE": "disable",
        }

    # -- moto (DynamoDB, SQS, SNS, Secrets Manager)
    def aws_env(self) -> dict[str, str]:
        if self.moto_port is None:
            t = time.monotonic()
            port = free_port()
            log = open(self.tmp / "moto.log", "w")  # noqa: SIM115 (closed with the process)
            self.procs.append(subprocess.Popen([tools.bin_path("moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            if not wait_port(port, 30):
                raise Unavailable(f"moto_server did not start: {(self.tmp / 'moto.log').read_text()[-500:]}")
            self.moto_port = port
            self.started["moto"] = time.monotonic() - t
        else:
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{self.moto_port}/moto-api/reset", method="POST"), timeout=10).read()
        return {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.moto_port}",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        }

    def aws_client(self, service: str):
        """A boto3 client of moto (after aws_env())."""
        import boto3

        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.moto_port}", region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def create_aws_resources(self, declared: dict, queue: str | None, topic: str | None) -> dict[str, str]:
        """Tables, queues and topics the service expects to exist (Terraform creates them in AWS)."""
        import boto3

        kw = {"endpoint_url": f"http://127.0.0.1:{self.moto_port}", "region_name": "us-east-1",
              "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        env = {}
        for table in declared.get("dynamodb_tables", []):
            key = table.get("key", "id")
            boto3.client("dynamodb", **kw).create_table(
                TableName=table["name"], BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": table.get("key_type", "S")}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}])
        queues = list(declared.get("sqs_queues", [])) + ([queue] if queue else [])
        for name in queues:
            url = boto3.client("sqs", **kw).create_queue(QueueName=name)["QueueUrl"]
            if name == queue:
                env["SQS_QUEUE_URL"] = url
        topics = list(declared.get("sns_topics", [])) + ([topic] if topic else [])
        for name in topics:
            arn = boto3.client("sns", **kw).create_topic(Name=name)["TopicArn"]
            if name == topic:
                env["SNS_TOPIC_ARN"] = arn
        return env

    def subscribe_queue(self, topic_arn: str, name: str) -> str:
        """A new SQS queue subscribed to an SNS topic with raw message delivery: what the service publishes
        to the topic arrives on it (the events check reads it). Returns the queue's URL."""
        sqs = self.aws_client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.aws_client("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                         Attributes={"RawMessageDelivery": "true"})
        return url

    def receive_messages(self, queue_url: str, wait_seconds: int = 1) -> list[str]:
        """The bodies of up to 10 messages now visible on a queue (they stay on it, hidden for a while)."""
        reply = self.aws_client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                       WaitTimeSeconds=wait_seconds, VisibilityTimeout=60)
        return [m.get("Body", "") for m in reply.get("Messages", [])]

    # -- Redis
    def redis_env(self) -> dict[str, str]:
        if self.redis_port is None:
            t = time.monotonic()
            server = tools.ensure_apt("redis-server")
            if not server:
                raise Unavailable("redis-server is not installed and cannot be (apt-get needs root)")
            port = free_port()
            self.procs.append(subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            if not wait_port(port, 15):
                raise Unavailable("redis-server did not start")
            self.redis_port = port
            self.started["redis"] = time.monotonic() - t
        else:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=5) as s:
                s.sendall(b"FLUSHALL\r\n")
                s.recv(64)
        return {"REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0"}

    def redis(self, *command: str | int):
        """One command to the harness's Redis (after redis_env()), its decoded reply."""
        return redis_command(self.redis_port, *command)

    def oidc_issuer(self) -> "OidcIssuer":
        if self.issuer is None:
            self.issuer = OidcIssuer()
        return self.issuer

    def stop(self) -> None:
        if self.issuer:
            self.issuer.stop()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.pg:
            subprocess.run([*self.pg["as"], str(self.pg["bindir"] / "pg_ctl"), "-D", str(self.pg["data"]),
                            "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------- Redis protocol

class RedisError(Exception):
    """Redis answered an error reply (-ERR ...)."""


def redis_command(port: int, *command: str | int, timeout: float = 5):
    """Send one command over RESP and return the reply: str for simple and bulk strings (None for nil), int,
    list for arrays; an error reply raises RedisError. Enough for SCAN, TTL, GET, PING (no client library)."""
    parts = [str(c).encode() for c in command]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        reader = sock.makefile("rb")
        return _resp_reply(reader)


def _resp_reply(reader):
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise RedisError(f"connection closed mid-reply: {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode(errors="replace")
    if kind == b"-":
        raise RedisError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        if size < 0:
            return None
        data = reader.read(size + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_resp_reply(reader) for _ in range(size)]
    raise RedisError(f"unexpected reply {line!r}")


# --------------------------------------------------------------------------- OTLP/HTTP receiver

class OtlpReceiver:
    """Accepts OTLP/HTTP trace exports (protobuf or JSON) on POST /v1/traces and keeps the spans; metrics and
    logs exports are accepted and dropped."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self._body()
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path.rstrip("/") in ("/v1/metrics", "/v1/logs"):  # accepted, not checked
                    self._reply(200)
                    return
                if self.path.rstrip("/") != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                try:
                    spans = receiver._decode(body, self.headers.get("Content-Type", ""))
                    with receiver.lock:
                        receiver.spans.extend(spans)
                    status = 200
                except Exception as e:  # noqa: BLE001
                    receiver.errors.append(f"undecodable export ({self.headers.get('Content-Type')}): {e}")
                    status = 400
                self._reply(status)

            def _reply(self, status: int) -> None:
                json_reply = "json" in self.headers.get("Content-Type", "")
                payload = b"{}" if json_reply else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if json_reply else "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _body(self) -> bytes:
                """The request body, sent with a Content-Length or chunked (as Node's exporters send it)."""
                if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()  # the CRLF after each chunk
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers, up to the final blank line
                return b"".join(chunks)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def _decode(body: bytes, content_type: str) -> list[dict]:
        if "json" in content_type:
            data = json.loads(body)
            return [{"name": s.get("name"), "service": _service_name_json(rs)}
                    for rs in data.get("resourceSpans", []) for ss in rs.get("scopeSpans", [])
                    for s in ss.get("spans", [])]
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        req = ExportTraceServiceRequest.FromString(body)
        out = []
        for rs in req.resource_spans:
            service = next((a.value.string_value for a in rs.resource.attributes if a.key == "service.name"), "")
            out += [{"name": s.name, "service": service} for ss in rs.scope_spans for s in ss.spans]
        return out

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self.lock:
            self.spans.clear()
            self.errors.clear()

    def stop(self) -> None:
        self.server.shutdown()


def _service_name_json(rs: dict) -> str:
    for a in rs.get("resource", {}).get("attributes", []):
        if a.get("key") == "service.name":
            return a.get("value", {}).get("stringValue", "")
    return ""


# --------------------------------------------------------------------------- OAuth2 / OIDC issuer

def _b64url(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OidcIssuer:
    """A token issuer on loopback for services with OAuth2 (JWT bearer tokens checked against a JWKS):
    /.well-known/openid-configuration, /jwks.json, and RS256 tokens minted by mint()."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.kid = "svcgen-harness"
        jwks = {"keys": [{"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                          "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
                          "e": _b64url(numbers.e.to_bytes(3, "big"))}]}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                discovery = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks.json",
                             "id_token_signing_alg_values_supported": ["RS256"]}
                routes = {"/.well-known/openid-configuration": discovery, "/jwks.json": jwks}
                body = json.dumps(routes.get(self.path, {"error": "not found"})).encode()
                self.send_response(200 if self.path in routes else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                """The request body, sent with a Content-Length or chunked (as Node's exporters send it)."""
                if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
                    return self.rfile.read(int(self.headers.get("Content-Length") or 0))
                chunks = []
                while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()  # the CRLF after each chunk
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers, up to the final blank line
                return b"".join(chunks)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def mint(self, claims: dict) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        head = _b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": self.kid}).encode())
        body = _b64url(json.dumps(claims).encode())
        signature = self.key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64url(signature)}"

    def stop(self) -> None:
        self.server.shutdown()
