# The developer's entry points. CI runs `make ci` (through .ci/run and
# scripts/test.sh, which starts PostgreSQL, PgBouncer and an S3 server, then
# runs the targets of CI_TARGETS in this order). Targets that need those
# servers read LORA_EXPORT_TEST_DATABASE_URL and the S3 variables that
# scripts/postgres.sh and scripts/s3.sh print; CONTRIBUTING.md says how.

CI_TARGETS := lint test-service test-node test-browser main-job csv-readers test-python
VENV := target/py-venv
# The CLI and the validator, as main-job and csv-readers use them: one build
# command, so that the second target finds the first's build (another
# feature set would rebuild the core and its Arrow stack, ~2 min on 2 cores).
MAIN_BUILD := cargo build -p lora-export-cli -p lora-export --features lora-export-cli/tokenizers --bin lora-export --example validate

.PHONY: ci ci-steps lint test-core test-core-slim test-service test-node test-browser test-python main-job csv-readers bench fuzz

# Everything, as CI runs it: starts and stops its own servers.
ci:
	bash scripts/test.sh

# What scripts/test.sh runs once its servers are up, in order.
ci-steps: $(CI_TARGETS)

# Formatting and lints of every crate and target (--all-targets type-checks
# the benches too: a `cargo bench --no-run` would add minutes of optimised
# criterion build to every CI run).
lint:
	@printf '\n==> cargo fmt --check, cargo clippy -D warnings\n'
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	cargo clippy -p lora-export-core --no-default-features --all-targets -- -D warnings

# The pure core: unit, golden, round-trip, dataset, memory and doc tests; no server.
test-core:
	cargo test
	$(MAKE) --no-print-directory test-core-slim

# Every Rust test, the service's against the real servers.
test-service: test-core-slim
	@printf '\n==> Rust tests (unit, integration, doctests) against the real servers\n'
	cargo test --workspace --all-features

# The core without its default features (no zstd, so no C build): what it
# refuses instead.
test-core-slim:
	cargo test -p lora-export-core --no-default-features --lib dataset::compress

# The Node binding: build, node:test (attacks included), typings; packs target/npm.
test-node:
	bash scripts/test-node.sh

# The Next.js example on the packed package: next build, HTTP and Chromium tests.
test-browser:
	bash scripts/test-browser.sh

# The Python binding: the abi3 wheel, pytest with warnings as errors, stubs;
# the sdist built and installed in a new venv.
test-python:
	bash scripts/test-python.sh

# The README's main job on the bundled sample (the `lora-export` command),
# each output checked by the validator.
main-job:
	@printf '\n==> main job on the bundled sample, outputs validated\n'
	$(MAIN_BUILD)
	rm -rf target/main-job && mkdir -p target/main-job
	cd target/main-job && ../debug/lora-export
	for f in target/main-job/exports/*; do \
	  case "$$f" in *.metadata.jsonl) continue ;; esac; \
	  target/debug/examples/validate "$$f" || exit 1; \
	done

# The CSV through Python's csv, pandas, polars and DuckDB (installed in a venv).
csv-readers:
	@printf '\n==> CSV through Python csv, pandas, polars and DuckDB\n'
	$(MAIN_BUILD)
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	LORA_EXPORT_BIN="$(CURDIR)/target/debug/lora-export" $(VENV)/bin/python -m pytest -q -W error tests/python

# The comparisons of benches/README.md (a quiet machine; minutes).
bench:
	python3 benches/compare/run.py

# Each cargo-fuzz target for a minute (needs cargo-fuzz; not in CI).
fuzz:
	bash fuzz/run.sh 1
