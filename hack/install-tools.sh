#!/usr/bin/env bash
# Installs the programs the tests run that are not Go modules, from Debian's
# packages, when the machine lacks them: kubectl (the deploy test applies the
# kustomize output with it), lua5.4 (the Argo CD health check is Lua),
# prometheus (promtool checks every prometheus.yml the operator writes and
# runs the alerts' rule tests, and the multi-cluster suite runs a hub and a
# spoke Prometheus), and chromium (a real browser logs in through the OIDC
# proxy).
set -euo pipefail

missing=()
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || missing+=(prometheus)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
((${#missing[@]} == 0)) && exit 0

if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-tools: the tests need these Debian packages: ${missing[*]}" >&2
  exit 1
fi
echo "install-tools: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
