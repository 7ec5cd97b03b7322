"""A small service for the harness's self-tests: CRUD on orders over REST, GraphQL or gRPC, /health and /ready,
one OTLP/JSON span per request, graceful shutdown on SIGTERM. Like a generated service, with REDIS_URL it
caches reads in Redis (key fake:order:<id>, TTL 60 s; writes delete the key), and with SQS_QUEUE_URL or
SNS_TOPIC_ARN it publishes an event after every write. `--job` runs its "scheduled job" once instead of serving.
`--bug NAME` makes it wrong in one way, so the self-tests can show that the run tier's check for that
behaviour fails.

    python fake_service.py --api rest|graphql|grpc [--bug NAME] [--auth jwt] [--job]
Environment: PORT, GRPC_PORT, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME, JWT_SECRET (with --auth jwt),
OAUTH2_ISSUER_URL, OAUTH2_JWKS_URL, OAUTH2_AUDIENCE (with --auth oauth2), REDIS_URL, AWS_ENDPOINT_URL with
SQS_QUEUE_URL or SNS_TOPIC_ARN.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BUGS = {
    "create-200": "REST create answers 200 instead of 201",
    "accept-invalid": "invalid payloads are stored instead of rejected",
    "unknown-500": "unknown ids answer 500 instead of 404",
    "empty-error": "errors carry no message",
    "list-missing": "list omits the items",
    "update-ignored": "update answers OK but changes nothing",
    "delete-noop": "delete answers OK but keeps the item",
    "wrong-field": "create returns a different quantity than it was sent",
    "no-trace": "no span is exported",
    "sigterm-drop": "SIGTERM exits at once, dropping in-flight requests",
    "sigterm-exit-1": "SIGTERM shuts down gracefully but exits 1",
    "sigterm-hang": "SIGTERM is ignored",
    "auth-ignored": "requests without a token are served",
    "not-ready": "/ready answers 503",
    "cache-off": "reads do not go through Redis although REDIS_URL is set",
    "cache-no-ttl": "cache entries never expire",
    "events-off": "no event is published although a queue or topic is set",
    "events-wrong-subject": "events carry the event's id as subject_id, not the item's",
    "job-fails": "the job exits 1",
    "job-hangs": "the job never finishes",
}

args = argparse.Namespace()
store: dict[str, dict] = {}
lock = threading.Lock()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bug(name: str) -> bool:
    return args.bug == name


# --------------------------------------------------------------------------- the domain

def validate(payload) -> dict:
    if bug("accept-invalid"):
        return dict(payload)
    if not isinstance(payload, dict):
        raise ApiError(400, "INVALID_ARGUMENT", "the body must be a JSON object")
    customer, quantity = payload.get("customer"), payload.get("quantity")
    if not isinstance(customer, str) or not customer.strip():
        raise ApiError(400, "INVALID_ARGUMENT", "customer: must be a non-empty string")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ApiError(400, "INVALID_ARGUMENT", "quantity: must be an integer of at least 1")
    return {"customer": customer, "quantity": quantity}


def missing(order_id: str) -> ApiError:
    if bug("unknown-500"):
        return ApiError(500, "INTERNAL", "internal error")
    return ApiError(404, "NOT_FOUND", "" if bug("empty-error") else f"order {order_id} not found")


def create(payload) -> dict:
    order = {"id": str(uuid.uuid4()), **validate(payload)}
    with lock:
        store[order["id"]] = order
    publish("created", order["id"], order)
    if bug("wrong-field"):
        return {**order, "quantity": order.get("quantity", 0) + 1}
    return order


def get(order_id: str) -> dict:
    cached = redis("GET", f"fake:order:{order_id}")
    if cached:
        return json.loads(cached)
    with lock:
        if order_id not in store:
            raise missing(order_id)
        order = store[order_id]
    ttl = [] if bug("cache-no-ttl") else ["EX", "60"]
    redis("SET", f"fake:order:{order_id}", json.dumps(order), *ttl)
    return order


def list_all() -> list[dict]:
    with lock:
        return [] if bug("list-missing") else list(store.values())


def update(order_id: str, payload) -> dict:
    valid = validate(payload)
    with lock:
        if order_id not in store:
            raise missing(order_id)
        if not bug("update-ignored"):
            store[order_id] = {"id": order_id, **valid}
        order = store[order_id]
    redis("DEL", f"fake:order:{order_id}")
    publish("updated", order_id, order)
    return order


def delete(order_id: str) -> None:
    with lock:
        if order_id not in store:
            raise missing(order_id)
        if not bug("delete-noop"):
            del store[order_id]
    redis("DEL", f"fake:order:{order_id}")
    publish("deleted", order_id, None)


# --------------------------------------------------------------------------- cache and events

def redis(*command: str):
    """One command to $REDIS_URL over RESP (no client library); None without REDIS_URL. Replies: bulk or
    simple string (None for nil), enough for GET, SET and DEL."""
    m = re.match(r"redis://([^:/]+):(\d+)", os.environ.get("REDIS_URL", ""))
    if not m or bug("cache-off"):
        return None
    parts = [c.encode() for c in command]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection((m[1], int(m[2])), timeout=5) as sock:
        sock.sendall(request)
        reader = sock.makefile("rb")
        line = reader.readline()
        if line.startswith(b"$") and int(line[1:]) >= 0:
            return reader.read(int(line[1:]) + 2)[:-2].decode()
        return None


def publish(action: str, order_id: str, order: dict | None) -> None:
    queue, topic = os.environ.get("SQS_QUEUE_URL"), os.environ.get("SNS_TOPIC_ARN")
    if not (queue or topic) or bug("events-off"):
        return
    import boto3

    event_id = str(uuid.uuid4())
    body = json.dumps({"id": event_id, "type": f"order.{action}",
                       "subject_id": event_id if bug("events-wrong-subject") else order_id,
                       "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": order})
    kw = {"endpoint_url": os.environ["AWS_ENDPOINT_URL"], "region_name": os.environ.get("AWS_REGION", "us-east-1")}
    if queue:
        boto3.client("sqs", **kw).send_message(QueueUrl=queue, MessageBody=body)
    else:
        boto3.client("sns", **kw).publish(TopicArn=topic, Message=body)


# --------------------------------------------------------------------------- auth and traces

def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def authorised(header: str | None) -> bool:
    if not args.auth or bug("auth-ignored"):
        return True
    m = re.match(r"Bearer (\S+)\.(\S+)\.(\S+)$", header or "")
    if not m:
        return False
    if args.auth == "jwt":
        expected = hmac.new(os.environ["JWT_SECRET"].encode(), f"{m[1]}.{m[2]}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(base64.urlsafe_b64encode(expected).rstrip(b"=").decode(), m[3])
    # oauth2: RS256 against the issuer's JWKS, and the audience
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    with urllib.request.urlopen(os.environ["OAUTH2_JWKS_URL"], timeout=5) as r:
        key = json.load(r)["keys"][0]
    public = rsa.RSAPublicNumbers(int.from_bytes(_unb64(key["e"]), "big"),
                                  int.from_bytes(_unb64(key["n"]), "big")).public_key()
    try:
        public.verify(_unb64(m[3]), f"{m[1]}.{m[2]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    claims = json.loads(_unb64(m[2]))
    return claims.get("aud") == os.environ["OAUTH2_AUDIENCE"] and claims.get("iss") == os.environ["OAUTH2_ISSUER_URL"]


def export_span(name: str, start: float) -> None:
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint or bug("no-trace"):
        return
    span = {"traceId": uuid.uuid4().hex, "spanId": uuid.uuid4().hex[:16], "name": name, "kind": 2,
            "startTimeUnixNano": str(int(start * 1e9)), "endTimeUnixNano": str(time.time_ns())}
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": os.environ.get("OTEL_SERVICE_NAME", "fake")}}]},
        "scopeSpans": [{"scope": {"name": "fake"}, "spans": [span]}]}]}
    try:
        req = urllib.request.Request(endpoint.rstrip("/") + "/v1/traces", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=2).read()
    except OSError:
        pass


# --------------------------------------------------------------------------- HTTP (health, REST, GraphQL)

graphql_schema = None


def graphql_execute(query: str, variables: dict) -> tuple[int, dict]:
    import graphql

    def resolve(fn):
        def resolver(_info, **kw):  # graphql-core calls a root value's callables with (info, **arguments)
            try:
                return fn(**kw)
            except ApiError as e:
                raise graphql.GraphQLError(e.message or "error", extensions={"code": e.code}) from e
        return resolver

    root = {
        "order": resolve(lambda id: get(id)),
        "orders": resolve(lambda: list_all()),
        "createOrder": resolve(lambda input: create(dict(input))),
        "updateOrder": resolve(lambda id, input: update(id, dict(input))),
        "deleteOrder": resolve(lambda id: delete(id) or True),
    }
    result = graphql.graphql_sync(graphql_schema, query, root_value=root, variable_values=variables)
    body = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    return 200, body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body=None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise ApiError(400, "INVALID_ARGUMENT", "the body is not JSON") from None

    def _handle(self, method: str) -> None:
        start = time.time()
        try:
            self._route(method)
        except ApiError as e:
            self._send(e.status, {} if bug("empty-error") else {"error": e.message})
        export_span(f"{method} {self.path}", start)

    def _route(self, method: str) -> None:
        path = self.path.split("?")[0]
        if method == "GET" and path == "/health":
            return self._send(200, {"status": "ok"})
        if method == "GET" and path == "/ready":
            return self._send(503 if bug("not-ready") else 200, {"status": "ok"})
        if not authorised(self.headers.get("Authorization")):
            raise ApiError(401, "UNAUTHENTICATED", "a valid bearer token is required")
        if args.api == "graphql" and path == "/graphql" and method == "POST":
            body = self._body()
            return self._send(*graphql_execute(body.get("query", ""), body.get("variables") or {}))
        if args.api != "rest":
            raise ApiError(404, "NOT_FOUND", "no such path")
        m = re.fullmatch(r"/orders(?:/([^/]+))?", path)
        if not m:
            raise ApiError(404, "NOT_FOUND", "no such path")
        order_id = m.group(1)
        if method == "POST" and not order_id:
            return self._send(200 if bug("create-200") else 201, create(self._body()))
        if method == "GET" and not order_id:
            return self._send(200, {"items": list_all()})
        if method == "GET":
            return self._send(200, get(order_id))
        if method == "PUT" and order_id:
            return self._send(200, update(order_id, self._body()))
        if method == "DELETE" and order_id:
            delete(order_id)
            return self._send(204)
        raise ApiError(405, "METHOD", "method not allowed")

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def log_message(self, *_a) -> None:
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() then waits for requests in flight
    block_on_close = True


# --------------------------------------------------------------------------- gRPC

def start_grpc(port: int):
    from concurrent import futures

    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory
    from grpc_tools import protoc

    here = Path(__file__).resolve().parent
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"fake-orders-{os.getpid()}.pb"
    protoc.main(["protoc", f"-I{here}", f"--descriptor_set_out={out}", "orders.proto"])
    fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    out.unlink()
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    service = pool.FindServiceByName("orders.v1.OrderService")
    codes = {"INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT, "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
             "INTERNAL": grpc.StatusCode.INTERNAL, "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED}

    def behaviour(name: str, request: dict):
        if name == "CreateOrder":
            return create(request.get("order", {}))
        if name == "GetOrder":
            if bug("notfound-ok") and request.get("id") not in store:
                return {}
            return get(request.get("id", ""))
        if name == "ListOrders":
            return {"orders": list_all()}
        if name == "UpdateOrder":
            order = dict(request.get("order", {}))
            return update(order.pop("id", ""), order)
        if name == "DeleteOrder":
            delete(request.get("id", ""))
            return {}
        raise ApiError(404, "NOT_FOUND", "no such method")

    handlers = {}
    for method in service.methods:
        req_cls = message_factory.GetMessageClass(method.input_type)
        res_cls = message_factory.GetMessageClass(method.output_type)

        def call(request, context, name=method.name, res_cls=res_cls):
            start = time.time()
            try:
                meta = dict(context.invocation_metadata())
                if not authorised(meta.get("authorization")):
                    raise ApiError(401, "UNAUTHENTICATED", "a valid bearer token is required")
                result = behaviour(name, json_format.MessageToDict(request, preserving_proto_field_name=True))
                return json_format.ParseDict(result, res_cls(), ignore_unknown_fields=True)
            except ApiError as e:
                context.abort(codes.get(e.code, grpc.StatusCode.UNKNOWN), e.message)
            finally:
                export_span(f"grpc {name}", start)

        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            call, request_deserializer=req_cls.FromString, response_serializer=lambda m: m.SerializeToString())
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server


# --------------------------------------------------------------------------- main

def main() -> int:
    global graphql_schema
    p = argparse.ArgumentParser()
    p.add_argument("--api", choices=["rest", "graphql", "grpc"], required=True)
    p.add_argument("--bug", choices=[*BUGS, "notfound-ok"])
    p.add_argument("--auth", choices=["jwt", "oauth2"])
    p.add_argument("--job", action="store_true", help="run the scheduled job once, then exit")
    p.parse_args(namespace=args)
    if args.job:
        if bug("job-hangs"):
            time.sleep(3600)
        if bug("job-fails"):
            print("job failed: the store is unreachable", file=sys.stderr)
            return 1
        print(f"job finished: counted {len(store)} orders")
        return 0
    if args.api == "graphql":
        import graphql

        graphql_schema = graphql.build_schema((Path(__file__).resolve().parent / "orders.graphql").read_text())
    http = Server(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Handler)
    grpc_server = start_grpc(int(os.environ["GRPC_PORT"])) if args.api == "grpc" else None
    stop = threading.Event()

    def on_term(*_):
        if bug("sigterm-drop"):
            os._exit(0)
        if not bug("sigterm-hang"):
            stop.set()

    signal.signal(signal.SIGTERM, on_term)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    # The kernel may hand SIGTERM to one of gRPC's threads; Python then runs the handler only when the main
    # thread next executes bytecode, which an untimed wait never does.
    while not stop.wait(0.2):
        pass
    if grpc_server:
        grpc_server.stop(grace=5).wait()
    http.shutdown()
    http.server_close()  # joins handler threads: requests in flight finish
    return 1 if bug("sigterm-exit-1") else 0


if __name__ == "__main__":
    raise SystemExit(main())
