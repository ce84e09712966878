# The project's build: GOEXPERIMENT=simd turns on the simd/archsimd kernels.
export GOEXPERIMENT := simd
GO ?= go
BIN := bin/bayling

.PHONY: build test quickstart test-deps vet fuzz bench

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/bayling

# Everything CI runs: test dependencies, vet, the whole test suite.
test: test-deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 25m ./...
	# The Beam data pipeline is its own module (beam/), so ./... skips it.
	cd beam && $(GO) vet ./... && $(GO) test -count=1 -timeout 15m ./...

test-deps:
	bash scripts/test-deps.sh

quickstart: build
	./$(BIN) quickstart

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 2x ./internal/...

# Each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)
