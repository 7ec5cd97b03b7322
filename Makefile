# The two commands of the README: `make demo` (set up, then generate a sample service) and `make test`.
.PHONY: setup wasm demo test harness bench backend clean

NPM := npm --prefix plugin-ts --no-audit --no-fund
SAMPLE_VALUES := examples/values/user-service.yaml
SAMPLE_OUT := out/user-service

setup: wasm plugin-ts/node_modules/.package-lock.json
	$(NPM) run build

wasm:
	bash rust/build-wasm.sh

plugin-ts/node_modules/.package-lock.json: plugin-ts/package-lock.json
	$(NPM) ci

demo: setup
	rm -rf $(SAMPLE_OUT)
	node plugin-ts/bin/svcgen-preview.js --values $(SAMPLE_VALUES) --out $(SAMPLE_OUT)

test: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace
	SVCGEN_FUZZ_RUNS=1000 bash rust/fuzz/run.sh 120
	$(NPM) test
	npm --prefix plugin-ts/frontend ci --no-audit --no-fund --loglevel=error
	npm --prefix plugin-ts/frontend test
	node templates/tools/nodejs-lock.mjs --check
	node templates/tools/go-modules.mjs --check --quick
	bash tests/e2e/run.sh
	bash tests/browser/run.sh
	python3 tests/harness/selftest.py
	python3 tests/harness/harness.py --ci
	node templates/tools/go-grpc-gen.mjs

# Every value set through every tier; rewrites tests/harness/report.{md,json} (≈30–40 min on 2 cores).
harness: setup
	python3 tests/harness/harness.py

# Native, WASM, Nunjucks, Nunjitsu, Jinja2 and fetch:template side by side (≈5–15 min); see BENCHMARKS.md.
bench: setup
	bash tests/bench/run.sh --wait-quiet=1.5

backend: setup
	bash examples/backend/start.sh

clean:
	cargo clean
	rm -rf out plugin-ts/node_modules plugin-ts/dist plugin-ts/dist-test plugin-ts/wasm plugin-ts/templates
