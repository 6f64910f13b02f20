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

# E2E=no leaves out the end-to-end tests of e2etest/ (the lab).
E2E ?= yes

.PHONY: test
test: tools deps lab-deps ## Run every test: unit, envtest, privileged namespace tests and the lab e2e tests (as root).
	{ go test -json $(TEST_FLAGS) $(TEST_PKGS); (cd hack/plot && go test -json ./...); \
	  if [ "$(E2E)" = yes ]; then cd e2etest && go test -json $(E2E_FLAGS) ./...; fi; } | go run ./hack/testsummary

# Each benchmark rewrites only its own section of $(BENCH_OUT); see hack/bench.
BENCH := $(BIN)/herald-bench
BENCH_OUT ?= docs/benchmarks.md
BENCH_N ?= 1000,5000
BENCH_REPS ?= 3
ALLOC_BENCHTIME ?= 1s
ALLOC_BENCH_ARGS = -run '^$$' -bench BenchmarkAllocate -benchmem -benchtime=$(ALLOC_BENCHTIME) ./internal/allocator/

.PHONY: bench
bench: tools ## Every performance figure (as root): docs/benchmarks.md, docs/failover.md, docs/bgp-failover.md (~45 min).
	$(MAKE) --no-print-directory bench-allocator
	$(MAKE) --no-print-directory bench-controller
	$(MAKE) --no-print-directory bench-bgp
	$(MAKE) --no-print-directory bench-speaker
	$(MAKE) --no-print-directory e2e-figures
	$(MAKE) --no-print-directory bench-plots

.PHONY: bench-tool
bench-tool: ## Build the benchmark program hack/bench into bin/herald-bench.
	go build -o $(BENCH) ./hack/bench

.PHONY: bench-allocator
bench-allocator: bench-tool ## Allocator micro-benchmarks into the allocator section of docs/benchmarks.md.
	go test $(ALLOC_BENCH_ARGS) | $(BENCH) allocator -out $(BENCH_OUT) -command "go test $(ALLOC_BENCH_ARGS)"

.PHONY: bench-controller
bench-controller: tools bench-tool ## herald-controller end to end against kube-apiserver and etcd into the controller section.
	$(BENCH) controller -n $(BENCH_N) -reps $(BENCH_REPS) -out $(BENCH_OUT)

# Runs of the 10,000-prefix measurement against FRR.
BGP_RUNS ?= 5
# Announced addresses in the speaker benchmark.
BENCH_SERVICES ?= 5000

.PHONY: bench-plots
bench-plots: ## Draw docs/img/*.png from the CSV files the benchmarks wrote (hack/plot, a module of its own).
	cd hack/plot && go run . -dir $(CURDIR)/docs/img

.PHONY: bench-bgp
bench-bgp: deps ## A speaker advertising 10,000 prefixes to FRR (as root), into the bgp section.
	HERALD_BGP_RUNS=$(BGP_RUNS) HERALD_WRITE_FIGURES=1 go test -count=1 -run '^TestFRRReceives10000Prefixes$$' -v ./internal/bgp/

.PHONY: bench-speaker
bench-speaker: tools lab-deps ## Speakers in the lab: CPU and RSS idle and with BENCH_SERVICES addresses, reaction times (as root).
	cd e2etest && HERALD_BENCH_SERVICES=$(BENCH_SERVICES) HERALD_WRITE_FIGURES=1 go test -count=1 -timeout 30m -run '^$$' -bench BenchmarkSpeakers -benchtime 1x .

##@ Verify

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## golangci-lint, including the layering rules, over every module.
	$(GOLANGCI_LINT) run ./...
	cd e2etest && $(GOLANGCI_LINT) run ./...
	cd hack/plot && $(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: generate manifests vet lint ## Regenerate, format-check, vet, lint; fail on any drift.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	go mod tidy && (cd $(TOOLS_MOD) && go mod tidy) && (cd e2etest && go mod tidy && go vet ./...) && (cd hack/plot && go mod tidy && go vet ./...)
	@if [ -n "$$(git status --porcelain)" ]; then echo "generated or tidied files differ from the commit:"; git status --porcelain; git --no-pager diff --stat; exit 1; fi

##@ Lab

# The lab (e2etest/lab): a real kube-apiserver and etcd, node network namespaces running the
# real herald-speaker, herald-controller, a client; everything it makes is named hlab-* and
# lives in _output/lab. It needs root. The e2e tests bring their own lab up and down (a lab
# started with lab-up is replaced).
LAB_DEB_PACKAGES := iproute2 iputils-arping ndisc6 nftables curl frr
LAB_CLI := cd e2etest && go run ./cmd/lab
# Flags of `herald-lab up`, e.g. LAB_FLAGS='-nodes 5 -family ipv4'.
LAB_FLAGS ?=
E2E_RUN ?= .
E2E_FLAGS ?= -count=1 -timeout 30m
# The figures in docs/failover.md: this many failovers per signal.
FAILOVER_RUNS ?= 10

define require_root
	@if [ "$$(id -u)" != 0 ]; then echo "make $@: the lab needs root (network namespaces, raw sockets)" >&2; exit 1; fi
endef

.PHONY: lab-deps
lab-deps: ## Install the Debian packages the lab and the e2e tests use (as root; otherwise say what is missing).
	@missing=$$(for p in $(LAB_DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else \
		echo "not root: the lab and the e2e tests cannot run; missing Debian packages:" $$missing; \
	fi

.PHONY: demo
demo: lab-up ## Start the lab, give a LoadBalancer Service an address, curl it from the client.
	$(LAB_CLI) demo

.PHONY: lab-up
lab-up: tools lab-deps ## Start the lab (as root): builds the programs, prints how to use it.
	$(require_root)
	$(LAB_CLI) up $(LAB_FLAGS)

.PHONY: lab-down
lab-down: ## Remove everything the lab made (as root), also after a crash.
	$(require_root)
	$(LAB_CLI) down

.PHONY: e2e
e2e: tools lab-deps ## End-to-end tests in the lab (as root; they skip otherwise). E2E_RUN selects tests.
	cd e2etest && go test -json $(E2E_FLAGS) -run '$(E2E_RUN)' ./... | (cd $(CURDIR) && go run ./hack/testsummary)

.PHONY: e2e-figures
e2e-figures: ## Run the failover tests FAILOVER_RUNS times each; rewrite docs/failover.md and docs/bgp-failover.md.
	HERALD_FAILOVER_RUNS=$(FAILOVER_RUNS) HERALD_WRITE_FIGURES=1 $(MAKE) --no-print-directory e2e E2E_RUN='Failover|HandOver|ExternalTrafficPolicyLocal|RouterRestart'

.PHONY: chaos
chaos: ## The chaos tests in full (1000 churning Services, repeated faults; ~10 min); rewrite docs/chaos.md.
	HERALD_CHAOS=full HERALD_WRITE_FIGURES=1 $(MAKE) --no-print-directory e2e E2E_RUN=Chaos

.PHONY: clean
clean: ## Remove bin/ and _output/.
	rm -rf $(BIN) _output

##@ Packaging: Helm chart, config/default, images

# Helm is pinned in hack/tools like the other tools. Its ldflags set the version it reports and the
# Kubernetes version `helm lint` and `helm template` assume (that of the client-go it is built with).
HELM := $(BIN)/helm
CHART := charts/herald
HELM_VERSION = $(shell cd $(TOOLS_MOD) && go list -m -f '{{.Version}}' helm.sh/helm/v3)
HELM_KUBE_MINOR = $(shell cd $(TOOLS_MOD) && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/client-go | cut -d. -f2)
HELM_LDFLAGS = -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) \
	$(foreach p,pkg/chartutil pkg/lint/rules,-X helm.sh/helm/v3/$(p).k8sVersionMajor=1 -X helm.sh/helm/v3/$(p).k8sVersionMinor=$(HELM_KUBE_MINOR))

KUBECTL := $(BIN)/kubectl
# The ServiceMonitor and PrometheusRule CRDs the chart tests install, from the Prometheus
# Operator's Go module (the module proxy serves its example CRDs with the code).
PROMETHEUS_OPERATOR_VERSION := v0.85.0
MONITORING_CRDS := $(BIN)/crds/monitoring

tools: $(HELM) $(KUBECTL) $(MONITORING_CRDS)
test: $(HELM) $(KUBECTL) $(MONITORING_CRDS)
verify: chart-sync config-default

$(HELM): $(TOOLS_MOD)/go.mod $(TOOLS_MOD)/go.sum
	cd $(TOOLS_MOD) && go build -ldflags '$(HELM_LDFLAGS)' -o $@ helm.sh/helm/v3/cmd/helm

$(KUBECTL): $(TOOLS_MOD)/go.mod $(TOOLS_MOD)/go.sum
	cd $(TOOLS_MOD) && go build -ldflags "-X k8s.io/component-base/version.gitVersion=$$(go list -m -f '{{.Version}}' k8s.io/kubernetes)" -o $@ k8s.io/kubernetes/cmd/kubectl

$(MONITORING_CRDS):
	dir=$$(cd $(TOOLS_MOD) && go mod download -json github.com/prometheus-operator/prometheus-operator@$(PROMETHEUS_OPERATOR_VERSION) | sed -n 's/^\t"Dir": "\(.*\)",$$/\1/p'); \
	mkdir -p $@.tmp && for k in servicemonitors prometheusrules; do cp "$$dir/example/prometheus-operator-crd/monitoring.coreos.com_$$k.yaml" $@.tmp/; done; \
	chmod u+w $@.tmp/* && mv $@.tmp $@

.PHONY: chart-sync
chart-sync: manifests ## Copy the generated CRDs and RBAC of config/ into charts/herald.
	rm -f $(CHART)/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/rbac/controller/role.yaml $(CHART)/rbac/controller.yaml
	cp config/rbac/speaker/role.yaml $(CHART)/rbac/speaker.yaml
	{ echo '# Generated by `make chart-sync`: every CRD of config/crd/bases.'; echo 'resources:'; \
	  for f in config/crd/bases/*.yaml; do echo "  - bases/$${f##*/}"; done; } > config/crd/kustomization.yaml

# config/default is the chart rendered with its defaults, but for the memberlist key: a random key
# in a committed file would be the same in every cluster, so it is left to the user to create.
.PHONY: config-default
config-default: $(HELM) chart-sync ## Render charts/herald with its defaults into config/default/herald.yaml.
	{ echo '# Generated by `make config-default` from charts/herald: do not edit.'; \
	  $(HELM) template herald $(CHART) --namespace herald-system --set speaker.memberlist.secret.create=false; } > config/default/herald.yaml

.PHONY: chart-lint
chart-lint: $(HELM) ## helm lint the chart with its defaults and with every optional feature on.
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) -f $(CHART)/ci/all-features-values.yaml

# Images: no container engine is needed for anything else, so nothing else depends on this.
CONTAINER_ENGINE ?= docker
IMAGE_REGISTRY ?= ghcr.io/heraldlb
IMAGE_TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)

.PHONY: images
images: ## Build the herald-controller and herald-speaker images (CONTAINER_ENGINE, IMAGE_REGISTRY, IMAGE_TAG).
	@command -v $(CONTAINER_ENGINE) >/dev/null || { echo "make images: $(CONTAINER_ENGINE) not found; set CONTAINER_ENGINE (docker, podman)" >&2; exit 1; }
	for p in controller speaker; do \
		$(CONTAINER_ENGINE) build -f build/$$p.Dockerfile --build-arg VERSION=$(IMAGE_TAG) --build-arg COMMIT=$(IMAGE_COMMIT) \
			-t $(IMAGE_REGISTRY)/herald-$$p:$(IMAGE_TAG) . ; \
	done
