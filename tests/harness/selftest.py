#!/usr/bin/env python3
"""The harness must be able to fail: each check is shown to fail on a broken input and pass on a good one.

    python3 tests/harness/selftest.py            all self-tests
    python3 tests/harness/selftest.py static     one group: static, build, run, conventions

Static: selftest/static/good is a repository with one valid file of every kind: every static check must
pass on it. Each folder of selftest/static/broken overlays one broken file on it: exactly the named checks
must fail, every other one must still pass. Build: small projects whose README commands pass or fail. Run:
selftest/fake_service.py, a CRUD service over REST, GraphQL and gRPC, correct or with one bug: exactly the
named run checks must fail.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

STATIC = HERE / "selftest" / "static"
FAKE = HERE / "selftest" / "fake_service.py"

# broken case -> the static checks that must fail (all others must pass)
STATIC_CASES = {
    "yaml-broken": {"parse"},
    "json-broken": {"parse"},
    "k8s-wrong-type": {"kubernetes", "kustomize"},
    "k8s-unknown-field": {"kubernetes", "kustomize"},
    "k8s-unknown-kind": {"kubernetes"},
    "kustomize-missing-resource": {"kustomize"},
    "argocd-wrong-type": {"argocd"},
    "workflow-unknown-needs": {"github-actions"},
    "workflow-bad-expression": {"github-actions"},
    "gitlab-unknown-key": {"gitlab-ci"},
    "compose-undefined-dependency": {"docker-compose"},
    "dockerfile-best-practice": {"dockerfile"},
    "dockerfile-ignore-without-reason": {"dockerfile"},
    "terraform-unformatted": {"terraform-fmt"},
    "terraform-syntax": {"terraform-fmt", "terraform-hcl", "terraform-validate", "checkov"},
    "terraform-undeclared-reference": {"terraform-validate"},
    "checkov-open-security-group": {"checkov"},
    "checkov-skip-without-reason": {"checkov"},
    "checkov-config-skip": {"checkov"},
    "proto-undefined-type": {"protoc", "buf-lint"},
    "proto-style": {"buf-lint"},
    "graphql-unknown-type": {"graphql"},
    "openapi-missing-info": {"openapi"},
    "catalog-bad-name": {"backstage-catalog"},
    "catalog-api-without-definition": {"backstage-catalog"},
    "shell-unquoted": {"shellcheck"},
}

# --------------------------------------------------------------------------- pipeline check (issue 14)
# Each broken/pipeline-* case fails `pipeline` alone (above, with the other static cases) and for the reason named
# here, a phrase of its detail; pass/pipeline-complete (a Python service's pipelines done right, laid over the good
# repository the same way) passes every static check.
PIPELINE_CASES = {
    "pipeline-version-differs": "tests on Python 3.11, the Dockerfile ships python:3.12-slim",
    "pipeline-pip-unpinned": "installs without the Dockerfile's pins (--constraint constraints.txt)",
    "pipeline-tests-not-run": "GitHub Actions: no job runs the README's test commands `./scripts/check.sh`",
    "pipeline-test-script-incomplete": "lacks the README's test commands `python3 -m unittest discover -s tests`",
    "pipeline-no-database": "the tests read DATABASE_URL (docker-compose.yml: db, postgres:16) but the job starts "
                            "no postgres service",
}
STATIC_CASES.update({case: {"pipeline"} for case in PIPELINE_CASES})
# Their broken pipelines run no tests either (one runs `echo`, the other's `scripts:` is no script), which it says too.
for _case in ("workflow-bad-expression", "gitlab-unknown-key"):
    STATIC_CASES[_case] = STATIC_CASES[_case] | {"pipeline"}

# (name, api, bug, options) -> the run checks that must fail (all others must pass, except the option checks
# that are off: cache, events and job are n/a unless options turn them on). Options: values (the value set's,
# e.g. redisCache), job (smoke-test.yaml declares the fake's --job; the string is a shell prefix), job_timeout.
RUN_CASES = [
    ("rest", "rest", None, {}, set()),
    ("rest create answers 200", "rest", "create-200", {}, {"crud-create"}),
    ("rest returns other data", "rest", "wrong-field", {}, {"crud-create"}),
    ("rest list omits items", "rest", "list-missing", {}, {"crud-list"}),
    ("rest update ignored", "rest", "update-ignored", {}, {"crud-update"}),
    ("rest delete keeps item", "rest", "delete-noop", {}, {"crud-delete"}),
    ("rest accepts invalid payload", "rest", "accept-invalid", {}, {"errors"}),
    ("rest unknown id answers 500", "rest", "unknown-500", {}, {"crud-delete", "errors"}),
    ("rest errors without message", "rest", "empty-error", {}, {"errors"}),
    ("rest not ready", "rest", "not-ready", {}, {"ready"}),
    ("rest exports no span", "rest", "no-trace", {}, {"trace"}),
    ("rest drops in-flight request", "rest", "sigterm-drop", {}, {"sigterm"}),
    ("rest exits 1 on SIGTERM", "rest", "sigterm-exit-1", {}, {"sigterm"}),
    ("rest ignores SIGTERM", "rest", "sigterm-hang", {}, {"sigterm"}),
    ("rest with jwt", "rest", None, {"auth": "jwt"}, set()),
    ("rest with jwt, token not checked", "rest", "auth-ignored", {"auth": "jwt"}, {"errors"}),
    ("grpc with oauth2", "grpc", None, {"auth": "oauth2"}, set()),
    ("graphql with oauth2, token not checked", "graphql", "auth-ignored", {"auth": "oauth2"}, {"errors"}),
    ("graphql", "graphql", None, {}, set()),
    ("graphql returns other data", "graphql", "wrong-field", {}, {"crud-create"}),
    ("graphql accepts invalid input", "graphql", "accept-invalid", {}, {"errors"}),
    ("graphql drops in-flight request", "graphql", "sigterm-drop", {}, {"sigterm"}),
    ("grpc", "grpc", None, {}, set()),
    ("grpc unknown id answers OK", "grpc", "notfound-ok", {}, {"crud-delete", "errors"}),
    ("grpc accepts invalid payload", "grpc", "accept-invalid", {}, {"errors"}),
    ("grpc exports no span", "grpc", "no-trace", {}, {"trace"}),
    ("no smoke-test.yaml (placeholder)", "rest", None, {"contract": False}, set()),
    ("service exits at start", "rest", None, {"start": "false"}, {"start"}),
    ("Run section set-up sees the environment", "rest", None,
     {"setup": ['test -n "$PORT" && test -n "$OTEL_SERVICE_NAME"']}, set()),
    ("Run section set-up fails", "rest", None, {"setup": ["echo migrating", "exit 3", "echo never"]},
     {"set up: exit 3"}),
    ("rest with a Redis cache", "rest", None, {"values": {"redisCache": True}}, set()),
    ("rest reads bypass Redis", "rest", "cache-off", {"values": {"redisCache": True}}, {"cache"}),
    ("rest cache entries never expire", "rest", "cache-no-ttl", {"values": {"redisCache": True}}, {"cache"}),
    ("grpc with SQS events", "grpc", None, {"values": {"messageQueue": "sqs"}}, set()),
    ("rest publishes no event", "rest", "events-off", {"values": {"messageQueue": "sqs"}}, {"events"}),
    ("graphql with SNS events", "graphql", None, {"values": {"messageQueue": "sns"}}, set()),
    ("rest SNS event names another subject", "rest", "events-wrong-subject", {"values": {"messageQueue": "sns"}},
     {"events"}),
    ("job runs with the service's environment (Run set-up included)", "rest", None,
     {"setup": ["export JOB_MARK=from-run-section"], "job": 'test "$JOB_MARK" = from-run-section && '}, set()),
    ("job exits 1", "rest", "job-fails", {"job": ""}, {"job"}),
    ("job never finishes", "rest", "job-hangs", {"job": "", "job_timeout": 2}, {"job"}),
]


class Results:
    def __init__(self) -> None:
        self.passed, self.failed = 0, []

    def expect(self, label: str, ok: bool, why: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"  ok    {label}", flush=True)
        else:
            self.failed.append(label)
            print(f"  FAIL  {label}\n        {why.replace(chr(10), chr(10) + '        ')}", flush=True)


def failing(checks) -> set[str]:
    return {c.name for c in checks if c.status == "fail"}


def describe(checks) -> str:
    return "\n".join(f"{c.status:5} {c.name}: {c.detail[:400]}" for c in checks if c.status != "pass")


# --------------------------------------------------------------------------- static

STATIC_CONFIG = {"kubernetes_version": "1.32.0", "crd_groups": []}


def _static_case(case: str):
    """The good repository with one broken case laid over it, statically checked."""
    from static_checks import run_static

    with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
        repo = Path(tmp) / "repo"
        shutil.copytree(STATIC / "good", repo, symlinks=True)
        shutil.copytree(STATIC / "broken" / case, repo, dirs_exist_ok=True)
        return run_static(repo, STATIC_CONFIG)


def selftest_static(results: Results) -> None:
    from static_checks import CHECK_NAMES, run_static

    print("static: the good repository passes every check", flush=True)
    checks = run_static(STATIC / "good", STATIC_CONFIG)
    not_passing = [c for c in checks if c.status != "pass"]
    results.expect("good repository: all static checks pass (none n/a)", not not_passing, describe(not_passing))
    assert [c.name for c in checks] == CHECK_NAMES
    print("static: each broken file fails exactly its checks", flush=True)
    covered = set()
    with concurrent.futures.ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        outcomes = pool.map(_static_case, STATIC_CASES)
        for (case, expected), checks in zip(STATIC_CASES.items(), outcomes):
            got = failing(checks)
            others = [c for c in checks if c.name not in expected and c.status != "pass"]
            covered |= got
            results.expect(f"{case}: fails {', '.join(sorted(expected))}", got == expected and not others,
                           f"failing: {sorted(got)}\n{describe(checks)}")
    untested = set(CHECK_NAMES) - covered
    results.expect("every static check is shown failing by some broken case", not untested,
                   f"never failed: {sorted(untested)}")


def selftest_pipeline(results: Results) -> None:
    from static_checks import run_static

    print("pipeline: each broken pipeline fails for its reason; a complete one passes every static check", flush=True)
    with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
        for case, phrase in PIPELINE_CASES.items():
            repo = Path(tmp) / case
            shutil.copytree(STATIC / "good", repo, symlinks=True)
            shutil.copytree(STATIC / "broken" / case, repo, dirs_exist_ok=True)
            detail = run_static(repo, STATIC_CONFIG, only={"pipeline"})[0].detail
            results.expect(f"{case}: `pipeline` says: {phrase[:60]}", phrase in detail, detail)
        repo = Path(tmp) / "complete"
        shutil.copytree(STATIC / "good", repo, symlinks=True)
        shutil.copytree(STATIC / "pass" / "pipeline-complete", repo, dirs_exist_ok=True)
        checks = run_static(repo, STATIC_CONFIG)
    not_passing = [c for c in checks if c.status != "pass"]
    results.expect("pipeline-complete: every static check passes", not not_passing, describe(not_passing))


# --------------------------------------------------------------------------- build

def _project(root: Path, readme: str, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "README.md").write_text(textwrap.dedent(readme))
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


BUILD_README = """\
    # demo

    ## Set up

    ```sh
    python3 -m venv .venv && . .venv/bin/activate
    ```

    ## Run it locally

    ```sh
    python -c "print('setup in the run section')"
    python -m http.server "$PORT"     # the start command: not run by the build tier
    ```

    ## Deploy

    ```sh
    kubectl apply -k k8s/overlays/dev   # documentation only: never run
    ```

    ## Test

    ```sh
    python -m unittest discover -s tests -v
    ```
    """


def selftest_build(results: Results) -> None:
    from build_checks import run_build

    print("build: the README's commands run in one shell, each a check", flush=True)
    test_ok = "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertTrue(True)\n"
    with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
        good = _project(Path(tmp) / "good", BUILD_README, {"tests/test_demo.py": test_ok})
        checks = run_build(good)
        names = [c.name for c in checks]
        results.expect("passing project: set-up and tests pass; Run and Deploy sections not run",
                       names == ["python3 -m venv .venv && . .venv/bin/activate",
                                 "python -m unittest discover -s tests -v"] and not failing(checks),
                       f"{names}\n{describe(checks)}")
        bad = _project(Path(tmp) / "bad", BUILD_README, {"tests/test_demo.py": test_ok.replace("True)", "False)")})
        checks = run_build(bad)
        results.expect("failing unit test: the test command fails",
                       failing(checks) == {"python -m unittest discover -s tests -v"}, describe(checks))
        broken = _project(Path(tmp) / "broken", BUILD_README.replace("python3 -m venv", "python3 -m no_such_module"),
                          {"tests/test_demo.py": test_ok})
        checks = run_build(broken)
        statuses = [c.status for c in checks]
        results.expect("failing set-up command: it fails, later commands are skipped",
                       statuses == ["fail", "skip"], describe(checks))
        empty = _project(Path(tmp) / "empty", "# demo\n\nNothing documented.\n", {})
        checks = run_build(empty)
        results.expect("README without commands: fails", failing(checks) == {"commands"}, describe(checks))


# --------------------------------------------------------------------------- run

CONTRACT = """\
    version: 1
    grace_period_seconds: 4
    startup_seconds: 60
    ready_seconds: 3
    tracing: otlp-http
    crud:
      api: {api}
      resource: order
      sample: {{customer: Ada, quantity: 2}}
      update: {{quantity: 3}}
      invalid: {{customer: "", quantity: 0}}
    """


def selftest_run(results: Results) -> None:
    import workloads
    from run_checks import ALL_CHECKS, OPTION_CHECKS, run_service
    from services import BackingServices, OtlpReceiver

    print("run: a fake CRUD service, correct or with one bug, over REST, GraphQL and gRPC", flush=True)
    backing, otlp = BackingServices(), OtlpReceiver()
    try:
        with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
            for i, (label, api_type, bug, options, expected) in enumerate(RUN_CASES):
                repo = Path(tmp) / f"case{i}"
                start = options.get("start") or (
                    f"{sys.executable} {FAKE} --api {api_type}" + (f" --bug {bug}" if bug else "")
                    + (f" --auth {options['auth']}" if options.get("auth") else ""))
                setup = "".join(f"{cmd}\n" for cmd in options.get("setup", []))
                readme = f"# fake\n\n## Run\n\n```sh\n{setup}{start}\n```\n"
                files = {}
                if options.get("contract", True):
                    contract = textwrap.dedent(CONTRACT.format(api=api_type))
                    if "job" in options:
                        job = f"{options['job']}{sys.executable} {FAKE} --api rest --job" + (f" --bug {bug}" if bug
                                                                                            else "")
                        contract += (f"job: {{command: {json.dumps(job)}, timeout_seconds: "
                                     f"{options.get('job_timeout', 30)}}}\n")
                    if options.get("auth") == "jwt":
                        contract += "auth: {type: jwt-hs256, secret_env: JWT_SECRET}\n"
                    elif options.get("auth") == "oauth2":
                        contract += "auth: {type: oauth2, audience: orders, scopes: [orders.write]}\n"
                    files["smoke-test.yaml"] = contract
                if api_type == "grpc":
                    files["proto/orders/v1/orders.proto"] = (HERE / "selftest" / "orders.proto").read_text()
                _project(repo, readme, files)
                values = {"serviceName": "fake", "apiType": api_type, "database": "none", **options.get("values", {})}
                enabled = {"cache"} if values.get("redisCache") else set()
                enabled |= {"events"} if values.get("messageQueue") in ("sqs", "sns") else set()
                enabled |= {"job"} if "job" in options else set()
                off = (set(OPTION_CHECKS) - enabled) | set(workloads.CHECKS)  # no k8s/ in these repositories
                t = time.monotonic()
                checks = run_service(repo, values, f"selftest{i}", backing, otlp)
                got = failing(checks)
                names = {c.name for c in checks}
                if not options.get("contract", True):
                    na = {c.name for c in checks if c.status == "n/a"}
                    ok = got == set() and na == {"crud-create", "crud-read", "crud-list", "crud-update",
                                                 "crud-delete", "errors", "trace", *OPTION_CHECKS, *workloads.CHECKS}
                elif expected == {"start"} or any(e.startswith("set up: ") for e in expected):
                    ok = got == expected
                else:
                    ok = got == expected and set(ALL_CHECKS) <= names and all(
                        c.status == ("n/a" if c.name in off else "pass") for c in checks if c.name not in expected)
                results.expect(f"{label}: " + (f"fails {', '.join(sorted(expected))}" if expected else
                                               "every check passes" if options.get("contract", True) else
                                               "CRUD and trace n/a, the rest passes")
                               + f" ({time.monotonic() - t:.1f}s)", ok, f"failing: {sorted(got)}\n{describe(checks)}")
                if ok and expected:  # the failure is the one meant: show its detail
                    print("        " + next(c.detail for c in checks if c.name in expected).split("\n")[0][:200])
    finally:
        backing.stop()
        otlp.stop()


# --------------------------------------------------------------------------- workloads

WORKLOADS = HERE / "selftest" / "workloads"
ENTRYPOINT = 'ENTRYPOINT ["/opt/venv/bin/python", "/app/app.py"]\nCMD ["serve"]'
# (label, {file: (old, new)}) -> the k8s-* checks that must fail (all others must pass)
WORKLOAD_CASES = [
    ("image ENTRYPOINT + args, pull secret, secrets Terraform writes", {}, set()),
    ("args replace the CMD of an image without ENTRYPOINT (the `args: [consume]` case)",
     {"Dockerfile": (ENTRYPOINT, 'CMD ["/opt/venv/bin/python", "/app/app.py", "serve"]')},
     {"k8s-migrate", "k8s-consumer", "k8s-job"}),
    ("the program ignores its command and serves: the job never ends",
     {"Dockerfile": (ENTRYPOINT, 'ENTRYPOINT ["/opt/venv/bin/python", "/app/app.py", "serve"]')},
     {"k8s-migrate", "k8s-consumer", "k8s-job"}),
    ("consumer that never deletes what it reads",
     {"k8s/base/workloads.yaml": ("args: [consume]", "args: [consume, --keep]")}, {"k8s-consumer"}),
    ("no imagePullSecrets for a private registry",
     {"k8s/base/workloads.yaml": ("imagePullSecrets:\n  - name: demo-registry\n", "")}, {"k8s-pull"}),
    ("ExternalSecret reads a property Terraform does not write",
     {"k8s/base/workloads.yaml": ("property: queue_url", "property: queue_uri")}, {"k8s-secrets", "k8s-consumer"}),
]


def selftest_workloads(results: Results) -> None:
    import project
    import workloads
    from build_checks import project_env
    from services import BackingServices, free_port

    print("workloads: containers run with Kubernetes' command/args rules and the manifests' environment", flush=True)
    backing = BackingServices()
    try:
        aws = backing.aws_env()
        with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
            for i, (label, edits, expected) in enumerate(WORKLOAD_CASES):
                repo = Path(tmp) / f"case{i}"
                shutil.copytree(WORKLOADS, repo)
                (repo / "smoke-test.yaml").write_text(
                    "version: 1\nready: /ready\ngrace_period_seconds: 4\nstartup_seconds: 20\n"
                    f"image_paths: {{/opt/venv/bin/python: {json.dumps(sys.executable)}, /app: .}}\n")
                for name, (old, new) in edits.items():
                    text = (repo / name).read_text()
                    assert old in text, (name, old)
                    (repo / name).write_text(text.replace(old, new))
                queue = backing.aws_client("sqs").create_queue(QueueName=f"selftest-{i}")["QueueUrl"]
                env = {**aws, "PORT": str(free_port()), "SQS_QUEUE_URL": queue}
                t = time.monotonic()
                checks = workloads.workload_checks(repo, {"database": "none"}, f"wl{i}", backing,
                                                   project.read_contract(repo), env, {}, {}, project_env(repo),
                                                   None, Path(tmp))
                got = failing(checks)
                ok = got == expected and all(c.status == "pass" for c in checks if c.name not in expected)
                results.expect(f"{label}: " + (f"fails {', '.join(sorted(expected))}" if expected else
                                               "every check passes") + f" ({time.monotonic() - t:.1f}s)",
                               ok, f"failing: {sorted(got)}\n{describe(checks)}")
                if ok and expected:
                    print("        " + next(c.detail for c in checks if c.name in expected).split("\n")[0][:200])
    finally:
        backing.stop()


# --------------------------------------------------------------------------- conventions

def selftest_conventions(results: Results) -> None:
    import yaml

    import harness_core
    from common import Check
    from project import read_commands

    print("conventions: README parsing, matrix coverage, expectations", flush=True)
    with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
        repo = _project(Path(tmp) / "r", """\
            # x

            ## Run it locally

            ```sh
            docker compose up -d db
            $ npm install
            npm start \\
              --silent        # listens on $PORT
            ```

            ## Running the tests

            ```bash
            npm test
            ```
            """, {})
        c = read_commands(repo)
        results.expect("README: prompts, continuations, docker skipped, 'Running the tests' is a test section",
                       c.start == "npm start --silent        # listens on $PORT" and c.run_setup == ["npm install"]
                       and c.build == ["npm test"] and c.skipped == ["docker compose up -d db"], repr(c))
    matrix = yaml.safe_load((HERE / "matrix.yaml").read_text())
    manifest = yaml.safe_load((harness.ROOT / "templates" / matrix["template"] / "manifest.yaml").read_text())
    sets = harness_core.expand_matrix(matrix)
    results.expect("matrix.yaml covers the manifest", harness_core.matrix_checks(matrix, sets, manifest)[0].status
                   == "pass", harness_core.matrix_checks(matrix, sets, manifest)[0].detail)
    mini = {"base": {"a": 1}, "sets": [{"name": "o", "template": "examples/o", "values": {"b": 2}},
                                      {"name": "o2", "from": "o", "values": {"a": 3}}, {"name": "p"}]}
    got = [(s["name"], s["values"], s.get("template")) for s in harness_core.expand_matrix(mini) if s["name"]]
    results.expect("a named set's template is its own and inherited by the sets `from` it",
                   got == [("o", {"a": 1, "b": 2}, "examples/o"), ("o2", {"a": 3, "b": 2}, "examples/o"),
                           ("p", {"a": 1}, None)], repr(got))
    shrunk = dict(matrix, sets=[], ci=["python-rest-postgresql", "nodejs-grpc-none"])
    check = harness_core.matrix_checks(shrunk, harness_core.expand_matrix(shrunk), manifest)[0]
    results.expect("a matrix without the named sets fails coverage: messageQueue values, CI misses go",
                   check.status == "fail" and "messageQueue: no value set uses sqs, sns" in check.detail
                   and "the ci subset misses language go" in check.detail, check.detail)
    checks = [Check("run", "crud-create", "n/a", 0, "no crud"), Check("run", "trace", "n/a", 0, "no tracing")]
    harness_core.apply_expectations(checks, {"run": ["crud-create"]}, {})
    results.expect("an expected check that is n/a fails; others stay n/a",
                   [c.status for c in checks] == ["fail", "n/a"], describe(checks))
    # matrix.yaml's own expect: an option check that is n/a fails exactly where the value set turns the option on
    for values, failing_wanted in [
        ({"language": "python", "redisCache": True, "messageQueue": "sqs", "scheduledJobs": True},
         ["cache", "events", "job"]),
        ({"language": "nodejs", "redisCache": False, "messageQueue": "sns", "scheduledJobs": False}, ["events"]),
        ({"language": "nodejs", "redisCache": True, "messageQueue": "none"}, ["cache"]),
        ({"language": "go", "redisCache": True, "messageQueue": "sns", "scheduledJobs": True}, ["cache", "events", "job"]),
        ({"language": "go", "redisCache": False, "messageQueue": "none", "scheduledJobs": False}, []),
    ]:
        checks = [Check("run", name, "n/a", 0, "off") for name in ("cache", "events", "job")]
        harness_core.apply_expectations(checks, matrix["expect"], values)
        got = [c.name for c in checks if c.status == "fail"]
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        results.expect(f"matrix.yaml expect ({shown}): n/a fails for {', '.join(failing_wanted) or 'none'}",
                       got == failing_wanted, describe(checks))
    selftest_grpc_inflight(results)


def selftest_grpc_inflight(results: Results) -> None:
    """The raw HTTP/2 client behind crud.grpc.inflight_check completes a half-sent call against a live server."""
    import subprocess

    import api_clients as api
    from services import free_port, wait_port

    with tempfile.TemporaryDirectory(prefix="svcgen-selftest-") as tmp:
        (Path(tmp) / "proto").mkdir()
        shutil.copy(HERE / "selftest" / "orders.proto", Path(tmp) / "proto" / "orders.proto")
        http_port, grpc_port = free_port(), free_port()
        env = {"PATH": "/usr/bin:/bin", "PORT": str(http_port), "GRPC_PORT": str(grpc_port), "TMPDIR": tmp}
        proc = subprocess.Popen([sys.executable, str(FAKE), "--api", "grpc"], env=env)
        try:
            wait_port(grpc_port, 30)
            crud = {"api": "grpc", "resource": "order", "sample": {}}
            client = api.GrpcClient(grpc_port, crud, {}, Path(tmp), Path(tmp))
            call = client.inflight_request({"customer": "Ada", "quantity": 2})
            call.begin()
            time.sleep(0.3)
            ok, what = call.complete()
            results.expect("gRPC half-sent call (h2) completes once its message is sent", ok, what)
            client.close()
        finally:
            proc.terminate()
            proc.wait(10)


def selftest_services(results: Results) -> None:
    """The backing services the run tier starts really answer: PostgreSQL, moto (DynamoDB, SQS, SNS), Redis."""
    import socket
    import subprocess

    import boto3

    from services import BackingServices, OtlpReceiver

    print("services: the run tier's backing services answer on loopback", flush=True)
    backing = BackingServices()
    try:
        env = backing.postgres_env("selftest")
        r = subprocess.run([str(backing.pg["bindir"] / "psql"), env["DATABASE_URL"], "-Atc", "select 40 + 2"],
                           capture_output=True, text=True)
        results.expect("PostgreSQL: DATABASE_URL answers a query", r.stdout.strip() == "42", r.stdout + r.stderr)
        env = backing.aws_env()
        extra = backing.create_aws_resources({"dynamodb_tables": [{"name": "orders", "key": "id"}]}, "q", "t")
        kw = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": env["AWS_REGION"],
              "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        ddb = boto3.client("dynamodb", **kw)
        ddb.put_item(TableName="orders", Item={"id": {"S": "1"}})
        got = ddb.get_item(TableName="orders", Key={"id": {"S": "1"}}).get("Item")
        subscriber = backing.subscribe_queue(extra["SNS_TOPIC_ARN"], "t-subscriber")
        boto3.client("sqs", **kw).send_message(QueueUrl=extra["SQS_QUEUE_URL"], MessageBody="hi")
        boto3.client("sns", **kw).publish(TopicArn=extra["SNS_TOPIC_ARN"], Message="hi")
        results.expect("moto: DynamoDB table, SQS queue and SNS topic work", got == {"id": {"S": "1"}}, repr(got))
        bodies = backing.receive_messages(extra["SQS_QUEUE_URL"]), backing.receive_messages(subscriber)
        results.expect("moto: a message sent to the queue and one published to the topic arrive (raw delivery "
                       "to the subscribed queue)", bodies == (["hi"], ["hi"]), repr(bodies))
        env = backing.redis_env()
        with socket.create_connection(("127.0.0.1", backing.redis_port), timeout=5) as sock:
            sock.sendall(b"PING\r\n")
            reply = sock.recv(16)
        results.expect("Redis: REDIS_URL answers PING", reply == b"+PONG\r\n", repr(reply))
        backing.redis("SET", "svcgen:order:42", "{}", "EX", 30)
        replies = backing.redis("SCAN", 0, "MATCH", "*42*", "COUNT", 1000), backing.redis("TTL", "svcgen:order:42")
        results.expect("Redis: the RESP client's SCAN and TTL (the cache check's)", replies[0][1] == ["svcgen:order:42"]
                       and 0 < replies[1] <= 30, repr(replies))
        otlp = OtlpReceiver()
        import urllib.request

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
        from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

        body = ExportTraceServiceRequest(resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(
            spans=[Span(name="protobuf-span", trace_id=b"1" * 16, span_id=b"2" * 8)])])]).SerializeToString()
        urllib.request.urlopen(urllib.request.Request(f"{otlp.endpoint}/v1/traces", data=body, method="POST",
                               headers={"Content-Type": "application/x-protobuf"}), timeout=5).read()
        results.expect("OTLP receiver: decodes an OTLP/HTTP protobuf export",
                       [sp["name"] for sp in otlp.spans] == ["protobuf-span"], repr(otlp.spans))
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", otlp.port, timeout=5)
        conn.request("POST", "/v1/traces", body=iter([body[:7], body[7:]]), encode_chunked=True,
                     headers={"Content-Type": "application/x-protobuf", "Transfer-Encoding": "chunked"})
        conn.getresponse().read()
        conn.close()
        results.expect("OTLP receiver: decodes a chunked export (Node.js exporters send them so)",
                       [sp["name"] for sp in otlp.spans] == ["protobuf-span"] * 2, repr(otlp.spans))
        otlp.stop()
    finally:
        backing.stop()


GROUPS = {"conventions": selftest_conventions, "services": selftest_services, "static": selftest_static,
          "pipeline": selftest_pipeline, "build": selftest_build,
          "run": selftest_run, "workloads": selftest_workloads}


def main(argv: list[str]) -> int:
    harness._reexec_in_venv()
    chosen = argv or list(GROUPS)
    unknown = [g for g in chosen if g not in GROUPS]
    if unknown:
        print(f"selftest: unknown group(s) {unknown}; choose from {list(GROUPS)}")
        return 2
    results = Results()
    t = time.monotonic()
    for group in chosen:
        GROUPS[group](results)
    print(f"\n{time.monotonic() - t:.0f}s")
    print(f"selftest: {results.passed} passed, {len(results.failed)} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
