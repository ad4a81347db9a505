#!/usr/bin/env bash
# Provides the kube-apiserver and etcd binaries that envtest needs, and the
# kube-controller-manager whose garbage collector the fault suite runs,
# without downloading anything but Go modules.
#
# setup-envtest fetches prebuilt binaries from a release bucket, which is not
# reachable from every build machine. Both binaries build from the Go module
# proxy, so when setup-envtest's cache does not already hold them we compile
# them from a throw-away wrapper module and store them in setup-envtest's own
# cache layout, outside the checkout, where later runs (and setup-envtest
# itself) find them.
#
# Prints the directory holding the binaries (suitable for KUBEBUILDER_ASSETS).
set -euo pipefail

K8S_VERSION="${ENVTEST_K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ENVTEST_ETCD_VERSION:-3.6.7}"
GOOS_="$(go env GOOS)"
GOARCH_="$(go env GOARCH)"
CACHE_ROOT="${ENVTEST_CACHE_ROOT:-${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest}"
ASSETS="${CACHE_ROOT}/k8s/${K8S_VERSION}-${GOOS_}-${GOARCH_}"

if [[ -x "${ASSETS}/kube-apiserver" && -x "${ASSETS}/etcd" && -x "${ASSETS}/kube-controller-manager" ]]; then
  echo "${ASSETS}"
  exit 0
fi

log() { echo "envtest-assets: $*" >&2; }
mkdir -p "${ASSETS}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# k8s.io/kubernetes replaces its staging modules with ./staging paths that do
# not exist in the published module; point each at its published version.
build_kube() {
  local cmd="$1" mod_file staging
  mkdir -p "${work}/kube-${cmd}"
  cd "${work}/kube-${cmd}"
  go mod init envtest-assets/kube >/dev/null 2>&1
  mod_file="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "${mod_file}")"
  {
    echo "require k8s.io/kubernetes v${K8S_VERSION}"
    echo "replace ("
    for m in ${staging}; do echo "	${m} => ${m} v0.${K8S_VERSION#1.}"; done
    echo ")"
  } >>go.mod
  # Start from kubernetes' own requirement list so every dependency is at the
  # version it was released with.
  sed -n '/^require (/,/^)/p' "${mod_file}" >>go.mod
  cat >tools.go <<GO
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/${cmd}"
GO
  GOFLAGS=-mod=mod go mod tidy >&2
  log "building ${cmd} v${K8S_VERSION} (takes several minutes the first time)"
  # Stamp the version the way Kubernetes' own build does, so discovery
  # reports v${K8S_VERSION} rather than a development version.
  local minor="${K8S_VERSION#*.}"
  minor="${minor%%.*}"
  local v="k8s.io/component-base/version"
  CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -w -X ${v}.gitVersion=v${K8S_VERSION} -X ${v}.gitMajor=${K8S_VERSION%%.*} -X ${v}.gitMinor=${minor} -X ${v}.gitTreeState=clean" \
    -o "${ASSETS}/${cmd}.tmp" "k8s.io/kubernetes/cmd/${cmd}"
  mv "${ASSETS}/${cmd}.tmp" "${ASSETS}/${cmd}"
}

# etcd's server module replaces its sibling modules with ../ paths; same cure.
build_etcd() {
  mkdir -p "${work}/etcd"
  cd "${work}/etcd"
  go mod init envtest-assets/etcd >/dev/null 2>&1
  cat >>go.mod <<MOD
require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}
replace (
	go.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v${ETCD_VERSION}
	go.etcd.io/etcd/client/pkg/v3 => go.etcd.io/etcd/client/pkg/v3 v${ETCD_VERSION}
	go.etcd.io/etcd/client/v3 => go.etcd.io/etcd/client/v3 v${ETCD_VERSION}
	go.etcd.io/etcd/pkg/v3 => go.etcd.io/etcd/pkg/v3 v${ETCD_VERSION}
)
MOD
  cat >tools.go <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  GOFLAGS=-mod=mod go mod tidy >&2
  log "building etcd v${ETCD_VERSION}"
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${ASSETS}/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "${ASSETS}/etcd.tmp" "${ASSETS}/etcd"
}

[[ -x "${ASSETS}/etcd" ]] || build_etcd
[[ -x "${ASSETS}/kube-apiserver" ]] || build_kube kube-apiserver
[[ -x "${ASSETS}/kube-controller-manager" ]] || build_kube kube-controller-manager
echo "${ASSETS}"
