GO ?= go
BIN ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test vet bench bench-suite fuzz test-deps clean

all: build

## build: the clickedge and clickbench binaries in ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/clickedge ./cmd/clickedge
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/clickbench ./cmd/clickbench

## test: gofmt and go vet, every test (integration tests included) with the race
## detector, then the allocation tests and the raw socket I/O tests again without
## it (-race adds allocations, and socket I/O under it is not raw)
test: test-deps
	@unformatted=$$("$$($(GO) env GOROOT)/bin/gofmt" -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 10m ./...
	$(GO) test -count=1 -run 'Alloc|RawIO|RawWrite|LateRead' ./...

## bench: Go benchmarks with allocations: the hot path (redirect), the cache
## (linkcache), classification and event encoding (tracking), the emitter and
## the rollup step; BENCH selects benchmarks, BENCHTIME sets -benchtime
BENCH ?= .
BENCHTIME ?= 1s
bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) -benchmem ./...

## bench-suite: the side-by-side load suite on a local stack (bench/run.sh)
bench-suite:
	bench/run.sh

## fuzz: every fuzz target of every package, each for FUZZTIME (default 30s);
## the targets are found in the *_test.go files, so a new one is never left out
FUZZTIME ?= 30s
fuzz:
	@set -e; for file in $$(grep -l '^func Fuzz' $$(find . -name '*_test.go' -not -path './.git/*') | sort); do \
		for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$file"); do \
			echo "$$(dirname "$$file") $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$(dirname "$$file")"; \
		done; \
	done

## test-deps: the integration tests need a real redis-server on PATH
test-deps:
	@if ! command -v redis-server >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "redis-server is missing; installing it with apt-get"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
		else \
			echo "redis-server is missing; the integration tests need it. Install it with:"; \
			echo "    sudo apt-get update && sudo apt-get install -y redis-server"; \
			echo "(or: brew install redis)"; \
			exit 1; \
		fi; \
	fi

clean:
	rm -rf $(BIN)
