#!/usr/bin/env bash
# Measures the gateway against a bare ASP.NET Core JSON endpoint in the same run (root README) and prints a JSON
# summary. Everything runs on loopback: the sandbox (gateway + mock central government at zero latency) with a
# private Redis, the bare endpoint, and wrk as the load generator.
#
#   ./scripts/bench.sh                 # 15 s per phase after a 5 s warm-up
#   BENCH_SECONDS=30 ./scripts/bench.sh
#   BENCH_ONLY=audit ./scripts/bench.sh  # only audit append throughput, SQLite and PostgreSQL
#   BENCH_ONLY=bulk ./scripts/bench.sh   # only the bulk check of 10,000 items (below)
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
# Bulk check: BENCH_BULK_ITEMS (default 10,000) people in one POST /v1/bulk-checks against a fresh sandbox, warmed by jobs
# of BENCH_BULK_WARMUP_ITEMS (default 2,000) other people for BENCH_WARMUP_SECONDS, whose Home
# Office answers after 20 ms and allows 64 concurrent calls (sandbox.yaml), every subject a NASS number so that each
# item costs exactly one provider call; the target is 1.25 x the floor items x 20 ms / 64. Meanwhile wrk sends single
# checks to the same provider (BENCH_BULK_SINGLE_CONNECTIONS, default 4), and their p99 is compared with the same
# load before the job. The mock's mean call (arrival to end of answer) shows how much over 20 ms the provider itself
# took, and floorSecondsAtMeanCall the floor at that latency. BENCH_ONLY=bulk runs only this phase.
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

token() {
  curl -sf -u leeds:leeds-sandbox-secret -d grant_type=client_credentials -d scope=eligibility.check \
    "${1:-$gateway}/connect/token" | jq -r .access_token
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

bulk_items=${BENCH_BULK_ITEMS:-10000}
bulk_warmup_items=${BENCH_BULK_WARMUP_ITEMS:-2000}
bulk_latency_ms=20
bulk_single_connections=${BENCH_BULK_SINGLE_CONNECTIONS:-4}

# One wrk run of single checks against $1 for $2 seconds; prints {requestsPerSecond, latencyP50, latencyP99, non2xxResponses}.
single_checks() {
  local url=$1 duration=$2 out
  out=$(TOKEN=$3 wrk -t1 -c"$bulk_single_connections" -d"${duration}s" --latency -s scripts/bench/checks-live-nass.lua "$url/v1/checks")
  echo "$out" >&2
  jq -n --argjson rps "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" --arg p50 "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    --arg p99 "$(awk '$1 == "99%" {print $2}' <<<"$out")" --argjson non2xx "$(awk '/Non-2xx or 3xx responses:/ {print $5}' <<<"$out" | grep . || echo 0)" \
    '{requestsPerSecond: $rps, latencyP50: $p50, latencyP99: $p99, non2xxResponses: $non2xx}'
}

# Polls a bulk job ($1) every $3 s until it has completed; prints its status. A plain text match rather than jq, so that
# polling takes as little as possible of the processor the job is using.
wait_completed() {
  local status
  while :; do
    status=$(curl -sf "$1" -H "Authorization: Bearer $2")
    [[ $status == *'"status":"completed"'* ]] && break
    sleep "$3"
  done
  echo "$status"
}

# The bulk phase (README, "Development"): its own sandbox, so the cache is empty and the mock's latency is its own.
bulk_phase() {
  local port mock_port url mock data token rows started accepted id status finished elapsed meter alone during
  port=$(free_port); mock_port=$(free_port)
  url="http://127.0.0.1:$port"; mock="http://127.0.0.1:$mock_port"; data="$work/bulk"
  # Polly reports every provider attempt that gets a 404 "no match" at Information; 10,000 console lines a run would
  # measure the console, not the gateway, so this phase keeps Polly's log to warnings.
  Logging__LogLevel__Polly=Warning dotnet src/EligibilityGateway.Sandbox/bin/Release/net10.0/EligibilityGateway.Sandbox.dll \
    --gateway-url "$url" --mock-url "$mock" --data-dir "$data" >"$work/bulk-sandbox.log" 2>&1 &
  local sandbox_pid=$!
  pids+=("$sandbox_pid")
  wait_for "$url/health/ready" "The bulk-phase gateway"
  curl -sf -X PUT "$mock/_control/providers/home-office" -H 'Content-Type: application/json' \
    -d "{\"latencyMilliseconds\":$bulk_latency_ms}" >/dev/null
  token=$(token "$url")
  rows="$work/bulk.json"
  # The measured job asks about NASS numbers 2606xxxxx, the single checks beside it 2507xxxxx, warm-up jobs 24MMxxxxx.
  bulk_rows() {
    jq -nc --argjson n "$1" --arg prefix "$2" '[range($n) | {caseReference: "BENCH-BULK-\(.)",
        subject: {nationalAsylumSeekerServiceNumber: ($prefix + ((100000 + .) | tostring | .[1:])), lastName: "Bench", dateOfBirth: "1980-06-15"}}]'
  }
  bulk_rows "$bulk_items" 2606 >"$rows"

  echo "Phase bulk: warm-up jobs of $bulk_warmup_items items for ${warmup}s, single checks alone for 5 s, then $bulk_items items at ${bulk_latency_ms} ms with single checks beside them" >&2
  # Warm-up (README, "Development"): a fresh process runs its first tens of thousands of items on code the JIT has not
  # yet optimised. Jobs of other people (NASS numbers 24MMxxxxx, one month per job, so none is served from the cache)
  # until BENCH_WARMUP_SECONDS have passed, so that the measured job times the gateway rather than its warm-up.
  local month=1 warm_until
  warm_until=$(($(date +%s) + warmup))
  while ((month == 1 || ($(date +%s) < warm_until && month <= 12))); do
    bulk_rows "$bulk_warmup_items" "24$(printf %02d "$month")" >"$work/bulk-warmup.json"
    id=$(curl -sf -X POST "$url/v1/bulk-checks?scheme=free-school-meals&lawfulBasis=public-task" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data-binary @"$work/bulk-warmup.json" | jq -r .bulkCheckId)
    wait_completed "$url/v1/bulk-checks/$id" "$token" 0.5 >/dev/null
    month=$((month + 1))
  done
  single_checks "$url" 2 "$token" >/dev/null # warm-up
  alone=$(single_checks "$url" 5 "$token")
  curl -sf -X DELETE "$mock/_control/concurrency" >/dev/null
  started=$(date +%s.%N)
  id=$(curl -sf -X POST "$url/v1/bulk-checks?scheme=free-school-meals&lawfulBasis=public-task" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' --data-binary @"$rows" | jq -r .bulkCheckId)
  accepted=$(date +%s.%N)
  single_checks "$url" 3 "$token" >"$work/bulk-during.json" &
  local during_pid=$!
  status=$(wait_completed "$url/v1/bulk-checks/$id" "$token" 0.25)
  # The job's own finishedAt (same machine, same clock), not the poll that saw it: the poll would add up to its
  # interval, and polling faster would take more of the processor the job is using.
  finished=$(date -d "$(jq -r .finishedAt <<<"$status")" +%s.%N)
  wait "$during_pid"
  during=$(cat "$work/bulk-during.json")
  meter=$(curl -sf "$mock/_control/concurrency" | jq '.providers[] | select(.provider == "home-office")')
  kill "$sandbox_pid" 2>/dev/null || true
  jq -n --argjson items "$bulk_items" --argjson latency "$bulk_latency_ms" --argjson status "$status" --argjson meter "$meter" \
    --argjson alone "$alone" --argjson during "$during" \
    --arg accept "$(awk -v a="$accepted" -v b="$started" 'BEGIN {print a - b}')" --arg total "$(awk -v a="$finished" -v b="$started" 'BEGIN {print a - b}')" '
    ($items * $latency / 1000 / 64) as $floor
    | {bulkCheck: {
        items: $items, providerLatencyMs: $latency, providerMaxConcurrency: 64,
        floorSeconds: $floor, targetSeconds: ($floor * 1.25),
        acceptSeconds: ($accept | tonumber), elapsedSeconds: ($total | tonumber),
        itemsPerSecond: (($items / ($total | tonumber)) | round),
        withinTarget: (($total | tonumber) <= $floor * 1.25),
        completed: $status.completed, outcomes: $status.outcomes,
        providerCalls: $meter.calls, providerMaxInFlight: $meter.maxInFlight,
        providerMeanCallMs: $meter.meanCallMilliseconds,
        floorSecondsAtMeanCall: ($items * $meter.meanCallMilliseconds / 1000 / 64),
        singleChecksAlone: $alone, singleChecksDuringBulk: $during}}'
}

if [[ $only == bulk ]]; then
  bulk_json=$(bulk_phase)
  jq -n --argjson bulk "$bulk_json" --arg cores "$(nproc)" '{machine: {cores: ($cores | tonumber)}, phases: $bulk}'
  exit 0
fi

if [[ $only == audit ]]; then
  audit_json=$(audit_phase)
  jq -n --argjson audit "$audit_json" --arg cores "$(nproc)" '{
      machine: {cores: ($cores | tonumber)},
      phases: $audit,
      targets: {auditAppendSqliteRecordsPerSecond: 20000}
    }'
  exit 0
elif [[ -n $only ]]; then
  echo "BENCH_ONLY must be 'audit', 'bulk' or unset" >&2
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
bulk_json=$(bulk_phase)

jq -n --argjson bare "$bare_json" --argjson cached "$cached_json" --argjson live "$live_json" --argjson traced "$traced_json" --argjson audit "$audit_json" --argjson bulk "$bulk_json" \
  --argjson tokens "$tokens_json" --argjson reference "$reference_json" \
  --argjson seconds "$seconds" --argjson connections "$connections" --argjson rss "$rss_kb" --arg cores "$(nproc)" '
  ($bare + $cached + $traced + $live + $tokens + $reference + $audit + $bulk) as $p
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
      targets: {cachedToBare: 0.25, telemetryCost: 0.10, liveToBare: 0.15, tokensPerSecond: 4000, auditAppendSqliteRecordsPerSecond: 20000,
        bulkCheckSeconds: $p.bulkCheck.targetSeconds},
      sandboxResidentMemoryMb: ($rss / 1024 | round)
    }'
