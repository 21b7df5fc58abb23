#!/usr/bin/env bash
# Benchmark tonghop against the calamine floor and the Python peers.
#
#   bench/run.sh SCALE [RUNS] [--files N] [--rows N] [--inline-strings] [harness options, e.g. --tools tonghop,polars]
#
# SCALE: commune (1 file x 20,000 rows), province (100 files x 20,000 rows)
# or big (1 file x 500,000 rows); --files/--rows override the scale's default.
# RUNS: rounds, default 5. --inline-strings: text cells written inline, as
# many exporters write them (data under bench/data/<scale>…-inline/).
#
# Environment:
#   TONGHOP_BENCH_VENV  the peers' venv (default ~/.cache/tonghop-bench-venv),
#                       made and filled from bench/requirements.txt if missing
#                       or if requirements.txt changed since
#   CARGO_TARGET_DIR    default ~/.cache/tonghop-target
#   BENCH_SKIP_BUILD=1  use the binaries already built (no cargo)
#   PYTHON              interpreter to make the venv with (default python3)
#
# Data goes to bench/data/<scale>[-<files>][-r<rows>]/ (ignored by git) and is
# generated only when its expected.json is missing. Results: the markdown
# table on stdout, the full report in bench/data/results/.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

[[ $# -ge 1 ]] || usage
case "$1" in -h|--help) usage 0 ;; esac
scale=$1
shift
case "$scale" in commune|province|big) ;; *) echo "unknown scale: $scale" >&2; usage ;; esac
runs=5
if [[ $# -ge 1 && $1 =~ ^[0-9]+$ ]]; then
  runs=$1
  shift
fi
files=""
rows=""
inline=""
harness_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --files) files=${2:?--files needs a value}; shift 2 ;;
    --rows) rows=${2:?--rows needs a value}; shift 2 ;;
    --inline-strings) inline=1; shift ;;
    *) harness_args+=("$1"); shift ;;
  esac
done

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$bench")
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/tonghop-target}
venv=${TONGHOP_BENCH_VENV:-$HOME/.cache/tonghop-bench-venv}

# 1. The peers' Python environment.
if [[ ! -x $venv/bin/python ]] || ! cmp -s "$bench/requirements.txt" "$venv/.bench-requirements.txt"; then
  echo "== venv $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$bench/requirements.txt"
  cp "$bench/requirements.txt" "$venv/.bench-requirements.txt"
fi

# 2. The binaries: tonghop, bench_gen, calamine_floor.
if [[ ${BENCH_SKIP_BUILD:-0} != 1 ]]; then
  echo "== cargo build (target $CARGO_TARGET_DIR)" >&2
  (cd "$repo" && cargo build --release --bin tonghop --examples)
fi
for bin in release/tonghop release/examples/bench_gen release/examples/calamine_floor release/examples/physical_floor; do
  [[ -x $CARGO_TARGET_DIR/$bin ]] || { echo "missing $CARGO_TARGET_DIR/$bin" >&2; exit 1; }
done

# 3. The data.
name=$scale${files:+-$files}${rows:+-r$rows}${inline:+-inline}
data=$bench/data/$name
if [[ ! -f $data/expected.json ]]; then
  echo "== generating $data" >&2
  rm -rf "$data"
  gen=(--scale "$scale" --out "$data")
  [[ -n $files ]] && gen+=(--files "$files")
  [[ -n $rows ]] && gen+=(--rows "$rows")
  [[ -n $inline ]] && gen+=(--inline-strings)
  "$CARGO_TARGET_DIR/release/examples/bench_gen" "${gen[@]}" >&2
fi

# 4. The benchmark.
mkdir -p "$bench/data/results"
json=$bench/data/results/$name-$(date -u +%Y%m%dT%H%M%SZ).json
exec "$venv/bin/python" "$bench/harness.py" --scale "$name" --data "$data" --runs "$runs" \
  --json "$json" ${harness_args[@]+"${harness_args[@]}"}
