#!/usr/bin/env bash
# Province runs at scale: the embedded engine against Spark over the same tree.
#
#   bench/province.sh [--rows-scale F] [N ...]      (default N: 10 38 100)
#
# For each N: generate N communes of realistic size with
# `fixtures/gen_province.py --scale N` (20,000 BHYT + 13,000 VNeID rows, ~4,000
# land dossiers + ~2,000 land records + a few dozen fines, one livestock biểu,
# per commune; 0.5 % of persons also in the next commune's list) into
# bench/data/province-N/ (git-ignored; generated only when its province.toml is
# missing), then time
#   1. a fresh embedded run: $TONGHOP_BIN run --config …/province.toml --out <new temp dir>
#      (wall seconds and peak RSS: /usr/bin/time -v, one process), and
#   2. spark/run.sh <that out> (local master + two workers on 127.0.0.1; wall
#      seconds only: the JVMs' memory is not measured),
# and compare every figure of OUT/indicators.csv with OUT/spark/indicators.csv
# per (indicator, commune, period), relative tolerance 1e-9.
# Prints a markdown table and writes it to bench/data/results/province-<date>.md.
#
# Options / environment:
#   --rows-scale F           multiply the per-commune row counts (e.g. 0.1 for a quick run)
#   BENCH_PROVINCE_BHYT_ROWS, BENCH_PROVINCE_VNEID_ROWS, BENCH_PROVINCE_LAND_ROWS
#                            per-commune counts (default 20000, 13000, 4000; override --rows-scale)
#                            Non-default counts go to bench/data/province-N-b<B>-v<V>-l<L>/.
#   TONGHOP_BIN              the binary (default $CARGO_TARGET_DIR/release/tonghop; when that
#                            default is missing it is built with cargo build --release --locked)
#   CARGO_TARGET_DIR         default ~/.cache/tonghop-target
#   BENCH_SKIP_BUILD=1       never run cargo (fail if the binary is missing)
#   BENCH_SKIP_SPARK=1       embedded runs only
#   BENCH_KEEP_OUT=1         keep the run outputs (default: removed after each N)
#   TONGHOP_FIXTURE_VENV     generator venv (default ~/.cache/tonghop-fixture-venv; made from
#                            fixtures/requirements.txt as fixtures/generate.sh does if missing)
#   TONGHOP_SPARK_VENV, SPARK_WORKER_MEMORY, SPARK_MASTER   passed to spark/run.sh
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-2}"; }

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench")

rows_scale=""
sizes=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage 0 ;;
    --rows-scale) rows_scale=${2:?--rows-scale needs a value}; shift 2 ;;
    --rows-scale=*) rows_scale=${1#--rows-scale=}; shift ;;
    *) [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "not a commune count: $1" >&2; usage; }
       sizes+=("$1"); shift ;;
  esac
done
[[ ${#sizes[@]} -gt 0 ]] || sizes=(10 38 100)

scaled() {  # scaled DEFAULT -> DEFAULT x rows_scale, rounded
  if [[ -z $rows_scale ]]; then echo "$1"; else python3 -c "print(max(1, round($1 * float('$rows_scale'))))"; fi
}
bhyt_rows=${BENCH_PROVINCE_BHYT_ROWS:-$(scaled 20000)}
vneid_rows=${BENCH_PROVINCE_VNEID_ROWS:-$(scaled 13000)}
land_rows=${BENCH_PROVINCE_LAND_ROWS:-$(scaled 4000)}
for v in "$bhyt_rows" "$vneid_rows" "$land_rows"; do
  [[ $v =~ ^[0-9]+$ ]] || { echo "row counts must be integers: $bhyt_rows $vneid_rows $land_rows" >&2; exit 2; }
done
suffix=""
if [[ "$bhyt_rows/$vneid_rows/$land_rows" != "20000/13000/4000" ]]; then
  suffix="-b$bhyt_rows-v$vneid_rows-l$land_rows"
fi

# 1. The binary.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tonghop-target}
bin=${TONGHOP_BIN:-$CARGO_TARGET_DIR/release/tonghop}
if [[ ! -x $bin ]]; then
  if [[ -n ${TONGHOP_BIN:-} || ${BENCH_SKIP_BUILD:-0} == 1 ]]; then
    echo "missing $bin" >&2; exit 1
  fi
  echo "== cargo build --release --locked (target $CARGO_TARGET_DIR)" >&2
  (cd "$repo" && cargo build --release --locked --bin tonghop)
fi
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

# 2. The generator's venv (as fixtures/generate.sh makes it).
fvenv=${TONGHOP_FIXTURE_VENV:-$HOME/.cache/tonghop-fixture-venv}
if [[ ! -x $fvenv/bin/python ]]; then
  echo "== venv $fvenv" >&2
  "${PYTHON:-python3}" -m venv "$fvenv"
  "$fvenv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$repo/fixtures/requirements.txt"
fi

# 3. The measurement: /usr/bin/time -v if present, else a python wrapper.
# measure RESULT LOG cmd... -> RESULT holds "wall_s peak_rss_kib exit_status"
measure() {
  local result=$1 log=$2; shift 2
  local rc=0
  if [[ -x /usr/bin/time ]]; then
    local tv; tv=$(mktemp)
    /usr/bin/time -v -o "$tv" "$@" >"$log" 2>&1 || rc=$?
    python3 - "$tv" "$rc" >"$result" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", t)
parts = [float(x) for x in m.group(1).split(":")]
wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1))
print(f"{wall:.2f} {rss} {sys.argv[2]}")
EOF
    rm -f "$tv"
  else
    python3 - "$result" "$log" "$@" <<'EOF' || rc=$?
import resource, subprocess, sys, time
result, log, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.monotonic()
with open(log, "wb") as f:
    rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT)
wall = time.monotonic() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss   # KiB on Linux: the largest child
open(result, "w").write(f"{wall:.2f} {rss} {rc}\n")
sys.exit(rc)
EOF
  fi
  return $rc
}

compare() {  # compare OUT -> "equal total"
  python3 - "$1" <<'EOF'
import csv, math, os, sys
out = sys.argv[1]
def load(p):
    with open(p, encoding="utf-8-sig", newline="") as f:
        return {(r["indicator"], r["commune"], r["period"]): r["value"] for r in csv.DictReader(f)}
a = load(os.path.join(out, "indicators.csv"))
b = load(os.path.join(out, "spark", "indicators.csv"))
equal = 0
bad = []
for k, v in a.items():
    w = b.get(k)
    if w is None:
        ok = False
    elif v == "" or w == "":
        ok = v == w
    else:
        x, y = float(v), float(w)
        ok = x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))
    equal += ok
    if not ok:
        bad.append((k, v, w))
extra = len(set(b) - set(a))
for k, v, w in bad[:10]:
    print(f"  differs {k}: embedded {v!r}, spark {w!r}", file=sys.stderr)
if extra:
    print(f"  {extra} figures only in spark/indicators.csv", file=sys.stderr)
print(equal, len(a) + extra)
EOF
}

mkdir -p "$bench/data/results"
stamp=$(date +%Y-%m-%dT%H%M%S)
report=$bench/data/results/province-$stamp.md
rows_md=()
notes=()
for n in "${sizes[@]}"; do
  data=$bench/data/province-$n$suffix
  if [[ ! -f $data/province.toml ]]; then
    echo "== generating $data ($n communes x $bhyt_rows BHYT, $vneid_rows VNeID, $land_rows land rows)" >&2
    rm -rf "$data"
    gen_start=$(date +%s.%N)
    "$fvenv/bin/python" "$repo/fixtures/gen_province.py" --scale "$n" --out "$data" \
      --bhyt-rows "$bhyt_rows" --vneid-rows "$vneid_rows" --land-rows "$land_rows" >&2
    gen_s=$(python3 -c 'import sys; print(f"{float(sys.argv[1]) - float(sys.argv[2]):.0f}")' "$(date +%s.%N)" "$gen_start")
    notes+=("province-$n$suffix generated in $gen_s s (fixtures/gen_province.py --scale, 2 processes)")
  fi
  read -r workbooks data_rows < <(python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['workbooks'], s['data_rows_total'])" "$data/scale.json")

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/tonghop-province-bench.XXXXXX")
  out=$tmp/out
  echo "== embedded: $bin run --config $data/province.toml --out $out" >&2
  if measure "$tmp/embedded.res" "$tmp/embedded.log" "$bin" run --config "$data/province.toml" --out "$out"; then
    read -r e_wall e_rss _ <"$tmp/embedded.res"
    tail -n 1 "$tmp/embedded.log" >&2
    e_rss_mib=$(python3 -c 'import sys; print(f"{int(sys.argv[1]) / 1024:.0f}")' "$e_rss")
    rps=$(python3 -c 'import sys; print(f"{int(sys.argv[1]) / max(float(sys.argv[2]), 0.01):.0f}")' "$data_rows" "$e_wall")
  else
    echo "embedded run failed; log: $tmp/embedded.log" >&2
    tail -n 20 "$tmp/embedded.log" >&2
    rows_md+=("| $n | $workbooks | $data_rows | failed | | | | |")
    continue
  fi

  s_wall="skipped"; cmp_s="n/a"
  if [[ ${BENCH_SKIP_SPARK:-0} != 1 ]]; then
    echo "== spark/run.sh $out" >&2
    if measure "$tmp/spark.res" "$tmp/spark.log" "$repo/spark/run.sh" "$out"; then
      read -r s_wall _ _ <"$tmp/spark.res"
      tail -n 1 "$tmp/spark.log" >&2
      cmp_s=$(compare "$out") && cmp_s=${cmp_s/ / \/ } || cmp_s="compare failed"
    else
      s_wall="failed"
      echo "spark/run.sh failed; log: $tmp/spark.log" >&2
      tail -n 20 "$tmp/spark.log" >&2
    fi
  fi
  rows_md+=("| $n | $workbooks | $data_rows | $e_wall | $e_rss_mib | $rps | $s_wall | $cmp_s |")
  if [[ ${BENCH_KEEP_OUT:-0} == 1 ]]; then
    notes+=("province-$n output kept in $out")
  else
    rm -rf "$tmp"
  fi
done

{
  echo "## Province runs ($stamp)"
  echo
  echo "| communes | workbooks | data rows | embedded wall s | embedded peak RSS MiB | rows/s | spark wall s | figures compared equal |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows_md[@]}"
  echo
  echo "- per commune: $bhyt_rows BHYT, $vneid_rows VNeID, $land_rows land dossiers (+ records, fines), one livestock biểu"
  echo "- binary: $bin ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$repo" && git diff --quiet 2>/dev/null || echo ', dirty tree'))"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "- embedded: one process; wall and peak RSS from $([[ -x /usr/bin/time ]] && echo '/usr/bin/time -v' || echo 'getrusage(RUSAGE_CHILDREN)')"
  echo "- spark: spark/run.sh (local master + 2 workers x 1 core, ${SPARK_WORKER_MEMORY:-1g}), wall includes JVM start-up; the JVMs' RSS is not measured"
  echo "- figures: OUT/indicators.csv against OUT/spark/indicators.csv per (indicator, commune, period), relative tolerance 1e-9"
  for note in "${notes[@]}"; do echo "- $note"; done
} | tee "$report"
echo "written: $report" >&2
