# DouVo's developer entry points. `make run` and `make test` are all a
# newcomer needs; everything they depend on is built on first use.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO       ?= go
BIN      := .build/bin
PROFILE  ?= local
GATEWAY  ?= http://localhost:8080
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
run: build ## Start the whole system (PROFILE=local|redis|mysql); Ctrl-C stops it.
	@PROFILE=$(PROFILE) deploy/local/run.sh

.PHONY: stop
stop: ## Stop everything `make run` started.
	@deploy/local/stop.sh

.PHONY: demo
demo: ## Seed the running system (make run) with users and videos; GATEWAY=url.
	$(GO) run ./deploy/local/demo -gateway $(GATEWAY)

.PHONY: test
test: toolchain build ## Run every test against a real mesh (PROFILE=local|redis|mysql).
	@deploy/local/servers.sh install $(PROFILE)
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" DOUVO_PROFILE=$(PROFILE) \
	  $(GO) test -count=1 -timeout 45m ./...
	cd tools/runtime && $(GO) test -count=1 -tags stablecomponents ./cmd/daprd

.PHONY: bench-chat
bench-chat: toolchain ## Benchmark chat sends, polls and pushes through the gateway.
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/chat

.PHONY: bench-likes
bench-likes: toolchain build ## Measure likes through the gateway and how fast the counters settle (about 2 min).
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/likes

.PHONY: bench-feed
bench-feed: toolchain build ## Measure feed pages at two catalogue sizes (about 2 min).
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/feed

.PHONY: bench-upload
bench-upload: toolchain build ## Measure time and memory of 10-100 MiB uploads and downloads.
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/upload

.PHONY: clips
clips: ## Regenerate the tiny test clips with ffmpeg.
	internal/clips/generate.sh

.PHONY: lint
lint: ## Vet, format-check and lint the code with the pinned golangci-lint.
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@mkdir -p .build/tools
	cd tools/lint && $(GO) build -o ../../.build/tools/golangci-lint \
	  github.com/golangci/golangci-lint/v2/cmd/golangci-lint
	.build/tools/golangci-lint run ./...

.PHONY: clean
clean: stop ## Remove build output and all local data.
	rm -rf .build .data .dapr

.PHONY: measure
measure: ## Measure cold toolchain build, start-to-ready time and idle memory.
	@deploy/local/measure.sh

.PHONY: bench-relation
bench-relation: toolchain build ## Benchmark follows and a 100,000-follower list (a few minutes).
	DOUVO_TOOLCHAIN="$$(deploy/local/toolchain.sh)" $(GO) run ./bench/relation
