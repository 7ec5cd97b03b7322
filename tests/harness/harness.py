#!/usr/bin/env python3
"""Generate a repository for every value set of matrix.yaml with the product's preview script, and check it.

Tiers: static (validators per file kind), build (the project's own README commands), run (the service
against real backing services: health, ready, CRUD, errors, SIGTERM, traces). See README.md here.

    python3 tests/harness/harness.py                         everything; writes tests/harness/report.{md,json}
    python3 tests/harness/harness.py --ci                    static for all sets, build+run for the CI subset
    python3 tests/harness/harness.py --tier static --lang go one tier, a subset (report under out/harness/)
    python3 tests/harness/harness.py --set redis --tier run  one value set
    python3 tests/harness/harness.py --list                  the value sets
Exit status: 0 all passed, 1 a check failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import tools  # noqa: E402 (stdlib only: usable before the virtualenv exists)

ROOT = HERE.parent.parent
TIERS = ("static", "build", "run")


def _reexec_in_venv() -> None:
    """The harness runs on its own virtualenv's Python (PyYAML, grpcio, protobuf...); set it up if missing."""
    if Path(sys.prefix).resolve() == tools.VENV.resolve():
        return
    tools.ensure_python_tools()
    script = str(Path(sys.argv[0]).resolve())  # harness.py or selftest.py
    os.execv(str(tools.venv_python()), [str(tools.venv_python()), script, *sys.argv[1:]])


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tier", choices=[*TIERS, "all"], default="all")
    p.add_argument("--lang", action="append", help="only value sets of this language (repeatable)")
    p.add_argument("--api", action="append", help="only value sets of this API type (repeatable)")
    p.add_argument("--db", action="append", help="only value sets of this database (repeatable)")
    p.add_argument("--set", action="append", dest="sets", metavar="NAME", help="only this value set (repeatable)")
    p.add_argument("--ci", action="store_true", help="static for every set; build and run for matrix.yaml's ci list")
    p.add_argument("--matrix", default=str(HERE / "matrix.yaml"))
    p.add_argument("--report", help="report path without extension (default: tests/harness/report for a full "
                                    "run, out/harness/report otherwise)")
    p.add_argument("--out", default=str(ROOT / "out" / "harness"), help="where generated repositories go")
    p.add_argument("--template-dir", help="render this template set folder (with a manifest.yaml) instead of the "
                                          "bundled one, e.g. a template being written")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="value sets generated and statically checked at once (default: the CPU count); "
                        "build and run go one set at a time")
    p.add_argument("--list", action="store_true", help="list the value sets and exit")
    p.add_argument("--repo-dir", help="check this existing directory instead of generating (one pseudo value set; "
                                      "values from --values-file), e.g. a generated repository edited by hand")
    p.add_argument("--values-file", help="values of the --repo-dir repository")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    args.argv_echo = argv
    _reexec_in_venv()
    import harness_core

    return harness_core.main(args, ROOT, HERE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
