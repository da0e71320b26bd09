# DouVo's developer entry points. `make run` and `make test` are all a
# newcomer needs; everything they depend on is built on first use.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
BIN      := .build/bin
PROFILE  ?= local
APPS     := ./gateway/cmd/gateway $(wildcard ./services/*/cmd/*)

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: toolchain
toolchain: ## Build the pinned Dapr toolchain into the cache (once per pin).
	@deploy/local/toolchain.sh >/dev/null

.PHONY: build
build: ## Build every app binary into .build/bin.
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ $(APPS)

.PHONY: run
run: build ## Start the whole system on the embedded profile; Ctrl-C stops it.
	@deploy/local/run.sh

.PHONY: stop
stop: ## Stop everything `make run` started.
	@deploy/local/stop.sh

.PHONY: test
test: toolchain build ## Run every test, end-to-end ones against a real mesh.
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" DOUVO_PROFILE=$(PROFILE) \
	  $(GO) test -count=1 -timeout 45m ./...

.PHONY: lint
lint: ## Vet and format-check the code.
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }

.PHONY: clean
clean: stop ## Remove build output and all local data.
	rm -rf .build .data .dapr

.PHONY: bench-relation
bench-relation: toolchain build ## Benchmark follows and a 100,000-follower list (a few minutes).
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/relation
