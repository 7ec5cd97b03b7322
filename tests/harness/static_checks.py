"""Tier 1, static: every file kind the repository contains, through the validator made for it.

Each check looks for its kind of file; when the repository has none it reports n/a, never pass.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

import tools
from common import FAIL, IGNORED_DIRS, NA, PASS, SKIP, Check, Timer, clip, repo_files, run

TIER = "static"


# --------------------------------------------------------------------------- YAML loading

class _AnyTagLoader(yaml.SafeLoader):
    """SafeLoader that keeps unknown tags (GitLab's !reference, CloudFormation's !Ref) as plain data."""


def _construct_any(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_AnyTagLoader.add_multi_constructor("!", _construct_any)

YAML_SUFFIXES = (".yaml", ".yml")
K8S_EXCLUDED_GROUPS = ("backstage.io", "argoproj.io", "kustomize.config.k8s.io")
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class Repo:
    """A generated repository, its files and their parsed YAML documents (parsed once)."""

    def __init__(self, root: Path, config: dict):
        self.root = root
        self.config = config
        self.files = repo_files(root)
        self.tmp = Path(tempfile.mkdtemp(prefix="svcgen-static-"))
        self._docs: dict[Path, list | None] = {}
        self.node_results: dict | None = None

    def with_suffix(self, *suffixes: str) -> list[Path]:
        return [f for f in self.files if f.name.endswith(suffixes)]

    def docs(self, rel: Path) -> list:
        """YAML documents of a file; [] when it does not parse (the parse check reports that)."""
        if rel not in self._docs:
            try:
                self._docs[rel] = [d for d in yaml.load_all((self.root / rel).read_text(), Loader=_AnyTagLoader)
                                   if d is not None]
            except (yaml.YAMLError, UnicodeDecodeError):
                self._docs[rel] = None
        return self._docs[rel] or []

    def yaml_files(self) -> list[Path]:
        return self.with_suffix(*YAML_SUFFIXES)

    def json_twin(self, rel: Path) -> str:
        """A JSON file holding the YAML documents of rel, for the Node.js validators."""
        twin = self.tmp / (str(rel).replace("/", "__") + ".json")
        twin.write_text(json.dumps(self.docs(rel), default=str))
        return f"{twin}={rel}"


def _kind_of(doc) -> tuple[str, str] | None:
    if isinstance(doc, dict) and isinstance(doc.get("apiVersion"), str) and isinstance(doc.get("kind"), str):
        return doc["apiVersion"], doc["kind"]
    return None


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def _is_excluded_group(api_version: str) -> bool:
    g = _group(api_version)
    return any(g == x or g.endswith("." + x) for x in K8S_EXCLUDED_GROUPS)


def _check(name: str, fn: Callable[[Repo], tuple[str, str, list[str]]]):
    def runner(repo: Repo) -> Check:
        t = Timer()
        try:
            status, detail, files = fn(repo)
        except Exception as e:  # noqa: BLE001 (a crashing check is a failing check, with its reason)
            status, detail, files = FAIL, f"the check itself crashed: {type(e).__name__}: {e}", []
        return Check(TIER, name, status, t.seconds, clip(detail, 3000), [str(f) for f in files])

    runner.check_name = name
    return runner


def _summarise(failures: list[str], files: list, what: str, notes: list[str] | None = None) -> tuple[str, str, list]:
    notes = notes or []
    if failures:
        return FAIL, "\n".join(failures + notes), files
    return PASS, "; ".join([f"{len(files)} {what}"] + notes), files


# --------------------------------------------------------------------------- the checks

def check_parse(repo: Repo):
    files = repo.with_suffix(*YAML_SUFFIXES, ".json", ".toml")
    if not files:
        return NA, "no YAML, JSON or TOML files", []
    failures = []
    for rel in files:
        text = (repo.root / rel).read_text(errors="replace")
        try:
            if rel.name.endswith(".json"):
                json.loads(text)
            elif rel.name.endswith(".toml"):
                tomllib.loads(text)
            else:
                list(yaml.load_all(text, Loader=_AnyTagLoader))
        except Exception as e:  # noqa: BLE001
            failures.append(f"{rel}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return _summarise(failures, files, "files parse")


def _kustomize_patch_files(repo: Repo) -> set[Path]:
    """Files used as patches by a kustomization: partial objects, validated only once built."""
    patches = set()
    for rel in repo.files:
        if rel.name not in KUSTOMIZATION_NAMES:
            continue
        for doc in repo.docs(rel):
            entries = list(doc.get("patchesStrategicMerge") or [])
            for p in (doc.get("patches") or []) + (doc.get("patchesJson6902") or []):
                if isinstance(p, dict) and isinstance(p.get("path"), str):
                    entries.append(p["path"])
            for e in entries:
                if isinstance(e, str) and "\n" not in e:
                    patches.add(Path(os.path.normpath(rel.parent / e)))
    return patches


def _k8s_files(repo: Repo) -> list[Path]:
    skip = _kustomize_patch_files(repo)
    found = []
    for rel in repo.yaml_files():
        if rel.name in KUSTOMIZATION_NAMES or rel in skip or str(rel).startswith(".github/"):
            continue
        kinds = [_kind_of(d) for d in repo.docs(rel)]
        if any(k and not _is_excluded_group(k[0]) and isinstance(d.get("metadata"), dict)
               for k, d in zip(kinds, repo.docs(rel))):
            found.append(rel)
    return found


def _kubernetes_validate(repo: Repo, docs: list[tuple[str, object]]) -> tuple[list[str], list[str]]:
    """(errors, notes) of kubernetes-validate (strict) on (label, document) pairs, run in this process.

    Unknown kinds fail (a typo such as HorizontalPodAutoscalr), unless their API group is listed in
    matrix.yaml crd_groups: then they are noted as not validated.
    """
    import kubernetes_validate as kv

    version = str(repo.config.get("kubernetes_version", "1.32.0"))
    allowed = tuple(repo.config.get("crd_groups") or [])
    errors, notes = [], []
    for label, doc in docs:
        if not _kind_of(doc):
            continue
        name = f"{doc['kind']}/{(doc.get('metadata') or {}).get('name', '?')}"
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            errors.append(f"{label}: {name}: {path}: {e.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as e:
            if allowed and _group(doc["apiVersion"]).endswith(allowed):
                notes.append(f"{label}: {name} not validated (custom resource of an allowed CRD group)")
            else:
                errors.append(f"{label}: {e.message} (a typo, or a CRD group to list in matrix.yaml crd_groups)")
        except Exception as e:  # noqa: BLE001
            errors.append(f"{label}: {name} could not be validated: {e}")
    return errors, notes


def check_kubernetes(repo: Repo):
    files = _k8s_files(repo)
    if not files:
        return NA, "no Kubernetes manifests", []
    docs = [(str(f), d) for f in files for d in repo.docs(f)
            if (k := _kind_of(d)) and not _is_excluded_group(k[0])]
    errors, notes = _kubernetes_validate(repo, docs)
    return _summarise(errors, files, f"manifest files, {len(docs)} resources valid (strict, "
                                     f"Kubernetes {repo.config.get('kubernetes_version', '1.32.0')})", notes)


def check_kustomize(repo: Repo):
    dirs = sorted({rel.parent for rel in repo.files if rel.name in KUSTOMIZATION_NAMES})
    if not dirs:
        return NA, "no kustomization", []
    failures, notes = [], []
    for d in dirs:
        built = run([tools.bin_path("kubectl"), "kustomize", str(d)], cwd=repo.root, timeout=120)
        if not built.ok:
            failures.append(f"{d}: kubectl kustomize failed: {clip(built.output, 800)}")
            continue
        try:
            docs = [(f"{d} (built)", doc) for doc in yaml.safe_load_all(built.output) if doc]
        except yaml.YAMLError as e:
            failures.append(f"{d}: kustomize output does not parse: {e}")
            continue
        errors, n = _kubernetes_validate(repo, docs)
        failures += errors
        notes += n
    return _summarise(failures, dirs, "kustomizations build and validate", notes)


def _jsonschema(repo: Repo, schema: str, files: list[Path]) -> str | None:
    """check-jsonschema --builtin-schema SCHEMA, in this process; None when valid, else its report."""
    from check_jsonschema.cli.main_command import main as check_jsonschema
    from click.testing import CliRunner

    r = CliRunner().invoke(check_jsonschema, ["--builtin-schema", schema, *(str(repo.root / f) for f in files)])
    if r.exit_code == 0:
        return None
    return (r.output or str(r.exception)).replace(str(repo.root) + "/", "")


def _docs_of_group(repo: Repo, group: str) -> list[Path]:
    return [rel for rel in repo.yaml_files()
            if any((k := _kind_of(d)) and _group(k[0]).endswith(group) for d in repo.docs(rel))]


def _argocd_files(repo: Repo) -> list[Path]:
    return _docs_of_group(repo, "argoproj.io")


def _graphql_files(repo: Repo) -> list[Path]:
    return repo.with_suffix(".graphql", ".graphqls", ".gql")


def _catalog_files(repo: Repo) -> list[Path]:
    return [rel for rel in repo.yaml_files()
            if any((k := _kind_of(d)) and _group(k[0]) == "backstage.io" for d in repo.docs(rel))]


def _node(repo: Repo, command: str) -> list[str]:
    """Failures js/validate.mjs reports for one kind; one Node.js run covers all kinds of a repository."""
    if repo.node_results is None:
        spec = {"argocd": [repo.json_twin(f) for f in _argocd_files(repo)],
                "graphql": [str(f) for f in _graphql_files(repo)],
                "catalog": [repo.json_twin(f) for f in _catalog_files(repo)]}
        (repo.tmp / "node-spec.json").write_text(json.dumps(spec))
        r = run(["node", str(tools.ensure_node_tools()), "batch", str(repo.tmp / "node-spec.json")],
                cwd=repo.root, timeout=120)
        try:
            repo.node_results = json.loads(r.output.splitlines()[-1])
        except (ValueError, IndexError):
            repo.node_results = {"error": f"validator did not answer: {clip(r.output, 800)}"}
    if "error" in repo.node_results:
        return [repo.node_results["error"]]
    return [f"{x['file']}: {e}" for x in repo.node_results[command] for e in x["errors"]]


def check_argocd(repo: Repo):
    files = _argocd_files(repo)
    if not files:
        return NA, "no ArgoCD resources", []
    return _summarise(_node(repo, "argocd"), files, "ArgoCD files valid (@kubernetes-models/argo-cd)",
                      ["extra keys are not detected by this schema"])


def check_github_actions(repo: Repo):
    workflows = [f for f in repo.yaml_files() if str(f.parent) == ".github/workflows"]
    actions = [f for f in repo.yaml_files() if str(f).startswith(".github/actions/") and f.stem == "action"]
    if not workflows and not actions:
        return NA, "no GitHub workflows", []
    failures = []
    env = {"PATH": f"{tools.VENV / 'bin'}:/usr/bin:/bin"}  # actionlint finds shellcheck here
    if workflows:
        r = run([tools.bin_path("actionlint"), "-no-color", *map(str, workflows)], cwd=repo.root, env=env)
        if not r.ok:
            failures.append(f"actionlint:\n{r.output}")
        report = _jsonschema(repo, "vendor.github-workflows", workflows)
        if report:
            failures.append(f"workflow schema:\n{report}")
    if actions:
        report = _jsonschema(repo, "vendor.github-actions", actions)
        if report:
            failures.append(f"action schema:\n{report}")
    return _summarise(failures, workflows + actions, "workflow files pass actionlint and the schema")


def check_gitlab_ci(repo: Repo):
    files = [f for f in repo.files if f.name in (".gitlab-ci.yml", ".gitlab-ci.yaml")]
    files += [f for f in repo.yaml_files() if str(f).startswith(".gitlab/ci/")]
    if not files:
        return NA, "no .gitlab-ci.yml", []
    report = _jsonschema(repo, "vendor.gitlab-ci", files)
    return _summarise([report] if report else [], files, "GitLab CI files pass the schema")


COMPOSE_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")


def check_docker_compose(repo: Repo):
    files = [f for f in repo.files if f.name in COMPOSE_NAMES or re.match(r"docker-compose\..+\.ya?ml$", f.name)]
    if not files:
        return NA, "no docker-compose file", []
    failures = []
    for f in files:
        r = run([tools.bin_path("docker-compose"), "-f", str(f), "config", "-q"], cwd=repo.root, timeout=60)
        if not r.ok:
            failures.append(f"{f}: docker compose config: {r.output}")
    report = _jsonschema(repo, "vendor.compose-spec", files)
    if report:
        failures.append(f"compose schema:\n{report}")
    return _summarise(failures, files, "compose files pass `docker compose config` and the schema")


def _dockerfiles(repo: Repo) -> list[Path]:
    return [f for f in repo.files
            if f.name == "Dockerfile" or f.name.endswith(".Dockerfile") or f.name.startswith("Dockerfile.")]


IGNORE_PRAGMA = re.compile(r"#\s*hadolint\s+(global\s+)?ignore=")


def _unexplained_ignores(repo: Repo, dockerfiles: list[Path]) -> list[str]:
    """Every hadolint ignore needs a one-line reason: a comment on the line just above the pragma."""
    problems = []
    for f in dockerfiles:
        lines = (repo.root / f).read_text().splitlines()
        for i, line in enumerate(lines):
            if IGNORE_PRAGMA.search(line):
                above = lines[i - 1].strip() if i else ""
                if not above.startswith("#") or IGNORE_PRAGMA.search(above) or len(above.lstrip("# ")) < 8:
                    problems.append(f"{f}:{i + 1}: `{line.strip()}` has no reason (a comment on the line above)")
    for cfg in (".hadolint.yaml", ".hadolint.yml"):
        path = repo.root / cfg
        if path.exists():
            for i, line in enumerate(path.read_text().splitlines()):
                if re.match(r"^\s*-\s*(DL|SC)\d+", line) and "#" not in line:
                    problems.append(f"{cfg}:{i + 1}: `{line.strip()}` ignored without a reason (`# why` on the line)")
    return problems


def check_dockerfile(repo: Repo):
    files = _dockerfiles(repo)
    if not files:
        return NA, "no Dockerfile", []
    failures = []
    for f in files:
        r = run([tools.bin_path("hadolint"), "--no-color", str(f)], cwd=repo.root)
        if not r.ok:
            failures.append(r.output or f"{f}: hadolint exited {r.returncode}")
    failures += _unexplained_ignores(repo, files)
    return _summarise(failures, files, "Dockerfiles pass hadolint")


def _tf_dirs(repo: Repo) -> list[Path]:
    return sorted({f.parent for f in repo.with_suffix(".tf")})


def check_terraform_fmt(repo: Repo):
    dirs = _tf_dirs(repo)
    if not dirs:
        return NA, "no Terraform", []
    failures = []
    for d in dirs:
        r = run([tools.terraform(), "fmt", "-check", "-diff", "-no-color", str(d)], cwd=repo.root, timeout=60)
        if not r.ok:
            failures.append(f"{d}: terraform fmt -check:\n{r.output}")
    return _summarise(failures, dirs, "Terraform directories formatted")


def check_terraform_hcl(repo: Repo):
    files = repo.with_suffix(".tf", ".tfvars")
    if not files:
        return NA, "no Terraform", []
    import hcl2

    failures = []
    for f in files:
        try:
            hcl2.loads((repo.root / f).read_text())
        except Exception as e:  # noqa: BLE001
            failures.append(f"{f}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    return _summarise(failures, files, "files parse as HCL")


BUILTIN_PROVIDERS = {"terraform"}


def _names(block: dict) -> list[str]:
    """Labels of an HCL block as python-hcl2 gives them (quoted, beside its __is_block__ markers)."""
    return [k.strip('"') for k in block if not k.startswith("__")]


def _providers_needed(repo: Repo, d: Path, seen: set | None = None) -> set[str]:
    """Providers a module (and its local child modules) needs; builtin ones excluded."""
    import hcl2

    seen = seen if seen is not None else set()
    if d in seen:
        return set()
    seen.add(d)
    needed: set[str] = set()
    for f in sorted((repo.root / d).glob("*.tf")):
        try:
            body = hcl2.loads(f.read_text())
        except Exception:  # noqa: BLE001 (the hcl check reports it)
            continue
        for block in body.get("terraform", []):
            for req in block.get("required_providers", []):
                needed.update(_names(req))
        for block in body.get("provider", []):
            needed.update(_names(block))
        for key in ("resource", "data"):
            for block in body.get(key, []):
                for rtype in _names(block):
                    needed.add(rtype.split("_")[0])
        for block in body.get("module", []):
            for spec in (v for k, v in block.items() if not k.startswith("__")):
                src = str(spec.get("source", "")).strip('"')
                if src.startswith("./") or src.startswith("../"):
                    needed |= _providers_needed(repo, Path(str((d / src))), seen)
                elif src:
                    needed.add(f"module {src}")
    return {p for p in needed if p not in BUILTIN_PROVIDERS}


def check_terraform_validate(repo: Repo):
    dirs = _tf_dirs(repo)
    if not dirs:
        return NA, "no Terraform", []
    ran, skipped, failures = [], [], []
    for d in dirs:
        needed = _providers_needed(repo, d)
        if needed:
            skipped.append(f"{d} (needs {', '.join(sorted(needed))}: `terraform init` would download it, "
                           "and no package registry here ships providers)")
            continue
        tf_data = repo.tmp / ("tf-" + str(d).replace("/", "_"))
        env = {"TF_DATA_DIR": str(tf_data), "PATH": "/usr/bin:/bin", "HOME": str(repo.tmp),
               "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        r = run([tools.terraform(), "init", "-backend=false", "-input=false", "-no-color"],
                cwd=repo.root / d, env=env, timeout=120)
        if r.ok:
            r = run([tools.terraform(), "validate", "-no-color"], cwd=repo.root / d, env=env, timeout=120)
        (ran if r.ok else failures).append(f"{d}" if r.ok else f"{d}: {clip(r.output, 1200)}")
    if failures:
        return FAIL, "\n".join(failures + [f"not runnable: {s}" for s in skipped]), dirs
    if not ran:
        return SKIP, "no module can be validated here: " + "; ".join(skipped), dirs
    return PASS, f"validated {', '.join(ran)}" + (f"; not runnable: {'; '.join(skipped)}" if skipped else ""), dirs


# Terraform only. kubernetes, dockerfile and github_actions pass on the generated repositories too (≈1 s more
# per set), but checkov's kubernetes framework reads kustomize patch files as whole objects, and the
# manifests, Dockerfiles and workflows already have their validators (kubernetes-validate, hadolint, actionlint).
CHECKOV_FRAMEWORKS = ("terraform",)
CHECKOV_CONFIG_NAMES = (".checkov.yaml", ".checkov.yml")
CHECKOV_LOOSENING_KEYS = ("skip-check", "soft-fail", "soft-fail-on", "check", "skip-path", "skip-framework",
                          "framework", "external-checks-dir", "external-checks-git")
MIN_REASON = 8  # characters: as for hadolint ignores, a word is not a reason
NO_REASON = "No comment provided"  # what checkov reports for `#checkov:skip=CKV_X` without `:reason`


def _checkov_config_problems(repo: Repo) -> list[str]:
    """A .checkov.yaml would skip or narrow checks without an inline reason (checkov reads it from -d)."""
    problems = []
    for rel in (f for f in repo.files if f.name in CHECKOV_CONFIG_NAMES):
        docs = repo.docs(rel)
        keys = sorted(k for k in (docs[0] if docs and isinstance(docs[0], dict) else {}) if k in CHECKOV_LOOSENING_KEYS)
        if keys:
            problems.append(f"{rel}: sets {', '.join(keys)}: skip checks inline, each with its reason "
                            "(`#checkov:skip=CKV_AWS_123:why`)")
    return problems


def check_checkov(repo: Repo):
    """checkov (framework terraform) over the common folder of every Terraform directory, in one run.

    Any failed check fails; so does a parsing error (an unparsed file is an unchecked file) and a skip whose
    reason checkov reports as missing or shorter than MIN_REASON characters.
    """
    dirs = _tf_dirs(repo)
    if not dirs:
        return NA, "no Terraform", []
    root = Path(os.path.commonpath([str(d) for d in dirs]))  # terraform/: env roots and modules
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(repo.tmp), "LANG": "C.UTF-8",
        # Offline: no guideline mapping, no policy download, no PyPI version check, no platform.
        "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
        "CKV_IGNORED_DIRECTORIES": ",".join(sorted(IGNORED_DIRS | {".serverless"})),
    }
    cmd = [tools.ensure_checkov(), "--directory", str(repo.root / root), "--framework", *CHECKOV_FRAMEWORKS,
           "--compact", "--output", "json", "--skip-download"]
    try:  # stdout alone: the JSON report (log lines go to stderr)
        p = subprocess.run(cmd, cwd=repo.tmp, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return FAIL, "checkov timed out after 600s", dirs
    try:
        reports = json.loads(p.stdout)
    except ValueError:
        return FAIL, f"checkov exited {p.returncode} without a JSON report:\n{clip(p.stdout + p.stderr, 1500)}", dirs
    if isinstance(reports, dict):
        reports = [reports]
    failures, skipped, counts = [], {}, []
    for report in reports:
        if "results" not in report:  # e.g. {"passed": 0, ...} when nothing was scanned
            continue
        summary, results = report["summary"], report["results"]
        counts.append(f"{report['check_type']}: {summary['passed']} passed, {summary['failed']} failed, "
                      f"{summary['skipped']} skipped, {summary['parsing_errors']} parsing errors "
                      f"({summary['resource_count']} resources)")
        for c in results.get("failed_checks", []):
            lines = "-".join(map(str, c.get("file_line_range") or []))
            failures.append(f"{root}{c['file_path']}:{lines}: {c['check_id']} {c['check_name']} ({c['resource']})")
        for f in results.get("parsing_errors", []):
            failures.append(f"{str(f).replace(str(repo.root) + '/', '')}: checkov cannot parse it (so checks nothing in it)")
        for c in results.get("skipped_checks", []):
            reason = ((c.get("check_result") or {}).get("suppress_comment") or "").strip()
            lines = "-".join(map(str, c.get("file_line_range") or []))
            where = f"{root}{c['file_path']}:{lines}: {c['check_id']}"
            skipped[where] = reason
    for where, reason in sorted(skipped.items()):
        if reason == NO_REASON or len(reason) < MIN_REASON:
            failures.append(f"{where} skipped without a reason: write `#checkov:skip={where.rsplit(' ', 1)[1]}:<why>`")
    failures = list(dict.fromkeys(failures))  # a module called from several roots is reported once per call
    failures += _checkov_config_problems(repo)
    if not counts:
        return FAIL, f"checkov scanned nothing in {root} (exit {p.returncode}):\n{clip(p.stderr, 800)}", dirs
    if failures:
        return FAIL, "\n".join(failures + counts), dirs
    if p.returncode != 0:
        return FAIL, f"checkov exited {p.returncode} with no failed check:\n{clip(p.stderr, 800)}", dirs
    return PASS, f"checkov {', '.join(CHECKOV_FRAMEWORKS)} on {root}: " + "; ".join(counts) + \
        f"; skips at {len(skipped)} places, each with a reason", dirs


def _proto_roots(repo: Repo) -> list[Path]:
    """Import roots: buf v2 `modules[].path`, buf.work.yaml `directories`, a v1 buf.yaml's folder, else proto/."""
    roots: set[Path] = set()
    for f in repo.files:
        if f.name not in ("buf.yaml", "buf.work.yaml"):
            continue
        docs = repo.docs(f)
        cfg = docs[0] if docs and isinstance(docs[0], dict) else {}
        paths = [m.get("path", ".") for m in cfg.get("modules") or [] if isinstance(m, dict)]
        paths += [d for d in cfg.get("directories") or [] if isinstance(d, str)]
        roots |= {Path(os.path.normpath(f.parent / p)) for p in (paths or ["."])}
    if roots:
        return sorted(roots)
    if (repo.root / "proto").is_dir():
        return [Path("proto")]
    return [Path(".")]


def check_protoc(repo: Repo):
    protos = repo.with_suffix(".proto")
    if not protos:
        return NA, "no .proto files", []
    import grpc_tools

    wkt = Path(grpc_tools.__file__).parent / "_proto"
    roots = sorted(_proto_roots(repo), key=lambda r: -len(r.parts))  # most specific first
    rel = []
    for p in protos:
        root = next((r for r in roots if str(r) == "." or p.is_relative_to(r)), None)
        if root is None:
            root = Path(".")
            roots.append(root)
        rel.append(str(p.relative_to(root)) if str(root) != "." else str(p))
    includes = [f"-I{r}" for r in dict.fromkeys(roots)] + [f"-I{wkt}"]
    r = run([tools.bin_path("python"), "-m", "grpc_tools.protoc", *includes,
             f"--descriptor_set_out={repo.tmp / 'protos.pb'}", "--include_imports", *rel], cwd=repo.root)
    return _summarise([] if r.ok else [r.output], protos, ".proto files compile with protoc")


def check_buf_lint(repo: Repo):
    protos = repo.with_suffix(".proto")
    if not protos:
        return NA, "no .proto files", []
    configs = [f for f in repo.files if f.name == "buf.yaml"]
    failures = []
    if configs:
        for cfg in configs:
            r = run([tools.bin_path("buf"), "lint"], cwd=repo.root / cfg.parent, timeout=120,
                    env={"HOME": str(repo.tmp), "PATH": "/usr/bin:/bin", "BUF_CACHE_DIR": str(tools.CACHE / "buf")})
            if not r.ok:
                failures.append(f"buf lint ({cfg}):\n{r.output}")
    else:
        default = json.dumps({"version": "v2", "lint": {"use": ["STANDARD"]}})
        for root in _proto_roots(repo):
            r = run([tools.bin_path("buf"), "lint", str(root), "--config", default], cwd=repo.root, timeout=120,
                    env={"HOME": str(repo.tmp), "PATH": "/usr/bin:/bin", "BUF_CACHE_DIR": str(tools.CACHE / "buf")})
            if not r.ok:
                failures.append(f"buf lint {root} (STANDARD rules, no buf.yaml in the repo):\n{r.output}")
    return _summarise(failures, protos, ".proto files pass buf lint")


def check_graphql(repo: Repo):
    files = _graphql_files(repo)
    if not files:
        return NA, "no GraphQL schema", []
    return _summarise(_node(repo, "graphql"), files, "GraphQL files build and validate (graphql-js)")


def _openapi_docs(repo: Repo) -> list[Path]:
    found = []
    for rel in repo.with_suffix(*YAML_SUFFIXES, ".json"):
        if rel.name.endswith(".json"):
            try:
                docs = [json.loads((repo.root / rel).read_text())]
            except ValueError:
                continue
        else:
            docs = repo.docs(rel)
        if docs and isinstance(docs[0], dict) and ("openapi" in docs[0] or "swagger" in docs[0]):
            found.append(rel)
    return found


def check_openapi(repo: Repo):
    files = _openapi_docs(repo)
    if not files:
        return NA, "no OpenAPI document", []
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    failures = []
    for f in files:
        try:
            spec, _ = read_from_filename(str(repo.root / f))
            validate(spec)
        except Exception as e:  # noqa: BLE001 (the validator's own error types, and parse errors)
            failures.append(f"{f}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return _summarise(failures, files, "OpenAPI documents valid (openapi-spec-validator)")


def check_backstage_catalog(repo: Repo):
    files = _catalog_files(repo)
    if not files:
        return NA, "no catalog-info.yaml", []
    return _summarise(_node(repo, "catalog"), files, "catalog files pass Backstage's entity validation")


def _shell_scripts(repo: Repo) -> list[Path]:
    found = []
    for rel in repo.files:
        if rel.suffix in (".sh", ".bash"):
            found.append(rel)
        elif not rel.suffix:
            try:
                first = (repo.root / rel).read_bytes()[:64].split(b"\n")[0]
            except OSError:
                continue
            if re.match(rb"#!\s*(/usr)?/bin/(env\s+)?(ba|da)?sh\b", first):
                found.append(rel)
    return found


def check_shellcheck(repo: Repo):
    files = _shell_scripts(repo)
    if not files:
        return NA, "no shell scripts", []
    r = run([tools.bin_path("shellcheck"), *map(str, files)], cwd=repo.root)
    failures = [] if r.ok else [r.output]
    for f in files:
        if not os.access(repo.root / f, os.X_OK):
            failures.append(f"{f}: not executable (the README runs it as ./{f})")
    return _summarise(failures, files, "shell scripts pass shellcheck")


# --------------------------------------------------------------------------- the pipeline tests what ships

TOOLCHAINS = {"python": "Python", "node": "Node.js", "golang": "Go"}  # base image -> language
SETUP_ACTIONS = {"actions/setup-python": ("python", "python-version"), "actions/setup-node": ("node", "node-version"),
                 "actions/setup-go": ("golang", "go-version")}
GITLAB_RESERVED = {"stages", "variables", "workflow", "default", "include", "image", "services", "before_script",
                   "after_script", "cache", "spec", "pages"}
FROM_LINE = re.compile(r"^FROM\s+(?:--\S+\s+)*(\S+)", re.I | re.M)
TEST_SCRIPT = re.compile(r"(?<![\w.-])(?:\./)?scripts/test\.sh\b")
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
ENV_SETUP = (". ", "source ", "cd ", "export ", "set ")
TEST_FILE = re.compile(r"(^|/)(tests?|__tests__)/|(^|/)test_[^/]*\.py$|_test\.(py|go)$|\.(test|spec)\.[cm]?[jt]sx?$")


def _image_ref(image: str) -> tuple[str, str]:
    """(repository, tag) of an image reference, Docker Hub's library/ prefix dropped."""
    ref = image.split("@")[0]
    name, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "")
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        name = name.removeprefix(prefix)
    return name, tag


def _version(tag: str) -> str:
    m = re.match(r"v?(\d+(?:\.\d+)*)", tag)
    return m.group(1) if m else ""


def _dockerfile_facts(repo: Repo) -> tuple[tuple[str, str, str] | None, str | None]:
    """((toolchain, version, image) of the first language base image, the pip constraints file) of ./Dockerfile."""
    path = repo.root / "Dockerfile"
    if not path.is_file():
        return None, None
    text = re.sub(r"\\\n", " ", path.read_text(errors="replace"))
    base = None
    for image in FROM_LINE.findall(text):
        name, tag = _image_ref(image)
        if name in TOOLCHAINS:
            base = (name, _version(tag), image)
            break
    m = re.search(r"pip3?\s+install\b[^\n]*?(?:--constraint|-c)(?:=|\s+)['\"]?([^\s'\"]+)", text) or \
        re.search(r"\bPIP_CONSTRAINT=['\"]?([^\s'\"]+)", text)
    return base, (m.group(1).removeprefix("./") if m else None)


def _lines(script) -> list[str]:
    """Commands of a `run:` string or a GitLab script list (nested !reference lists flattened)."""
    if isinstance(script, str):
        return [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    if isinstance(script, list):
        return [line for item in script for line in _lines(item)]
    return []


def _readme_test_commands(repo: Repo) -> list[str]:
    """The README's check-section commands (lint, types, tests), without virtualenv activation and the like."""
    from project import read_commands

    c = read_commands(repo.root)
    return [cmd for cmd in c.build if cmd not in c.setup and not cmd.startswith(ENV_SETUP)]


def _runs(text: str, command: str) -> bool:
    """Whether a script runs a README command: its first simple command, as words, `./` optional."""
    head = re.split(r"\s(?:\|\||&&|;)\s|;\s", command, maxsplit=1)[0].strip().removeprefix("./")
    head = re.escape(" ".join(head.split()))
    return re.search(r"(?<![\w/.-])(?:\./)?" + head + r"(?![\w-])", " ".join(text.split())) is not None


@dataclass
class _Job:
    name: str
    lines: list[str]  # its commands
    env: dict  # the environment its tests get
    services: list[str]  # service container images
    images: list[str]  # the image it runs in
    setups: list[tuple[str, str]]  # (toolchain, version or "? why not known") of its setup-* steps


def _runs_tests(lines: list[str], readme: list[str]) -> bool:
    return any(TEST_SCRIPT.search(line) for line in lines) or any(_runs("\n".join(lines), c) for c in readme)


def _github_jobs(repo: Repo, rel: Path, readme: list[str]) -> list[_Job]:
    docs = repo.docs(rel)
    wf = docs[0] if docs and isinstance(docs[0], dict) else {}
    jobs = []
    for name, job in (wf.get("jobs") or {}).items():
        if not isinstance(job, dict):
            continue
        steps = [s for s in job.get("steps") or [] if isinstance(s, dict)]
        env = {**(wf.get("env") or {}), **(job.get("env") or {})}
        for s in steps:  # the env of the steps that run the tests counts for them
            if _runs_tests(_lines(s.get("run")), readme):
                env.update(s.get("env") or {})
        container = job.get("container")
        images = [container if isinstance(container, str) else (container or {}).get("image", "")] if container else []
        setups = []
        for i, s in enumerate(steps):
            action = str(s.get("uses", "")).split("@")[0]
            if action in SETUP_ACTIONS:
                toolchain, key = SETUP_ACTIONS[action]
                setups.append((toolchain, _github_version(repo, s.get("with") or {}, key, steps[:i], job)))
        jobs.append(_Job(f"{rel}: job {name}", [line for s in steps for line in _lines(s.get("run"))], env,
                         [str((v or {}).get("image", "")) for v in (job.get("services") or {}).values()
                          if isinstance(v, dict)], [str(i) for i in images], setups))
    return jobs


def _github_version(repo: Repo, inputs: dict, key: str, before: list[dict], job: dict) -> str:
    """The version a setup-* step installs, or a sentence starting with '?' saying why it cannot be told."""
    value = inputs.get(key)
    if value is None and inputs.get(f"{key}-file"):
        return _version_file(repo, str(inputs[f"{key}-file"]))
    if value is None:
        return f"? no {key}: the runner's default would run the tests"
    value = str(value).strip()
    m = re.fullmatch(r"\$\{\{\s*steps\.([\w-]+)\.outputs\.([\w-]+)\s*\}\}", value)
    if m:  # computed by an earlier step of the job (e.g. read from the Dockerfile): run that step's script
        step = next((s for s in before if s.get("id") == m.group(1)), None)
        if not step or not isinstance(step.get("run"), str):
            return f"? {value}: no earlier `run` step with id {m.group(1)}"
        out = repo.tmp / "github-output"
        out.write_text("")
        r = run(["bash", "-e", "-c", step["run"]], cwd=repo.root, timeout=30,
                env={"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out), "HOME": str(repo.tmp)})
        found = dict(line.split("=", 1) for line in out.read_text().splitlines() if "=" in line)
        if not r.ok or m.group(2) not in found:
            return f"? step {m.group(1)} did not set {m.group(2)}: {clip(r.output, 300)}"
        return found[m.group(2)].strip()
    m = re.fullmatch(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", value)
    if m:
        values = ((job.get("strategy") or {}).get("matrix") or {}).get(m.group(1))
        return "|".join(str(v) for v in values) if isinstance(values, list) else f"? {value}: no such matrix list"
    return f"? {value}: an expression this check cannot evaluate" if "${{" in value else value


def _version_file(repo: Repo, name: str) -> str:
    path = repo.root / name
    if not path.is_file():
        return f"? {name} (the version file) does not exist"
    text = path.read_text(errors="replace")
    if path.name == "go.mod":
        m = re.search(r"^toolchain\s+go(\S+)", text, re.M) or re.search(r"^go\s+(\S+)", text, re.M)
        return m.group(1) if m else f"? {name} has no go line"
    if path.name in (".python-version", ".nvmrc", ".node-version"):
        return text.strip().removeprefix("v")
    return f"? cannot read a version from {name}"


def _gitlab_jobs(repo: Repo, rel: Path) -> list[_Job]:
    docs = repo.docs(rel)
    ci = docs[0] if docs and isinstance(docs[0], dict) else {}
    default = {**{k: ci[k] for k in ("image", "services", "before_script") if k in ci}, **(ci.get("default") or {})}

    def resolved(name: str, seen: tuple = ()) -> dict:
        job = ci.get(name) if isinstance(ci.get(name), dict) else {}
        parents = job.get("extends") or []
        merged: dict = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            if parent not in seen:
                merged = _deep_merge(merged, resolved(parent, (*seen, name)))
        return _deep_merge(merged, job)

    jobs = []
    for name, job in ci.items():
        if name in GITLAB_RESERVED or name.startswith(".") or not isinstance(job, dict):
            continue
        job = {**default, **resolved(name)}
        variables = {k: (v.get("value") if isinstance(v, dict) else v)
                     for k, v in {**(ci.get("variables") or {}), **(job.get("variables") or {})}.items()}
        image = job.get("image")
        image = image.get("name", "") if isinstance(image, dict) else str(image or "")
        services = [s.get("name", "") if isinstance(s, dict) else str(s) for s in job.get("services") or []]
        jobs.append(_Job(f"{rel}: job {name}", _lines(job.get("before_script")) + _lines(job.get("script")),
                         variables, services, [image] if image else [], []))
    return jobs


def _deep_merge(base: dict, over: dict) -> dict:
    """GitLab's `extends` merge: mappings merge key by key, anything else (lists too) is replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _compose_needs(repo: Repo) -> dict[str, tuple[str, list[str], list[str]]]:
    """Backing services of docker-compose that the tests use: {service: (image, [variables pointing at it that
    the tests name], [all variables pointing at it])}.

    A variable of an app service (one with `build`) points at a backing service (one with `image` only) when its
    URL's host is that service's name; the tests use it when a test file names the variable.
    """
    from urllib.parse import urlsplit

    compose = next((f for f in repo.files if f.name in COMPOSE_NAMES), None)
    if compose is None:
        return {}
    docs = repo.docs(compose)
    services = (docs[0] if docs and isinstance(docs[0], dict) else {}).get("services") or {}
    backing = {n: str(s["image"]) for n, s in services.items() if isinstance(s, dict) and s.get("image")
               and not s.get("build")}
    pointing: dict[str, set[str]] = {}
    for s in services.values():
        if not isinstance(s, dict) or not s.get("build"):
            continue
        env = s.get("environment") or {}
        pairs = env.items() if isinstance(env, dict) else (str(e).partition("=")[::2] for e in env)
        for var, value in pairs:
            try:
                host = urlsplit(str(value)).hostname
            except ValueError:
                continue
            if host in backing:
                pointing.setdefault(host, set()).add(str(var))
    tests = "\n".join((repo.root / f).read_text(errors="replace") for f in repo.files if TEST_FILE.search(str(f)))
    needs = {}
    for service, variables in pointing.items():
        read = sorted(v for v in variables if re.search(rf"\b{re.escape(v)}\b", tests))
        if read:  # any variable pointing at the service lets the tests reach it (e.g. AWS_ENDPOINT_URL)
            needs[service] = (backing[service], read, sorted(variables))
    return needs


def check_pipeline(repo: Repo):
    """The pipeline tests what ships: the image's toolchain and pins, the documented checks, the backing services.

    - The job that runs the tests (scripts/test.sh or the README's test commands) uses the language version of the
      Dockerfile's base image (python:X.Y, node:N, golang:X.Y[.Z]), through setup-* (a literal, a version file, or
      an earlier step's output, which is computed by running that step) or the job's image;
    - installs Python packages with the constraints file the Dockerfile installs with;
    - when it runs scripts/test.sh, that script runs every command of the README's test sections;
    - starts each backing service of docker-compose.yml whose variable the tests read (DATABASE_URL for
      PostgreSQL...), same image and major version, and sets that variable.
    """
    github = [f for f in repo.yaml_files() if str(f.parent) == ".github/workflows"]
    gitlab = [f for f in repo.files if f.name in (".gitlab-ci.yml", ".gitlab-ci.yaml")]
    if not github and not gitlab:
        return NA, "no CI pipeline", []
    base, constraints = _dockerfile_facts(repo)
    readme = _readme_test_commands(repo)
    test_sh = repo.root / "scripts" / "test.sh"
    needs = _compose_needs(repo)
    failures, notes = [], []
    for jobs, where in ([j for f in github for j in _github_jobs(repo, f, readme)], "GitHub Actions"), \
                       ([j for f in gitlab for j in _gitlab_jobs(repo, f)], "GitLab CI"):
        if not jobs:
            continue
        testing = [j for j in jobs if any(TEST_SCRIPT.search(line) for line in j.lines)
                   or (readme and all(_runs("\n".join(j.lines), c) for c in readme))]
        if not testing:
            if test_sh.is_file():
                what = "scripts/test.sh"
            elif readme:
                what = "the README's test commands " + ", ".join(f"`{c}`" for c in readme)
            else:
                what = "any tests: there is no scripts/test.sh and no README test section"
            failures.append(f"{where}: no job runs {what}")
            continue
        for job in testing:
            failures += _job_problems(job, base, constraints, readme, test_sh, needs)
        notes.append(f"{where}: tests in {', '.join(j.name.split(': ')[-1] for j in testing)}")
    if base is None:
        notes.append("the Dockerfile's base image is no language toolchain (python, node, golang): no version compared")
    return _summarise(failures, github + gitlab, "pipeline files test what the Dockerfile ships", notes)


def _job_problems(job: _Job, base, constraints, readme, test_sh, needs) -> list[str]:
    problems = []
    text = "\n".join(job.lines)
    if base:
        toolchain, version, image = base
        lang = TOOLCHAINS[toolchain]
        found = [v for t, v in job.setups if t == toolchain]
        found += [_version(_image_ref(i)[1]) for i in job.images if _image_ref(i)[0] == toolchain]
        other = [i for i in job.images if _image_ref(i)[0] != toolchain]
        if not found:
            problems.append(f"{job.name}: sets up no {lang} ({other[0] if other else 'the runner'}'s own would run the"
                            f" tests); the Dockerfile ships {image}")
        for v in found:
            if v.startswith("?"):
                problems.append(f"{job.name}: cannot tell its {lang} version:{v[1:]}")
            elif version not in v.removesuffix(".x").split("|"):
                problems.append(f"{job.name}: tests on {lang} {v}, the Dockerfile ships {image}")
    if constraints:
        installs = [line for line in job.lines if PIP_INSTALL.search(line)]
        pinned = str(job.env.get("PIP_CONSTRAINT", "")).removeprefix("./") == constraints
        unpinned = [line for line in installs if not pinned and not re.search(
            rf"(?:--constraint|-c)(?:=|\s+)['\"]?(?:\./)?{re.escape(constraints)}\b", line)]
        if not installs:
            problems.append(f"{job.name}: installs no Python packages with {constraints}, as the Dockerfile does")
        for line in unpinned:
            problems.append(f"{job.name}: `{line}` installs without the Dockerfile's pins (--constraint {constraints})")
    if test_sh.is_file() and TEST_SCRIPT.search(text) and readme:
        script = "\n".join(_lines(test_sh.read_text(errors="replace")))
        missing = [c for c in readme if not _runs(script, c)]
        if missing:
            problems.append(f"{job.name}: runs scripts/test.sh, which lacks the README's test commands "
                            + ", ".join(f"`{c}`" for c in missing))
    for service, (image, variables, reaching) in sorted(needs.items()):
        name, tag = _image_ref(image)
        started = [_image_ref(s) for s in job.services if _image_ref(s)[0] == name]
        if not started:
            problems.append(f"{job.name}: the tests read {', '.join(variables)} (docker-compose.yml: {service}, "
                            f"{image}) but the job starts no {name} service, so they are skipped")
            continue
        major = _version(tag).split(".")[0]
        for _, t in started:
            if major and _version(t).split(".")[0] != major:
                problems.append(f"{job.name}: starts {name}:{t}, docker-compose.yml uses {image} (another major version)")
        if not any(v in job.env for v in reaching):
            problems.append(f"{job.name}: starts {name} but sets none of {', '.join(reaching)} for the tests")
    return problems


CHECKS = [
    _check("parse", check_parse),
    _check("kubernetes", check_kubernetes),
    _check("kustomize", check_kustomize),
    _check("argocd", check_argocd),
    _check("github-actions", check_github_actions),
    _check("gitlab-ci", check_gitlab_ci),
    _check("docker-compose", check_docker_compose),
    _check("dockerfile", check_dockerfile),
    _check("terraform-fmt", check_terraform_fmt),
    _check("terraform-hcl", check_terraform_hcl),
    _check("terraform-validate", check_terraform_validate),
    _check("checkov", check_checkov),
    _check("protoc", check_protoc),
    _check("buf-lint", check_buf_lint),
    _check("graphql", check_graphql),
    _check("openapi", check_openapi),
    _check("backstage-catalog", check_backstage_catalog),
    _check("shellcheck", check_shellcheck),
    _check("pipeline", check_pipeline),
]
CHECK_NAMES = [c.check_name for c in CHECKS]


def run_static(root: Path, config: dict, only: set[str] | None = None) -> list[Check]:
    repo = Repo(root, config)
    try:
        return [c(repo) for c in CHECKS if not only or c.check_name in only]
    finally:
        shutil.rmtree(repo.tmp, ignore_errors=True)
