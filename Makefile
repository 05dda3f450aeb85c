# Foresight — build, test and verify. `make help` lists the targets.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       := $(CURDIR)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
K8S_VERSION := v1.37.2
# kube-scheduler reports the Kubernetes version it is built from; kubectl
# refuses the library default ("v0.0.0-master+$Format:%H$").
LDFLAGS   := -X github.com/foresight-dev/foresight/pkg/version.Version=$(VERSION) \
             -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
             -X k8s.io/component-base/version.gitMajor=1 \
             -X k8s.io/component-base/version.gitMinor=37
# Integration tests start real API servers; the whole suite takes minutes.
TEST_TIMEOUT ?= 30m
BENCHTIME ?= 1s

COMMANDS := scheduler nodeagent controller kubectl-foresight foresight-demo

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build every command into bin/.
	@mkdir -p $(BIN)
	@for c in $(COMMANDS); do \
	  out=$$c; case $$c in scheduler|nodeagent|controller) out=foresight-$$c;; esac; \
	  echo "go build -o bin/$$out ./cmd/$$c"; \
	  $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/$$out ./cmd/$$c; \
	done

.PHONY: test
test: ## Run the unit and integration tests (integration tests start real API servers in-process).
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

.PHONY: test-integration
test-integration: ## Run only the integration tests, verbosely.
	$(GO) test -timeout $(TEST_TIMEOUT) ./test/... -run Integration -v

.PHONY: generate
generate: ## Regenerate deepcopy, CRDs, clients, listers, informers, argument conversions and (with clang) eBPF objects.
	hack/update-codegen.sh

.PHONY: verify
verify: verify-fmt verify-mod verify-generated vet lint ## Run every check CI and reviewers rely on.

.PHONY: verify-fmt
verify-fmt: ## Fail if any Go file is not gofmt-formatted.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: verify-mod
verify-mod: ## Fail if go.mod/go.sum are not tidy.
	$(GO) mod tidy -diff
	cd hack/tools && $(GO) mod tidy -diff

.PHONY: verify-generated
verify-generated: generate ## Fail if generated code or CRDs drifted from the API types.
	@if ! git diff --quiet -- pkg/generated pkg/apis manifests/crds pkg/plugins/apis pkg/profiler/ebpf || \
	    [ -n "$$(git ls-files --others --exclude-standard -- pkg/generated pkg/apis manifests/crds pkg/plugins/apis pkg/profiler/ebpf)" ]; then \
	  git status --short -- pkg/generated pkg/apis manifests/crds pkg/plugins/apis pkg/profiler/ebpf; \
	  echo "generated files are stale: run 'make generate' and commit"; exit 1; fi

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

$(BIN)/golangci-lint $(BIN)/logcheck: hack/tools/go.mod hack/tools/go.sum
	@mkdir -p $(BIN)
	cd hack/tools && $(GO) build -o $(BIN)/ github.com/golangci/golangci-lint/v2/cmd/golangci-lint sigs.k8s.io/logtools/logcheck

.PHONY: lint
lint: $(BIN)/golangci-lint $(BIN)/logcheck ## Run golangci-lint and Kubernetes' logcheck (contextual, structured logging).
	$(BIN)/golangci-lint run ./...
	$(BIN)/logcheck -check-contextual -check-with-helpers -config hack/logcheck.conf ./pkg/... ./cmd/... ./test/framework/...

.PHONY: bench
bench: ## Run every Go benchmark once, with allocations.
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

.PHONY: bench-agent
bench-agent: ## Node agent cost: CPU share, heap, cgroup read cost, eBPF ns per run (root, real cgroups and eBPF).
	$(GO) test -run '^$$' -bench . -benchtime 30x ./pkg/profiler/ ./pkg/profiler/ebpf/
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./pkg/profiler/cgroups/

.PHONY: bench-scheduler
bench-scheduler: ## Scheduling throughput and per-plugin latency, default vs Foresight profile (5,000 nodes, 10,000 pods; four rounds of both in alternating order, about 65 min with the Partition catch-up waits).
	$(GO) test -timeout 120m -run '^$$' -bench SchedulingThroughput -benchtime 1x -v ./test/integration/ | grep -E 'Benchmark|p50=|pods/s|ratio|round [0-9]+ \(|Partition writes|process while|^ok|FAIL'

.PHONY: bench-forecast
bench-forecast: ## Back-test every forecasting model and baseline on ../shared/traces (~12 min, one core), plus the forecast benchmarks.
	@test -d ../shared/traces/bitbrains-rnd || { echo "bench-forecast needs ../shared/traces (the project's shared traces)"; exit 1; }
	@mkdir -p _output/forecast
	GOMAXPROCS=1 $(GO) run ./cmd/kubectl-foresight backtest --csv _output/forecast/backtest.csv --plot-dir _output/forecast/plots --markdown _output/forecast/backtest.md
	GOMAXPROCS=1 $(GO) run ./cmd/kubectl-foresight backtest --inject-events --max-vms 20 --resources cpu,memory
	GOMAXPROCS=1 $(GO) run ./cmd/kubectl-foresight backtest --anomalies
	GOMAXPROCS=1 $(GO) test -run '^$$' -bench . -benchmem ./pkg/forecast/

.PHONY: bench-replay
bench-replay: ## Replay Bitbrains Rnd (100 VMs, learn July, replay August–September) under every policy (docs/benchmarks/replay.md).
	@test -d ../shared/traces/bitbrains-rnd || { echo "bench-replay needs ../shared/traces (the project's shared traces)"; exit 1; }
	@mkdir -p _output/replay
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/kubectl-foresight simulate --trace-dir ../shared/traces/bitbrains-rnd --learn-days 31 \
		--policies default,most-allocated,load-aware,foresight-no-seasonality,foresight,foresight-resize --out _output/replay | tee _output/replay/table.txt

.PHONY: demo
demo: ## Run Foresight end to end on an embedded control plane (no cluster needed), then replay a built-in trace under every policy (DEMO_FLAGS=--skip-replay skips it).
	$(GO) run -ldflags "$(LDFLAGS)" ./cmd/foresight-demo $(DEMO_FLAGS)

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BIN)
