#!/usr/bin/env bash
# Prints the outputs that a refactoring must leave byte-identical, for the demo shop at a pinned clock.
# Usage: bash bench/same_outputs.sh OUT_DIR   (then `diff -r` two such folders, before and after)
# carecli must be on PATH (the installed entry point).
set -euo pipefail
out=${1:?usage: bash bench/same_outputs.sh OUT_DIR}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CARECLI_NOW=2026-11-20T15:00:00Z TZ=UTC NO_COLOR=1 COLUMNS=100
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
db="$work/demo.db"
carecli --db "$db" demo --yes 2>&1 | sed "s|$work|WORK|g" > "$out/demo.txt"
run() {  # run NAME ARGS...: stdout to NAME.out, stderr to NAME.err, exit code to NAME.rc
  local name=$1; shift
  set +e
  carecli --db "$db" "$@" > "$out/$name.out" 2> "$out/$name.err"
  echo $? > "$out/$name.rc"
  set -e
}
run ticket-list ticket list
run ticket-list-all-csv ticket list --status all --format csv
run today today
run kpi-json kpi --format json
run kpi-by-channel-json kpi --by channel --format json
run kpi kpi
run report-daily report daily
run report-weekly-json report weekly --format json
run export-tickets export tickets
run export-events export events
run export-customers export customers
run customer-list-csv customer list --format csv
run followup-list-json followup list --format json
run health customer health --format csv
run suggest care suggest --format json
