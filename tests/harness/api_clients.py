"""Clients that perform CRUD over each API type, with one result shape for the run tier.

Every call returns an Outcome whose `kind` is ok, invalid, not_found, unauthenticated or other,
mapped from the protocol (HTTP status, gRPC status code, GraphQL errors), plus what the service said.
Names follow the conventions of each API type; smoke-test.yaml can override any of them.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

OK, INVALID, NOT_FOUND, UNAUTH, OTHER = "ok", "invalid", "not_found", "unauthenticated", "other"


@dataclass
class Outcome:
    kind: str
    status: str  # "HTTP 201", "grpc NOT_FOUND", "graphql errors"...
    body: object = None
    message: str = ""  # the error message the service gave, if any
    item: object = None
    items: list | None = None
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        text = json.dumps(self.body, default=str) if not isinstance(self.body, str) else self.body
        return f"{self.status}: {text[:300]}"


# --------------------------------------------------------------------------- names

def pascal(kebab: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[-_\s]+", kebab) if p)


def camel(kebab: str) -> str:
    p = pascal(kebab)
    return p[:1].lower() + p[1:]


def snake(kebab: str) -> str:
    return re.sub(r"[-\s]+", "_", kebab).lower()


def plural(word: str) -> str:
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def _find_item(body, id_field: str, resource: str):
    """The resource object in a response: the body itself, or under the resource name or 'data'."""
    if isinstance(body, dict):
        if id_field in body:
            return body
        for key in (snake(resource), camel(resource), "data", "item", "result"):
            if isinstance(body.get(key), dict):
                return _find_item(body[key], id_field, resource)
    return None


def _find_list(body) -> list | None:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return value
        for value in body.values():
            found = _find_list(value) if isinstance(value, dict) else None
            if found is not None:
                return found
    return None


def _error_message(body) -> str:
    if isinstance(body, dict):
        for key in ("message", "error", "detail", "errors", "title", "msg"):
            value = body.get(key)
            if value:
                return value if isinstance(value, str) else json.dumps(value, default=str)
        return ""
    return body.strip() if isinstance(body, str) else ""


# --------------------------------------------------------------------------- REST

class RestClient:
    """POST /things -> 201, GET /things/{id} -> 200, GET /things -> 200, PUT|PATCH /things/{id} -> 200|204,
    DELETE /things/{id} -> 204|200; invalid payload -> 400|422; unknown id -> 404."""

    EXPECTED = {"create": {201}, "read": {200}, "list": {200}, "update": {200, 204}, "delete": {200, 204}}

    def __init__(self, port: int, crud: dict, headers: dict[str, str]):
        self.port = port
        self.id_field = crud.get("id_field", "id")
        self.resource = crud["resource"]
        rest = crud.get("rest") or {}
        self.collection = rest.get("collection", "/" + (crud.get("plural") or plural(crud["resource"])))
        self.update_method = rest.get("update_method", "PUT")
        self.headers = headers

    def _call(self, method: str, path: str, payload=None, headers=None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        body = None if payload is None else json.dumps(payload)
        hdrs = {"Accept": "application/json", **(self.headers if headers is None else headers)}
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=hdrs)
            res = conn.getresponse()
            raw = res.read().decode(errors="replace")
        finally:
            conn.close()
        try:
            return res.status, json.loads(raw) if raw else None
        except ValueError:
            return res.status, raw

    def _outcome(self, op: str, status: int, body) -> Outcome:
        if 200 <= status < 300:
            o = Outcome(OK, f"HTTP {status}", body)
            if status not in self.EXPECTED[op]:
                o.kind = OTHER
                o.notes.append(f"expected HTTP {' or '.join(map(str, sorted(self.EXPECTED[op])))}, got {status}")
            return o
        kind = {400: INVALID, 422: INVALID, 404: NOT_FOUND, 401: UNAUTH, 403: UNAUTH}.get(status, OTHER)
        return Outcome(kind, f"HTTP {status}", body, message=_error_message(body))

    def _item_path(self, item_id) -> str:
        return f"{self.collection.rstrip('/')}/{item_id}"

    def create(self, payload, headers=None) -> Outcome:
        status, body = self._call("POST", self.collection, payload, headers)
        o = self._outcome("create", status, body)
        o.item = _find_item(body, self.id_field, self.resource)
        return o

    def read(self, item_id) -> Outcome:
        status, body = self._call("GET", self._item_path(item_id))
        o = self._outcome("read", status, body)
        o.item = _find_item(body, self.id_field, self.resource)
        return o

    def list(self) -> Outcome:
        status, body = self._call("GET", self.collection)
        o = self._outcome("list", status, body)
        o.items = _find_list(body)
        return o

    def update(self, item_id, payload, full) -> Outcome:
        status, body = self._call(self.update_method, self._item_path(item_id),
                                  full if self.update_method == "PUT" else payload)
        o = self._outcome("update", status, body)
        o.item = _find_item(body, self.id_field, self.resource)
        return o

    def delete(self, item_id) -> Outcome:
        status, body = self._call("DELETE", self._item_path(item_id))
        return self._outcome("delete", status, body)

    def inflight_request(self, payload) -> "HttpInflight":
        """The SIGTERM check's in-flight request: a create whose body is half-sent."""
        return HttpInflight(self.port, self.collection, json.dumps(payload).encode(), self.headers)


# --------------------------------------------------------------------------- GraphQL

class GraphqlClient:
    """Query `thing(id)`, `things`; mutations `createThing(input)`, `updateThing(id, input)`, `deleteThing(id)`.
    Errors: a response with `errors` (or HTTP 4xx); not found is an error whose code or message says so."""

    def __init__(self, port: int, crud: dict, headers: dict[str, str]):
        self.port = port
        self.headers = headers
        self.id_field = crud.get("id_field", "id")
        self.resource = crud["resource"]
        g = crud.get("graphql") or {}
        self.path = g.get("path", "/graphql")
        self.update_payload = g.get("update_payload", "full")  # full: sample merged with update; partial
        r, rs = camel(self.resource), camel(crud.get("plural") or plural(self.resource))
        R = pascal(self.resource)
        fields = g.get("fields") or " ".join([self.id_field, *[k for k in crud["sample"] if k != self.id_field]])
        id_type = g.get("id_type", "ID!")
        input_type = g.get("input_type", f"{R}Input!")
        update_input = g.get("update_input_type", input_type)
        ops = {
            "create": (f"mutation($input: {input_type}) {{ create{R}(input: $input) {{ {fields} }} }}", f"create{R}"),
            "read": (f"query($id: {id_type}) {{ {r}(id: $id) {{ {fields} }} }}", r),
            "list": (f"query {{ {rs} {{ {fields} }} }}", rs),
            "update": (f"mutation($id: {id_type}, $input: {update_input}) {{ update{R}(id: $id, input: $input) "
                       f"{{ {fields} }} }}", f"update{R}"),
            "delete": (f"mutation($id: {id_type}) {{ delete{R}(id: $id) }}", f"delete{R}"),
        }
        for op, override in (g.get("operations") or {}).items():
            ops[op] = (override["query"], override["field"])
        self.ops = ops

    def _post(self, payload: dict, headers=None) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request("POST", self.path, body=json.dumps(payload),
                         headers={"Content-Type": "application/json", "Accept": "application/json",
                                  **(self.headers if headers is None else headers)})
            res = conn.getresponse()
            raw = res.read().decode(errors="replace")
        finally:
            conn.close()
        try:
            return res.status, json.loads(raw)
        except ValueError:
            return res.status, raw

    def _op(self, op: str, variables: dict, headers=None) -> Outcome:
        query, fieldname = self.ops[op]
        status, body = self._post({"query": query, "variables": variables}, headers)
        errors = body.get("errors") if isinstance(body, dict) else None
        data = (body.get("data") or {}) if isinstance(body, dict) else {}
        value = data.get(fieldname) if isinstance(data, dict) else None
        if status == 200 and not errors:
            if op in ("read", "update", "delete") and value is None:
                return Outcome(NOT_FOUND, "graphql null", body, message="")
            o = Outcome(OK, "HTTP 200", body)
            o.item = value if isinstance(value, dict) else None
            o.items = value if isinstance(value, list) else _find_list(value)  # a list, or a page holding one
            return o
        message = "; ".join(str(e.get("message", "")) for e in errors or [] if isinstance(e, dict))
        codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors or [] if isinstance(e, dict)}
        if status in (401, 403) or codes & {"UNAUTHENTICATED", "FORBIDDEN"}:
            kind = UNAUTH
        elif "NOT_FOUND" in codes or re.search(r"not\s*found|no such|does not exist", message, re.I):
            kind = NOT_FOUND
        elif errors or 400 <= status < 500:
            kind = INVALID
        else:
            kind = OTHER
        return Outcome(kind, f"HTTP {status}, graphql errors {sorted(codes - {''}) or ''}".strip(), body,
                       message=message or _error_message(body))

    def create(self, payload, headers=None) -> Outcome:
        return self._op("create", {"input": payload}, headers)

    def read(self, item_id) -> Outcome:
        return self._op("read", {"id": item_id})

    def list(self) -> Outcome:
        return self._op("list", {})

    def update(self, item_id, payload, full) -> Outcome:
        return self._op("update", {"id": item_id, "input": full if self.update_payload == "full" else payload})

    def delete(self, item_id) -> Outcome:
        return self._op("delete", {"id": item_id})

    def inflight_request(self, payload) -> "HttpInflight":
        return HttpInflight(self.port, self.path, json.dumps({"query": "{ __typename }"}).encode(), self.headers)


# --------------------------------------------------------------------------- gRPC

class GrpcClient:
    """AIP-style methods: CreateThing, GetThing, ListThings, UpdateThing, DeleteThing on the service that has
    them. Requests wrap the resource in a field named after it when the message has one, else are flat.
    Errors: INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED."""

    def __init__(self, port: int, crud: dict, headers: dict[str, str], repo: Path, workdir: Path):
        import grpc
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        self.grpc = grpc
        self.port = port
        self.id_field = crud.get("id_field", "id")
        self.resource = crud["resource"]
        self.metadata = [(k.lower(), v) for k, v in headers.items()]
        g = crud.get("grpc") or {}
        R, Rs = pascal(self.resource), pascal(crud.get("plural") or plural(self.resource))
        root = repo / g.get("proto_root", "proto" if (repo / "proto").is_dir() else ".")
        protos = [str(p.relative_to(root)) for p in sorted(root.rglob("*.proto"))
                  if not set(p.relative_to(root).parts) & {"node_modules", ".venv", "vendor"}]
        import grpc_tools
        from grpc_tools import protoc

        out = workdir / "crud-protos.pb"
        wkt = Path(grpc_tools.__file__).parent / "_proto"
        code = protoc.main(["protoc", f"-I{root}", f"-I{wkt}", f"--descriptor_set_out={out}", "--include_imports",
                            *protos])
        if code != 0:
            raise RuntimeError(f"protoc could not compile {root}")
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
        pool = descriptor_pool.DescriptorPool()
        for f in fds.file:
            pool.Add(f)
        names = {"create": f"Create{R}", "read": f"Get{R}", "list": f"List{Rs}", "update": f"Update{R}",
                 "delete": f"Delete{R}", **(g.get("methods") or {})}
        service = None
        if g.get("service"):
            service = pool.FindServiceByName(g["service"])
        else:
            for f in fds.file:
                for s in f.service:
                    full = f"{f.package}.{s.name}" if f.package else s.name
                    if any(m.name == names["create"] for m in s.method):
                        service = pool.FindServiceByName(full)
        if service is None:
            raise RuntimeError(f"no gRPC service with a {names['create']} method in {root}")
        self.methods = {}
        for op, name in names.items():
            m = service.methods_by_name.get(name)
            if m is None:
                raise RuntimeError(f"service {service.full_name} has no method {name}")
            req_cls = message_factory.GetMessageClass(m.input_type)
            res_cls = message_factory.GetMessageClass(m.output_type)
            self.methods[op] = (f"/{service.full_name}/{name}", req_cls, res_cls, m.input_type)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.wrap = snake(self.resource)

    def _request(self, op: str, values: dict):
        from google.protobuf import json_format

        path, req_cls, _res, desc = self.methods[op]
        fields = desc.fields_by_name
        if op in ("create", "update") and self.wrap in fields and fields[self.wrap].message_type is not None:
            body = {self.wrap: values}
            if op == "update" and "update_mask" in fields:
                body["update_mask"] = ",".join(k for k in values if k != self.id_field)
        else:
            body = values
        return json_format.ParseDict(body, req_cls(), ignore_unknown_fields=False)

    def _call(self, op: str, values: dict, metadata=None) -> Outcome:
        from google.protobuf import json_format

        path, req_cls, res_cls, _ = self.methods[op]
        try:
            request = self._request(op, values)
        except Exception as e:  # noqa: BLE001
            return Outcome(OTHER, "client", None, message=f"payload does not fit {req_cls.DESCRIPTOR.full_name}: {e}")
        stub = self.channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=res_cls.FromString)
        try:
            response = stub(request, timeout=15, metadata=self.metadata if metadata is None else metadata)
        except self.grpc.RpcError as e:
            code = e.code()
            kind = {self.grpc.StatusCode.INVALID_ARGUMENT: INVALID, self.grpc.StatusCode.NOT_FOUND: NOT_FOUND,
                    self.grpc.StatusCode.UNAUTHENTICATED: UNAUTH,
                    self.grpc.StatusCode.PERMISSION_DENIED: UNAUTH}.get(code, OTHER)
            return Outcome(kind, f"grpc {code.name}", e.details(), message=e.details() or "")
        body = json_format.MessageToDict(response, preserving_proto_field_name=True)
        o = Outcome(OK, "grpc OK", body)
        o.item = _find_item(body, self.id_field, self.resource)
        o.items = _find_list(body)
        return o

    def create(self, payload, headers=None) -> Outcome:
        return self._call("create", payload, None if headers is None else [(k.lower(), v) for k, v in headers.items()])

    def read(self, item_id) -> Outcome:
        return self._call("read", {self.id_field: item_id})

    def list(self) -> Outcome:
        return self._call("list", {})

    def update(self, item_id, payload, full) -> Outcome:
        return self._call("update", {self.id_field: item_id, **full})

    def delete(self, item_id) -> Outcome:
        return self._call("delete", {self.id_field: item_id})

    def inflight_request(self, payload) -> "GrpcInflight":
        path, _req, _res, _desc = self.methods["create"]
        return GrpcInflight(self.port, path, self._request("create", payload).SerializeToString(), self.metadata)

    def close(self) -> None:
        self.channel.close()


# --------------------------------------------------------------------------- in-flight requests

class HttpInflight:
    """An HTTP/1.1 POST sent up to the first byte of its body; complete() sends the rest and reads the answer."""

    def __init__(self, port: int, path: str, body: bytes, headers: dict[str, str]):
        self.port, self.body = port, body
        self.head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
                     f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                     + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
        self.what = f"POST {path}, body half-sent"

    def begin(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.sock.sendall(self.head.encode() + self.body[:1])

    def complete(self) -> tuple[bool, str]:
        try:
            self.sock.sendall(self.body[1:])
            chunks = []
            while chunk := self.sock.recv(65536):
                chunks.append(chunk)
        except OSError as e:
            return False, f"in-flight request broken: {e}"
        finally:
            self.sock.close()
        status_line = b"".join(chunks).decode(errors="replace").split("\r\n", 1)[0]
        if not status_line:
            return False, "in-flight request got no response (connection closed)"
        if not re.match(r"HTTP/1\.[01] 2\d\d", status_line):
            return False, f"in-flight request answered {status_line!r}, expected a 2xx answer"
        return True, f"in-flight request ({self.what}) answered {status_line!r}"


class GrpcInflight:
    """A unary gRPC call over raw HTTP/2 (h2), its request message half-sent; complete() finishes it."""

    def __init__(self, port: int, path: str, message: bytes, metadata: list[tuple[str, str]]):
        self.port, self.path, self.metadata = port, path, metadata
        self.framed = b"\x00" + len(message).to_bytes(4, "big") + message
        self.what = f"{path}, message half-sent"

    def begin(self) -> None:
        import h2.config
        import h2.connection

        self.goaway = False
        self.pending = b""
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.stream = self.conn.get_next_available_stream_id()
        self.conn.send_headers(self.stream, [
            (":method", "POST"), (":scheme", "http"), (":path", self.path),
            (":authority", f"127.0.0.1:{self.port}"), ("content-type", "application/grpc"), ("te", "trailers"),
            *self.metadata])
        self.conn.send_data(self.stream, self.framed[:3])
        self.sock.sendall(self.conn.data_to_send())


    def _after_goaway(self, data: bytes, status: str | None) -> tuple[str | None, bool]:
        """Reads raw HTTP/2 frames: grpc-status from the header blocks of our stream, until it ends."""
        self.pending += data
        done = False
        while len(self.pending) >= 9:
            length = int.from_bytes(self.pending[:3], "big")
            if len(self.pending) < 9 + length:
                break
            kind, flags = self.pending[3], self.pending[4]
            stream = int.from_bytes(self.pending[5:9], "big") & 0x7FFFFFFF
            payload, self.pending = self.pending[9:9 + length], self.pending[9 + length:]
            if stream != self.stream:
                continue
            if kind in (0x1, 0x9):  # HEADERS, CONTINUATION (header blocks in one frame, as servers send them)
                if kind == 0x1 and flags & 0x8:  # PADDED
                    payload = payload[1:len(payload) - payload[0]]
                if kind == 0x1 and flags & 0x20:  # PRIORITY
                    payload = payload[5:]
                for name, value in self.conn.decoder.decode(payload):
                    name = name.decode() if isinstance(name, bytes) else name
                    if name == "grpc-status":
                        status = value.decode() if isinstance(value, bytes) else value
            if kind == 0x3 or flags & 0x1:  # RST_STREAM, or END_STREAM on HEADERS/DATA
                done = True
        return status, done
    def complete(self) -> tuple[bool, str]:
        import h2.events
        import h2.exceptions

        status = None
        try:
            self.conn.send_data(self.stream, self.framed[3:], end_stream=True)
            self.sock.sendall(self.conn.data_to_send())
            done, buffer = False, b""
            while not done:
                data = self.sock.recv(65536)
                if not data:
                    break
                # Frame by frame: a GOAWAY may arrive in the same read as the rest of our stream, and h2
                # drops every frame after it, while the server still finishes the streams it lets through.
                buffer += data
                while not done and len(buffer) >= 9 and len(buffer) >= 9 + int.from_bytes(buffer[:3], "big"):
                    size = 9 + int.from_bytes(buffer[:3], "big")
                    frame, buffer = buffer[:size], buffer[size:]
                    if self.goaway:
                        status, done = self._after_goaway(frame, status)
                        continue
                    try:
                        events = self.conn.receive_data(frame)
                    except h2.exceptions.H2Error:
                        done = True
                        break
                    for event in events:
                        if isinstance(event, h2.events.DataReceived):
                            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                        elif isinstance(event, (h2.events.TrailersReceived, h2.events.ResponseReceived)):
                            headers = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes)
                                       else v for k, v in event.headers}
                            status = headers.get("grpc-status", status)
                        elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)) \
                                and event.stream_id == self.stream:
                            done = True
                        elif isinstance(event, h2.events.ConnectionTerminated):
                            done = done or event.last_stream_id < self.stream
                            self.goaway = not done
                self.sock.sendall(self.conn.data_to_send())
        except OSError as e:
            return False, f"in-flight call broken: {e}"
        finally:
            self.sock.close()
        if status is None:
            return False, "in-flight call got no answer (stream or connection closed)"
        if status != "0":
            return False, f"in-flight call ended with grpc-status {status}, expected 0 (OK)"
        return True, f"in-flight call ({self.what}) completed with grpc-status 0"


def make_client(api: str, http_port: int, grpc_port: int, crud: dict, headers: dict, repo: Path, workdir: Path):
    if api == "rest":
        return RestClient(http_port, crud, headers)
    if api == "graphql":
        return GraphqlClient(http_port, crud, headers)
    return GrpcClient(grpc_port, crud, headers, repo, workdir)
