# The two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PG_DIR := data/pg

.PHONY: run test build db-start db-stop bench bench-live cluster cluster-stop clean-data openapi fuzz audit coverage explain client

## Build, start a private PostgreSQL under ./data/pg unless DATABASE_URL is
## set, migrate and serve on MINIFB_BIND (default 127.0.0.1:8080).
run: build
	@scripts/run.sh

## Formatting, clippy, then every test tier against a throw-away PostgreSQL.
test:
	@scripts/test.sh

## Concurrent load on a seeded data set (BENCH_SCALE, BENCH_DURATION);
## see docs/performance.md.
bench:
	@scripts/bench.sh

## Live notifications across two processes: 10,000 streams on one (their
## memory), comments at 500/s through the other, delivery to every stream
## (LIVE_STREAMS, LIVE_RATE, LIVE_SECONDS; scripts/live-bench.py raises the
## open-file limit; docs/performance.md).
bench-live:
	cargo build --release -p minifb-server
	@python3 scripts/live-bench.py
	@python3 scripts/bench-table.py --live target/bench/live.json

## Three release minifb-server processes on one PostgreSQL (./data/cluster-pg
## and its streaming replica ./data/cluster-replica, unless DATABASE_URL is
## set) behind nginx on 127.0.0.1:8080 (CLUSTER_PORT);
## returns with everything running in the background (README, "Deployment").
cluster:
	@scripts/cluster.sh start

## Stop what `make cluster` started: nginx, the servers, its PostgreSQL and replica.
cluster-stop:
	@scripts/cluster.sh stop

## docs/explain.md anew: EXPLAIN (ANALYZE, BUFFERS) of the statements the
## server sends for one request of each route, on a seeded database
## (EXPLAIN_SCALE, default 0.1).
explain:
	@scripts/explain.sh

## schemathesis over /openapi.json, every phase (stateful included).
fuzz:
	@scripts/fuzz.sh

## cargo-deny: advisories, licences, duplicate versions (deny.toml says why
## each exception is one).
audit:
	@scripts/audit.sh

## Line and function coverage of every test tier, the real binary included,
## against the README's targets (cargo-llvm-cov; installed when missing).
coverage:
	@scripts/coverage.sh

build:
	cargo build --bin minifb-server

## Write docs/openapi.json anew from the code (a test fails while it is stale).
openapi:
	UPDATE_OPENAPI=1 cargo test -p minifb-adapters-http --test openapi_document

## Generate clients/typescript/src/schema.d.ts from docs/openapi.json (`make
## test` does too, and type-checks the client against it).
client:
	@scripts/client.sh write

## Start / stop only the private development PostgreSQL of `make run`.
db-start:
	@scripts/pg start $(PG_DIR)

db-stop:
	@scripts/pg stop $(PG_DIR)

## Delete the development database and outbox (stops the PostgreSQL first).
clean-data: db-stop
	rm -rf data
