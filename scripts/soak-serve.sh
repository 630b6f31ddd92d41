#!/usr/bin/env bash
# A soak run of rtml serve (not in CI): wrk drives predictions and their labels (each
# label for a prediction made 1,000 requests before, by event id) at full speed for
# DURATION seconds, while the server's resident memory is sampled every 10 s. Memory
# must be flat once the prediction log is full (--pending): the last sample within 5 %
# of the one at a quarter of the run.
# MODE batch drives batch predictions instead (1,000 events a request, four
# connections), whose answers and logs go through buffers of their own.
#   scripts/soak-serve.sh [DURATION_SECONDS=300] [RTML=build/rtml] [MODE=single|batch]
set -euo pipefail
duration=${1:-300}
rtml=${2:-build/rtml}
mode=${3:-single}
case "$mode" in single|batch) ;; *) echo "soak: MODE is single or batch, not '$mode'" >&2; exit 2;; esac
command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

"$rtml" serve --listen 127.0.0.1:0 --pending 100000 --threads 1 \
  --model soak='standard_scaler | logistic_regression' 2> "$work/server.log" &
server=$!
for _ in $(seq 100); do
  port=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/server.log" | head -1 | cut -d: -f3 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || { cat "$work/server.log"; exit 1; }

cat > "$work/soak.lua" <<'LUA'
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("prefix", "t" .. threads .. "-")
end
local n = 0
function request()
  n = n + 1
  if n % 2 == 1 then
    local i = (n + 1) / 2
    local body = string.format(
      '{"event_id":"%s%d","features":{"x":%f,"y":%f,"day":%d}}',
      prefix, i, math.random(), math.random(), i % 7)
    return wrk.format("POST", "/v1/models/soak/predict", nil, body)
  end
  local i = n / 2 - 1000
  if i < 1 then i = 1 end
  local label = (math.random() < 0.5) and "UP" or "DOWN"
  return wrk.format("POST", "/v1/models/soak/learn", nil,
                    string.format('{"event_id":"%s%d","label":"%s"}', prefix, i, label))
end
LUA

cat > "$work/batch.lua" <<'LUA'
local events = {}
for i = 1, 1000 do
  events[i] = string.format('{"features":{"x":%f,"y":%f,"day":%d}}',
                            math.random(), math.random(), i % 7)
end
wrk.method = "POST"
wrk.path = "/v1/models/soak/predict"
wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
LUA

rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$server/status"; }
if [ "$mode" = batch ]; then
  wrk -t1 -c4 -d"${duration}s" -s "$work/batch.lua" "http://127.0.0.1:$port" > "$work/wrk.txt" &
else
  wrk -t2 -c32 -d"${duration}s" -s "$work/soak.lua" "http://127.0.0.1:$port" > "$work/wrk.txt" &
fi
wrk_pid=$!
printf '%8s %12s %14s %12s\n' seconds rss_mib predictions learned
samples=()
start=$(date +%s)
while kill -0 $wrk_pid 2>/dev/null; do
  sleep 10
  now=$(( $(date +%s) - start ))
  m=$(curl -s "http://127.0.0.1:$port/v1/models/soak")
  p=$(echo "$m" | grep -o '"predicted":[0-9]*' | cut -d: -f2)
  l=$(echo "$m" | grep -o '"learned":[0-9]*' | cut -d: -f2)
  r=$(rss)
  samples+=("$r")
  printf '%8d %12s %14s %12s\n' "$now" "$r" "$p" "$l"
done
wait $wrk_pid || true
grep -E "Requests/sec|Latency|Non-2xx" "$work/wrk.txt" || true
n=${#samples[@]}
(( n >= 4 )) || { echo "soak: too short to judge (run at least 40 s)"; exit 1; }
quarter=${samples[$(( n / 4 ))]}
last=${samples[$(( n - 1 ))]}
awk -v q="$quarter" -v l="$last" 'BEGIN {
  g = (l - q) / q * 100
  printf "rss at a quarter of the run %.1f MiB, at the end %.1f MiB: %+.1f %%\n", q, l, g
  if (g > 5) { print "soak: memory grew"; exit 1 }
  print "soak: memory flat"
}'
