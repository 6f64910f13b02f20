# Herald's build. Every tool is built with `go` from the Go module proxy into bin/ (git-ignored);
# a second run reuses what is built. Targets users and CI rely on: demo, test, verify, lab-up,
# lab-down, bench.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
TOOLS_MOD := $(CURDIR)/hack/tools
GOLANGCI_LINT_VERSION := v2.15.0

KUBE_APISERVER := $(BIN)/kube-apiserver
ETCD := $(BIN)/etcd
CONTROLLER_GEN := $(BIN)/controller-gen
GOLANGCI_LINT := $(BIN)/golangci-lint

export KUBEBUILDER_ASSETS := $(BIN)

# Go test flags; override for a subset, e.g. `make test TEST_PKGS=./internal/allocator/...`.
TEST_PKGS ?= ./...
TEST_FLAGS ?= -race -timeout 20m

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

##@ Tools

.PHONY: tools
tools: $(KUBE_APISERVER) $(ETCD) $(CONTROLLER_GEN) ## Build kube-apiserver, etcd and controller-gen into bin/.

$(KUBE_APISERVER): $(TOOLS_MOD)/go.mod $(TOOLS_MOD)/go.sum
	cd $(TOOLS_MOD) && go build -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(ETCD): $(TOOLS_MOD)/go.mod $(TOOLS_MOD)/go.sum
	cd $(TOOLS_MOD) && go build -o $@ go.etcd.io/etcd/server/v3

$(CONTROLLER_GEN): $(TOOLS_MOD)/go.mod $(TOOLS_MOD)/go.sum
	cd $(TOOLS_MOD) && go build -o $@ sigs.k8s.io/controller-tools/cmd/controller-gen

$(GOLANGCI_LINT):
	GOBIN=$(BIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

##@ Generate

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for api/.
	$(CONTROLLER_GEN) object:headerFile=/dev/null paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs (config/crd/bases) and RBAC (config/rbac).
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=herald-controller paths=./controller/... output:rbac:dir=config/rbac/controller
	$(CONTROLLER_GEN) rbac:roleName=herald-speaker paths=./speaker/... output:rbac:dir=config/rbac/speaker

##@ Build

.PHONY: build
build: ## Build herald-controller and herald-speaker into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/herald-controller ./controller
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/herald-speaker ./speaker

##@ Test

# Debian packages the privileged tests use: real protocol peers and clients in network namespaces.
DEB_PACKAGES := iproute2 iputils-arping ndisc6 frr bird2

.PHONY: deps
deps: ## Install the Debian packages the tests use (as root; otherwise say what is missing).
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "not root: privileged tests will skip; missing Debian packages:" $$missing; \
	fi

.PHONY: test
test: tools deps ## Run every test: unit, envtest (real kube-apiserver and etcd), privileged namespace tests as root.
	go test -json $(TEST_FLAGS) $(TEST_PKGS) | go run ./hack/testsummary

# Each benchmark rewrites only its own section of $(BENCH_OUT); see hack/bench.
BENCH := $(BIN)/herald-bench
BENCH_OUT ?= docs/benchmarks.md
BENCH_N ?= 1000,3000
BENCH_REPS ?= 3
ALLOC_BENCHTIME ?= 1s
ALLOC_BENCH_ARGS = -run '^$$' -bench BenchmarkAllocate -benchmem -benchtime=$(ALLOC_BENCHTIME) ./internal/allocator/

.PHONY: bench
bench: tools ## Run the allocator and end-to-end controller benchmarks; rewrite docs/benchmarks.md (~15 min).
	$(MAKE) --no-print-directory bench-allocator
	$(MAKE) --no-print-directory bench-controller

.PHONY: bench-tool
bench-tool: ## Build the benchmark program hack/bench into bin/herald-bench.
	go build -o $(BENCH) ./hack/bench

.PHONY: bench-allocator
bench-allocator: bench-tool ## Allocator micro-benchmarks into the allocator section of docs/benchmarks.md.
	go test $(ALLOC_BENCH_ARGS) | $(BENCH) allocator -out $(BENCH_OUT) -command "go test $(ALLOC_BENCH_ARGS)"

.PHONY: bench-controller
bench-controller: tools bench-tool ## herald-controller end to end against kube-apiserver and etcd into the controller section.
	$(BENCH) controller -n $(BENCH_N) -reps $(BENCH_REPS) -out $(BENCH_OUT)

##@ Verify

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint, including the layering rules.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: generate manifests vet lint ## Regenerate, format-check, vet, lint; fail on any drift.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	go mod tidy && (cd $(TOOLS_MOD) && go mod tidy)
	@if [ -n "$$(git status --porcelain)" ]; then echo "generated or tidied files differ from the commit:"; git status --porcelain; git --no-pager diff --stat; exit 1; fi

##@ Lab

.PHONY: demo
demo: ## Show Herald at work in the local lab (the lab is being built; this says what it will do).
	@echo "The Herald lab is not built yet. When it is, 'make demo' starts a real kube-apiserver and"
	@echo "etcd, the Herald controller and one speaker per node namespace on a shared layer 2"
	@echo "segment, an FRR router and two clients; it creates an IPAddressPool, an L2Advertisement,"
	@echo "a BGPAdvertisement and a LoadBalancer Service, shows 'kubectl get svc' with the"
	@echo "EXTERNAL-IP, and curls that address from both clients, printing which node answered."
	@echo "Today: 'make test' runs the CRD schema tests against a real API server."

.PHONY: lab-up
lab-up: ## Start the lab (not built yet).
	@echo "make lab-up: the lab is not built yet" >&2; exit 1

.PHONY: lab-down
lab-down: ## Remove everything the lab made (nothing yet).
	@echo "make lab-down: nothing to remove"

.PHONY: clean
clean: ## Remove bin/ and _output/.
	rm -rf $(BIN) _output
