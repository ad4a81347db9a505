# Image URL to use for building and deploying the operator.
IMG ?= kiali-auth-proxy-operator:latest
# Version of the OLM bundle; its operator image defaults to the released one
# (quay.io/kialiauth/kiali-auth-proxy-operator:v$(VERSION)), or set BUNDLE_OPERATOR_IMG.
VERSION ?= 0.1.0
BUNDLE_OPERATOR_IMG ?=
# Kubernetes version of the local control plane (kube-apiserver and etcd).
ENVTEST_K8S_VERSION ?= 1.37.2

LOCALBIN ?= $(shell pwd)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
KUBECTL ?= kubectl

GOTEST_FLAGS ?=

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC manifests (namespaced rules from internal/controller, cluster-scoped from internal/operator).
	$(CONTROLLER_GEN) crd paths="./api/..." output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths="./internal/controller/..." output:rbac:artifacts:config=config/rbac
	$(CONTROLLER_GEN) rbac:roleName=manager-cluster-role paths="./internal/operator/..." output:rbac:artifacts:config=config/rbac/cluster

.PHONY: generate
generate: controller-gen ## Generate the extraArgs CEL rules (from api/v1alpha1/proxyflags.go), DeepCopy methods, and the manager's copy of config/prometheus.
	go run ./hack/rulegen
	cp config/prometheus/monitor.yaml internal/monitoring/servicemonitor.yaml
	cp config/prometheus/alerts.yaml internal/monitoring/prometheusrule.yaml
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: tools
tools: ## Install the programs the tests run where missing: kubectl, lua5.4, prometheus, chromium (Debian), oauth2-proxy and helm (built, cached outside the checkout).
	@hack/install-tools.sh
	@hack/test-binaries.sh >/dev/null

.PHONY: envtest
envtest: ## Provide kube-apiserver and etcd for the local control plane (built offline on first use).
	@hack/envtest-assets.sh >/dev/null

.PHONY: test
test: generate manifests fmt vet kustomize tools ## Run every test: unit, golden and envtest integration.
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" KAP_TOOLS="$$(hack/test-binaries.sh)" go test ./... -count=1 $(GOTEST_FLAGS)

.PHONY: test-faults
test-faults: manifests tools ## Run only the fault suite (also part of test): restarts, conflicts, deletion, adoption.
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go test ./test/faults/ -count=1 -v $(GOTEST_FLAGS)

BENCH_FLAGS ?=

.PHONY: bench
bench: manifests tools ## Measure convergence, API requests, drift repair and footprint at scale; writes docs/benchmarks.md (not part of test).
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./test/bench $(BENCH_FLAGS)

FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 30s); failures land in testdata/fuzz.
	go test ./internal/render -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	go test ./internal/render -run '^$$' -fuzz '^FuzzProxyArgs$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	go test ./internal/remotewrite -run '^$$' -fuzz '^FuzzMergePrometheusYAML$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s
	go test ./internal/remotewrite -run '^$$' -fuzz '^FuzzMergeUWM$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s

.PHONY: update-golden
update-golden: ## Rewrite the render golden files from the current code.
	go test ./internal/render/... -update

.PHONY: run-local
run-local: manifests ## Run the operator on a local control plane with the sample and print what it made.
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh)" go run ./hack/runlocal -sample config/samples/mesh_v1alpha1_kialiauthproxy.yaml

##@ Build

.PHONY: build
build: generate manifests fmt vet ## Build the manager binary.
	CGO_ENABLED=0 go build -trimpath -o bin/manager ./cmd

.PHONY: run
run: generate manifests fmt vet ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd

##@ Deployment

.PHONY: bundle
bundle: manifests kustomize ## Generate the OLM bundle (bundle/ and bundle.Dockerfile) from config/manifests.
	$(KUSTOMIZE) build config/manifests | go run ./hack/bundle -version $(VERSION) $(if $(BUNDLE_OPERATOR_IMG),-image $(BUNDLE_OPERATOR_IMG)) -dir .

.PHONY: helm-chart
helm-chart: manifests kustomize ## Generate the Helm chart (config/helm/kiali-auth-proxy-operator) from config/default, config/namespaced and config/guard.
	go run ./hack/helmchart -version $(VERSION) -kustomize $(KUSTOMIZE)

.PHONY: install
install: manifests kustomize ## Install the CRD into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRD from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator for every namespace (AllNamespaces), with the admission guard.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply --server-side -f -

.PHONY: deploy-namespaced
deploy-namespaced: manifests kustomize ## Deploy the operator for its own namespace only (OwnNamespace), with the admission guard.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/namespaced | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: undeploy-namespaced
undeploy-namespaced: kustomize ## Remove an operator deployed with deploy-namespaced.
	$(KUSTOMIZE) build config/namespaced | $(KUBECTL) delete --ignore-not-found -f -

##@ Tools

$(LOCALBIN):
	mkdir -p $(LOCALBIN)

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into bin/.
$(KUSTOMIZE): | $(LOCALBIN)
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
