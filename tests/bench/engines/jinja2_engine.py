"""Jinja2 (the engine of cookiecutter and Copier) on the same templates, context and plan.

    python engines/jinja2_engine.py MODE JOB.json [OUT.json]     (MODE: check | warm | cold)

Same modes and output as engines/worker.js. The templates are used as they are (Jinja2 reads the
minijinja syntax of the set); the helpers minijinja has and Jinja2 lacks are added with minijinja's
behaviour: the svcgen filters, a `split` filter and `startingwith` / `endingwith` tests.
Reading the job happens before any timing starts.
"""

import base64
import json
import os
import sys
import time

t_process = time.perf_counter()


def svcgen_filters():
    import re

    def words(s):
        # heck 0.5's word boundaries (see rust/core/src/filters.rs and lib/filters.js).
        out = []
        for word in re.split(r"[^\w]|_", str(s)):
            init, mode = 0, "boundary"
            n = len(word)
            for i, c in enumerate(word):
                if i + 1 < n:
                    nxt = word[i + 1]
                    next_mode = "lower" if c.islower() else "upper" if c.isupper() else mode
                    if next_mode == "lower" and nxt.isupper():
                        out.append(word[init : i + 1])
                        init, mode = i + 1, "boundary"
                    elif mode == "upper" and c.isupper() and nxt.islower():
                        out.append(word[init:i])
                        init, mode = i, "boundary"
                    else:
                        mode = next_mode
                else:
                    out.append(word[init:])
        return [w for w in out if w]

    def cap(w):
        return w[:1].upper() + w[1:].lower()

    def snake_case(s):
        return "_".join(w.lower() for w in words(s))

    def kebab_case(s):
        return "-".join(w.lower() for w in words(s))

    def pascal_case(s):
        return "".join(cap(w) for w in words(s))

    def camel_case(s):
        ws = words(s)
        return "".join(w.lower() if i == 0 else cap(w) for i, w in enumerate(ws))

    def upper_snake_case(s):
        return "_".join(w.upper() for w in words(s))

    def dns_label(s):
        label = ""
        for ch in kebab_case(s):
            c = ch.lower() if (ch.isascii() and ch.isalnum()) else "-"
            if not (c == "-" and (label == "" or label.endswith("-"))):
                label += c
        return label[:63].rstrip("-")

    def json_str(s):
        out = ['"']
        for c in str(s):
            code = ord(c)
            if c == '"':
                out.append('\\"')
            elif c == "\\":
                out.append("\\\\")
            elif c == "\n":
                out.append("\\n")
            elif c == "\r":
                out.append("\\r")
            elif c == "\t":
                out.append("\\t")
            elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029):
                out.append("\\u%04x" % code)
            else:
                out.append(c)
        out.append('"')
        return "".join(out)

    def hcl_str(s):
        return json_str(s).replace("${", "$${").replace("%{", "%%{")

    def sh_quote(s):
        return "'" + str(s).replace("'", "'\\''") + "'"

    def parse_repo_url(url):
        if "?" not in url:
            raise ValueError("repository location has no ?owner=…&repo=… part")
        host, query = url.split("?", 1)
        parts = {"host": host, "owner": "", "repo": ""}
        for pair in query.split("&"):
            if "=" in pair:
                k, v = pair.split("=", 1)
                parts[k] = v
        return dict(sorted(parts.items()))

    def split(s, sep=None):
        return str(s).split(sep)

    def lines(s):
        # minijinja's `lines` is Rust's str::lines: no last empty line; "\r\n" ends a line too.
        return [line[:-1] if line.endswith("\r") else line for line in str(s).split("\n")][: -1 if str(s).endswith("\n") else None]

    return {
        "snake_case": snake_case,
        "kebab_case": kebab_case,
        "pascal_case": pascal_case,
        "camel_case": camel_case,
        "upper_snake_case": upper_snake_case,
        "dns_label": dns_label,
        "json_str": json_str,
        "yaml_str": json_str,
        "hcl_str": hcl_str,
        "sh_quote": sh_quote,
        "parse_repo_url": parse_repo_url,
        "split": split,
        "lines": lines,
    }


def prepare(job, verbatim):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.DictLoader(job["ports"]["jinja2"]),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        cache_size=-1,
    )
    env.filters.update(svcgen_filters())
    env.tests["startingwith"] = lambda s, prefix: str(s).startswith(prefix)
    env.tests["endingwith"] = lambda s, suffix: str(s).endswith(suffix)
    files = job["files"]
    context = job["context"]
    compiled = [env.get_template(f["source"]) if f["rendered"] else None for f in files]

    def render():
        return [
            (f["path"], t.render(context) if t is not None else verbatim[f["source"]])
            for f, t in zip(files, compiled)
        ]

    return render


def summarize(times):
    s = sorted(times)
    at = lambda q: s[round((len(s) - 1) * q)]
    return {"runs": len(s), "median": at(0.5), "p10": at(0.1), "p90": at(0.9), "min": s[0], "max": s[-1]}


def main():
    mode, job_file = sys.argv[1], sys.argv[2]
    with open(job_file, encoding="utf-8") as f:
        job = json.load(f)
    verbatim = {k: base64.b64decode(v) for k, v in job["verbatim"].items()}
    now = time.perf_counter
    if mode == "cold":
        t0 = now()
        render = prepare(job, verbatim)
        t1 = now()
        render()
        t2 = now()
        print(json.dumps({"engine": "jinja2", "mode": mode, "ms": (t2 - t0) * 1e3, "prepareMs": (t1 - t0) * 1e3,
                          "firstRenderMs": (t2 - t1) * 1e3, "sinceProcessStartMs": None}))
    elif mode == "check":
        render = prepare(job, verbatim)
        out = {}
        for path, content in render():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            out[path] = base64.b64encode(data).decode("ascii")
        with open(sys.argv[3], "w", encoding="utf-8") as f:
            json.dump(out, f)
    elif mode == "warm":
        t0 = now()
        render = prepare(job, verbatim)
        prepare_ms = (now() - t0) * 1e3
        opts = json.loads(os.environ.get("SVCGEN_BENCH_WARM", "{}"))
        warmup, min_runs = opts.get("warmupMs", 1000) / 1e3, opts.get("minRuns", 30)
        min_s, max_runs = opts.get("minMs", 4000) / 1e3, opts.get("maxRuns", 2000)
        end = now() + warmup
        while True:
            render()
            if now() >= end:
                break
        times = []
        start = now()
        while len(times) < max_runs and (len(times) < min_runs or now() - start < min_s):
            a = now()
            render()
            times.append((now() - a) * 1e3)
        print(json.dumps({"engine": "jinja2", "mode": mode, "prepareMs": prepare_ms, **summarize(times), "times": times}))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
