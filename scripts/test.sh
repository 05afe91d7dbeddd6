#!/usr/bin/env bash
# Installs what the test suite needs and is missing, then builds and runs every test.
# Works on a fresh Debian/Ubuntu machine with the .NET 10 SDK: as root it installs Debian packages itself,
# otherwise it says exactly what to install and stops.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Commands the build and the tests start or drive, each with the Debian package that provides it: npm restores
# govuk-frontend for the pages, chromium runs the browser tests, PostgreSQL 15 backs the audit store's tests (its
# initdb and postgres are not on PATH, so the package is found by pg_ctlcluster, which it also installs), curl
# runs the sandbox walkthrough's commands as printed, and kubectl renders the Kubernetes overlays for their tests
# (`kubectl kustomize`; they need its Kustomize v5, kubectl 1.27 or later, and say so when it is older), and haproxy
# is the load balancer in front of the three-replica tests (tests/EligibilityGateway.Tests/Replicas), and prometheus
# scrapes the gateway's metrics port in tests/EligibilityGateway.Tests/Telemetry/PrometheusScrapeTests.cs. Some of these
# live in /usr/sbin, which is not on every user's PATH.
declare -A debian_packages=(
  [redis-server]=redis-server
  [curl]=curl
  [pg_ctlcluster]=postgresql
  [node]=nodejs
  [npm]=npm
  [chromium]=chromium
  [kubectl]=kubernetes-client
  [haproxy]=haproxy
  [prometheus]=prometheus
)

missing=()
for command in "${!debian_packages[@]}"; do
  command -v "$command" >/dev/null 2>&1 || [[ -x /usr/sbin/$command ]] || missing+=("${debian_packages[$command]}")
done

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "Installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "The tests need these Debian packages, which are missing: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is needed: see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi

# The federated sign-in tests run oidc-provider (tests/identity-provider) as the citizens' identity provider.
npm ci --prefix tests/identity-provider --no-audit --no-fund --ignore-scripts

results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build EligibilityGateway.sln --configuration Release --nologo -clp:ErrorsOnly

status=0
dotnet test EligibilityGateway.sln --configuration Release --no-build --nologo \
  --results-directory "$results" --logger "trx" --logger "console;verbosity=minimal" || status=$?

# One closing line over every test assembly, so that a run which executed nothing cannot pass unnoticed.
passed=0 failed=0 skipped=0
for trx in "$results"/*.trx; do
  [[ -e "$trx" ]] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
  n=$(sed -E 's/.* notExecuted="([0-9]+)".*/\1/' <<<"$counters")
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + n))
done

# The OAuth interop suite (tests/interop/README.md): oauth4webapi and jose against the sandbox just built, and the
# same flow against oidc-provider as the reference. Its counts join the closing line; a failure fails the script.
interop_report="$results/interop.junit.xml"
interop_status=0
(
  cd tests/interop
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error &&
    node --test --test-concurrency=1 \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=junit --test-reporter-destination="$interop_report" \
      interop.test.mjs
) || interop_status=$?
if [[ -s "$interop_report" ]]; then
  interop_summary=$(node tests/interop/summary.mjs "$interop_report")
  sed -e '$d' -e 's/^/interop, /' <<<"$interop_summary"
  read -r p f n <<<"$(tail -n 1 <<<"$interop_summary")"
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + n))
else
  echo "The interop suite wrote no report." >&2
  failed=$((failed + 1))
fi
if ((interop_status != 0)); then
  status=$interop_status
fi

echo "$passed passed, $failed failed, $skipped skipped"

if ((passed == 0)); then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
