# The two commands of the README: `make demo` (set up, then generate a sample service) and `make test`.
.PHONY: setup wasm demo test bench backend clean

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
	$(NPM) test
	bash tests/e2e/run.sh

bench: setup
	cargo bench -p svcgen --bench render
	node tests/bench/render-wasm.js

backend: setup
	bash examples/backend/start.sh

clean:
	cargo clean
	rm -rf out plugin-ts/node_modules plugin-ts/dist plugin-ts/dist-test plugin-ts/wasm plugin-ts/templates
