#!/usr/bin/env bash
# Runs fuzz targets one after the other (one job, one worker: the machine is shared),
# logging to fuzz/logs/<target>.log. Usage: fuzz/campaign.sh RUNS target...
# MAX_TIME=seconds stops each target earlier (libFuzzer's -max_total_time).
# The parsers are built with compare tracing (libFuzzer's CMP guidance); the
# machine-driven targets without it (--no-trace-compares, own target dir): it halves
# their speed, and their dictionaries already supply the words the machine compares with.
set -u
cd "$(dirname "$0")"
runs=${1:-10000000}
shift
mkdir -p logs
for t in "$@"; do
  case $t in
    b64|jwt|callback|json) build=(); max_len=4096 ;;
    *) build=(--no-trace-compares --target-dir target/notc); max_len=1024 ;;
  esac
  limit=()
  [ -n "${MAX_TIME:-}" ] && limit=(-max_total_time="$MAX_TIME")
  start=$(date +%s)
  cargo +nightly fuzz run -s none -a "${build[@]}" "$t" -- -runs="$runs" "${limit[@]}" -max_len=$max_len -timeout=5 -rss_limit_mb=2048 \
    -jobs=1 -workers=1 -print_final_stats=1 > "logs/$t.out" 2>&1
  rc=$?
  mv -f fuzz-0.log "logs/$t.log" 2>/dev/null
  echo "$t rc=$rc seconds=$(( $(date +%s) - start ))" >> logs/summary
done
