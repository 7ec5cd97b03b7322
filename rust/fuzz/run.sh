#!/usr/bin/env bash
# Runs every fuzz target of the svcgen core (rust/fuzz/fuzz_targets) for SECONDS in total (default 60),
# split evenly between the targets, and fails when one of them crashes (a panic, a timeout or running
# out of memory). Prints one summary line per target. Installs the pinned cargo-fuzz first if missing,
# into $SVCGEN_TOOLS (default ~/.cache/svcgen/tools, like rust/build-wasm.sh).
#
#   bash rust/fuzz/run.sh [SECONDS]
#   SVCGEN_FUZZ_TARGETS="values templates" bash rust/fuzz/run.sh 600    # some targets only
#   SVCGEN_FUZZ_RUNS=1000 bash rust/fuzz/run.sh 120    # at most 1000 inputs per target (make test)
#   SVCGEN_FUZZ_SEED=7 bash rust/fuzz/run.sh 3600      # another seed (default 1)
#
# Stable Rust is enough: `--sanitizer none` keeps cargo-fuzz from passing the nightly-only
# -Zsanitizer=address; the coverage instrumentation (-Cpasses=sancov-module, -Cllvm-args=…) is made of
# stable codegen options. README.md here explains the choice and lists the results of long runs.
set -euo pipefail
cd "$(dirname "$0")"
fuzz_dir=$PWD
root=$(cd ../.. && pwd)

CARGO_FUZZ_VERSION=0.13.2
TOOLS="${SVCGEN_TOOLS:-$HOME/.cache/svcgen/tools}"
export PATH="$TOOLS/bin:$PATH"

total=${1:-60}
read -r -a targets <<<"${SVCGEN_FUZZ_TARGETS:-manifest values templates}"
per_target=$((total / ${#targets[@]}))
[ "$per_target" -ge 1 ] || per_target=1

if [ "$(cargo-fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "==> installing cargo-fuzz $CARGO_FUZZ_VERSION into $TOOLS (once, ≈2 min)"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS"
fi

# --debug-assertions: integer overflow and other debug checks panic, so the fuzzer sees them.
flags=(--fuzz-dir "$fuzz_dir" --debug-assertions)
# SVCGEN_FUZZ_SANITIZER=address adds AddressSanitizer, for the unsafe code of dependencies (e.g. the
# YAML parser unsafe-libyaml). -Zsanitizer is unstable: RUSTC_BOOTSTRAP=1 makes the stable compiler
# accept it (stable's rust-std ships the sanitizer runtimes). Built into its own target folder.
sanitizer=${SVCGEN_FUZZ_SANITIZER:-none}
if [ "$sanitizer" = none ]; then
  flags+=(--sanitizer none)
else
  export RUSTC_BOOTSTRAP=1
  flags+=(--sanitizer "$sanitizer" --target-dir "target/$sanitizer")
fi
mkdir -p logs
echo "==> building the fuzz targets (log: rust/fuzz/logs/build.log)"
if ! cargo fuzz build "${flags[@]}" >logs/build.log 2>&1; then
  tail -40 logs/build.log >&2
  echo "building the fuzz targets failed" >&2
  exit 1
fi

# Seeds from the repository itself, copied into each target's working corpus (libFuzzer adds what it
# finds there; corpus/ is not committed). The small hand-written seeds/ are read alongside.
seed() { # seed TARGET FILE...
  local target=$1 file name
  shift
  mkdir -p "corpus/$target"
  for file in "$@"; do
    name="repo-$(printf '%s' "${file#"$root"/}" | tr -c 'A-Za-z0-9._-' '_')"
    cp "$file" "corpus/$target/$name"
  done
}
seed manifest "$root"/templates/*/manifest.yaml "$root"/rust/core/tests/sets/*/manifest.yaml
seed values "$root"/examples/values/*.yaml
mapfile -d '' jinja < <(find "$root/templates" "$root/rust/core/tests/sets" -name '*.jinja' -print0 | sort -z)
seed templates "${jinja[@]}"

# A fixed seed (SVCGEN_FUZZ_SEED, default 1) and, with SVCGEN_FUZZ_RUNS, a fixed number of inputs per
# target: the same inputs every time from a fresh clone, so `make test` cannot fail on a lucky draw.
# Exploring further is a longer run or another seed.
seed=${SVCGEN_FUZZ_SEED:-1}
runs=()
[ -n "${SVCGEN_FUZZ_RUNS:-}" ] && runs=(-runs="$SVCGEN_FUZZ_RUNS")

failed=()
for target in "${targets[@]}"; do
  mkdir -p "seeds/$target"
  dict=()
  [ -f "dicts/$target.dict" ] && dict=(-dict="dicts/$target.dict")
  log="logs/$target.log"
  echo "==> fuzzing $target for ${per_target}s (log: rust/fuzz/$log)"
  # -rss_limit_mb: a render that needs more memory is a crash; -timeout: one input taking longer (the
  # core's fuel should stop a template long before) is a crash too.
  status=0
  cargo fuzz run "${flags[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$per_target" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
    -seed="$seed" "${runs[@]}" "${dict[@]}" >"$log" 2>&1 || status=$?
  stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)
  # libFuzzer's SUMMARY line names the crash: deadly signal (a panic), timeout, out-of-memory.
  crash=$(sed -n 's/^SUMMARY: libFuzzer: //p' "$log" | head -1)
  printf '%-10s %s execs (%s/s), %s, %s new units, peak RSS %s MB, %s\n' "$target" \
    "$(stat number_of_executed_units)" "$(stat average_exec_per_sec)" "${coverage:-no coverage line}" \
    "$(stat new_units_added)" "$(stat peak_rss_mb)" \
    "$([ "$status" = 0 ] && echo "no crash" || echo "CRASH: ${crash:-exit status $status}")"
  if [ "$status" != 0 ]; then
    failed+=("$target")
    grep -E "panicked at|ERROR: libFuzzer|SUMMARY|Test unit written to|Reproduce with|cargo fuzz (run|tmin)" "$log" \
      | head -20 | sed 's/^/    /' >&2
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs in rust/fuzz/artifacts/, logs in rust/fuzz/logs/)" >&2
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${per_target}s each, no crash"
