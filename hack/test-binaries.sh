#!/usr/bin/env bash
# Builds the programs the tests run that are Go modules but not libraries of
# ours, at pinned versions, from the Go module proxy, into a cache outside the
# checkout where later runs find them:
#   oauth2-proxy  the OIDC flavour of the proxy, run with exactly the rendered
#                 arguments in front of a stand-in for Kiali;
#   helm          renders the operator's chart, which the tests apply with
#                 kubectl (the binary users run, not the library).
# Prints the directory holding them.
set -euo pipefail

OAUTH2_PROXY_VERSION="${OAUTH2_PROXY_VERSION:-v7.15.6}"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
CACHE="${KAP_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kiali-auth-proxy-operator/tools}"
mkdir -p "${CACHE}"

build() { # name version package
  local name="$1" version="$2" pkg="$3" dir="${CACHE}/$1-$2"
  if [[ -x "${dir}/${name}" ]]; then
    ln -sfn "${dir}/${name}" "${CACHE}/${name}"
    return
  fi
  echo "test-binaries: building ${name} ${version} (first run only)" >&2
  mkdir -p "${dir}.tmp"
  GOBIN="${dir}.tmp" GOFLAGS= go install "${pkg}@${version}" >&2
  rm -rf "${dir}"
  mv "${dir}.tmp" "${dir}"
  ln -sfn "${dir}/${name}" "${CACHE}/${name}"
}

build oauth2-proxy "${OAUTH2_PROXY_VERSION}" github.com/oauth2-proxy/oauth2-proxy/v7
build helm "${HELM_VERSION}" helm.sh/helm/v4/cmd/helm
echo "${CACHE}"
