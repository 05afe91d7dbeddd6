#!/usr/bin/env bash
# Measures the gateway against a bare ASP.NET Core JSON endpoint in the same run (root README) and prints a JSON
# summary. Everything runs on loopback: the sandbox (gateway + mock central government at zero latency) with a
# private Redis, the bare endpoint, and wrk as the load generator.
#
#   ./scripts/bench.sh                 # 15 s per phase after a 5 s warm-up
#   BENCH_SECONDS=30 ./scripts/bench.sh
#   BENCH_ONLY=audit ./scripts/bench.sh  # only audit append throughput, SQLite and PostgreSQL
#
# Audit append: BENCH_AUDIT_RECORDS (default 100000) records from BENCH_AUDIT_PRODUCERS (default 512) concurrent
# producers through the gateway's own audit writer (group commit, hash chain, checkpoints), on SQLite and on a
# throwaway PostgreSQL 15 cluster (skipped, with the reason in the summary, when PostgreSQL is not installed).
#
# Token issuance: client-credentials requests (client_secret_basic) to the gateway's token endpoint, every token
# audited before it leaves, and the same requests to oidc-provider (tests/interop/bench) as the reference, one phase each.
#
# Telemetry: the cached check again against a second sandbox exporting traces, metrics and logs over OTLP/HTTP
# (OTEL_EXPORTER_OTLP_ENDPOINT set) to a sink in the bare endpoint's process; telemetryCost is the share of cached
# throughput that exporting costs (target: at most 0.10).
#
# Ratios matter more than absolute numbers: the machine is shared, so compare phases of one run.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

seconds=${BENCH_SECONDS:-15}
warmup=${BENCH_WARMUP_SECONDS:-5}
connections=${BENCH_CONNECTIONS:-64}
only=${BENCH_ONLY:-}
audit_records=${BENCH_AUDIT_RECORDS:-100000}
audit_producers=${BENCH_AUDIT_PRODUCERS:-512}

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "The benchmark needs: ${need[*]}. Install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

wait_for() {
  local url=$1 name=$2 method=${3:-GET}
  for _ in $(seq 1 120); do
    curl -sf -o /dev/null -X "$method" "$url" && return 0
    sleep 0.5
  done
  echo "$name did not come up at $url" >&2
  exit 1
}

echo "Building (Release)..." >&2
dotnet build src/EligibilityGateway.Sandbox --configuration Release --nologo -clp:ErrorsOnly >&2
dotnet build tests/EligibilityGateway.Benchmarks --configuration Release --nologo -clp:ErrorsOnly >&2

# Audit append throughput (target: >= 20,000 records/s on SQLite). Prints one JSON object holding a member per
# store, in the same shape as the HTTP phases.
audit_phase() {
  echo "Phase audit append: $audit_records records, $audit_producers producers, SQLite then PostgreSQL" >&2
  dotnet tests/EligibilityGateway.Benchmarks/bin/Release/net10.0/EligibilityGateway.Benchmarks.dll audit-append \
    --store both --records "$audit_records" --producers "$audit_producers" | jq -s 'add'
}

if [[ $only == audit ]]; then
  audit_json=$(audit_phase)
  jq -n --argjson audit "$audit_json" --arg cores "$(nproc)" '{
      machine: {cores: ($cores | tonumber)},
      phases: $audit,
      targets: {auditAppendSqliteRecordsPerSecond: 20000}
    }'
  exit 0
elif [[ -n $only ]]; then
  echo "BENCH_ONLY must be 'audit' or unset" >&2
  exit 2
fi

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --daemonize no >"$work/redis.log" 2>&1 &
pids+=($!)

gateway_port=$(free_port)
traced_port=$(free_port)
traced_mock_port=$(free_port)
mock_port=$(free_port)
bare_port=$(free_port)
reference_port=$(free_port)
gateway="http://127.0.0.1:$gateway_port"
bare="http://127.0.0.1:$bare_port"
traced="http://127.0.0.1:$traced_port"

dotnet src/EligibilityGateway.Sandbox/bin/Release/net10.0/EligibilityGateway.Sandbox.dll \
  --gateway-url "$gateway" --mock-url "http://127.0.0.1:$mock_port" \
  --redis "127.0.0.1:$redis_port" --data-dir "$work/sandbox" >"$work/sandbox.log" 2>&1 &
pids+=($!)
dotnet tests/EligibilityGateway.Benchmarks/bin/Release/net10.0/EligibilityGateway.Benchmarks.dll \
  --urls "$bare" >"$work/bare.log" 2>&1 &
pids+=($!)
OTEL_EXPORTER_OTLP_ENDPOINT="$bare" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
  dotnet src/EligibilityGateway.Sandbox/bin/Release/net10.0/EligibilityGateway.Sandbox.dll \
  --gateway-url "$traced" --mock-url "http://127.0.0.1:$traced_mock_port" \
  --redis "127.0.0.1:$redis_port" --data-dir "$work/traced" >"$work/traced.log" 2>&1 &
pids+=($!)
# oidc-provider, the OpenID-certified reference server, issuing the same client-credentials tokens (tests/interop).
(cd tests/interop && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
node tests/interop/bench/reference-token-server.mjs "$reference_port" >"$work/reference.log" 2>&1 &
pids+=($!)

wait_for "$gateway/health/ready" "The gateway"
wait_for "$bare/bare" "The bare endpoint" POST
wait_for "$traced/health/ready" "The gateway exporting telemetry"
wait_for "http://127.0.0.1:$reference_port/.well-known/openid-configuration" "The reference server"
sleep 1

token() {
  curl -sf -u leeds:leeds-sandbox-secret -d grant_type=client_credentials -d scope=eligibility.check \
    "${1:-$gateway}/connect/token" | jq -r .access_token
}

# Runs one phase: a warm-up, then the measured run. Prints a JSON object for it.
phase() {
  local name=$1 url=$2 script=$3 issuer=${4:-$gateway}
  echo "Phase $name: ${warmup}s warm-up, ${seconds}s measured, $connections connections" >&2
  TOKEN=$(token "$issuer") wrk -t1 -c"$connections" -d"${warmup}s" -s "$script" "$url" >/dev/null
  local out
  out=$(TOKEN=$(token "$issuer") wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$script" "$url")
  echo "$out" >&2
  local rps p50 p99 non2xx errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out")
  errors=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out")
  jq -n --arg name "$name" --argjson rps "$rps" --arg p50 "$p50" --arg p99 "$p99" \
    --argjson non2xx "${non2xx:-0}" --argjson errors "${errors:-0}" \
    '{($name): {requestsPerSecond: $rps, latencyP50: $p50, latencyP99: $p99, non2xxResponses: $non2xx, socketErrors: $errors}}'
}

bare_json=$(phase bare "$bare/bare" scripts/bench/bare.lua)
cached_json=$(phase cachedCheck "$gateway/v1/checks" scripts/bench/checks-cached.lua)
traced_json=$(phase cachedCheckWithTelemetry "$traced/v1/checks" scripts/bench/checks-cached.lua "$traced")
live_json=$(phase liveCheck "$gateway/v1/checks" scripts/bench/checks-live.lua)
# Client-credentials issuance, each token audited before it leaves, beside oidc-provider doing the same job.
tokens_json=$(phase tokenIssuance "$gateway/connect/token" scripts/bench/token.lua)
reference_json=$(phase tokenIssuanceReference "http://127.0.0.1:$reference_port/token" scripts/bench/token.lua)

rss_kb=$(ps -o rss= -p "${pids[1]}" | tr -d ' ')
audit_json=$(audit_phase)

jq -n --argjson bare "$bare_json" --argjson cached "$cached_json" --argjson live "$live_json" --argjson traced "$traced_json" --argjson audit "$audit_json" \
  --argjson tokens "$tokens_json" --argjson reference "$reference_json" \
  --argjson seconds "$seconds" --argjson connections "$connections" --argjson rss "$rss_kb" --arg cores "$(nproc)" '
  ($bare + $cached + $traced + $live + $tokens + $reference + $audit) as $p
  | {
      machine: {cores: ($cores | tonumber)},
      settings: {secondsPerPhase: $seconds, connections: $connections},
      phases: $p,
      ratios: {
        cachedToBare: (($p.cachedCheck.requestsPerSecond / $p.bare.requestsPerSecond) * 1000 | round / 1000),
        liveToBare: (($p.liveCheck.requestsPerSecond / $p.bare.requestsPerSecond) * 1000 | round / 1000),
        telemetryCost: ((1 - $p.cachedCheckWithTelemetry.requestsPerSecond / $p.cachedCheck.requestsPerSecond) * 1000 | round / 1000),
        tokensToReference: (($p.tokenIssuance.requestsPerSecond / $p.tokenIssuanceReference.requestsPerSecond) * 1000 | round / 1000)
      },
      targets: {cachedToBare: 0.25, telemetryCost: 0.10, liveToBare: 0.15, tokensPerSecond: 4000, auditAppendSqliteRecordsPerSecond: 20000},
      sandboxResidentMemoryMb: ($rss / 1024 | round)
    }'
