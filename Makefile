# Entry points a person (or CI) runs. Each target sets up what it needs first.
CARGO ?= cargo
PLANGATE = $(CARGO) run --release --quiet -p plangate --

.PHONY: setup build demo test lint

setup:
	@scripts/setup

build: setup
	$(CARGO) build --release -p plangate

# Runs the gate on the API documentation's sample response: a control-plane upgrade
# at 15:18-18:00 (+08:00) versus a deploy at 15:00 for 1h. Expected: DENY, exit 1.
demo: build
	@$(PLANGATE) check --region cn-hangzhou --response tests/fixtures/seed-sample-response.json \
	  --at 2023-11-22T15:00:00+08:00 --duration 1h; \
	code=$$?; echo "(plangate exited $$code: 0 allow, 1 deny, 2 could not decide)"; [ $$code -eq 1 ]

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

# The whole suite: formatting, lints, guest unit tests, host unit tests, the
# end-to-end tests that run the real binary with the real component, the example
# policy tests, and the component under Node via jco. The later steps use the
# binary `cargo test` built: `cargo run` would rebuild it without the
# dev-dependency features.
test: lint
	$(CARGO) test --release --workspace
	target/release/plangate test examples
	cd tests/node && npm install --no-audit --no-fund --silent && node --test
