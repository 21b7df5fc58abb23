#!/usr/bin/env bash
# spark/national.sh SRC [DEST] — a national simulation on Spark.
#
# SRC: the output folder of a province run (e.g. of bench/province.sh's 10
# communes). spark/national.py replicates its public tables to
# ${NATIONAL_COMMUNES:-3321} communes (distinct five-digit codes, hashed IDs
# salted per replica, ${NATIONAL_DUP_SHARE:-0.005} of the persons shared by
# pairs of replicas) into DEST (default SRC-national-<communes>), with
# spark/communes.csv, provinces.csv and queries.json; then spark/driver.py runs
# every indicator query on it (DEST/spark/indicators.csv). Both on one local
# cluster (master + two workers on 127.0.0.1, started as spark/run.sh does and
# stopped by PID on exit).
#
# Prints the wall time of the replication and of the queries, the row counts,
# and two checks: the first S replicas are the S source communes unchanged, so
# their figures must equal SRC/indicators.csv; and the national persons counts
# against the sum of the communes' (the difference: persons in two communes).
#
# Size: each replica holds its source commune's rows, so from bench/province.sh's
# 10 communes (~390,000 rows) 3,321 replicas are ~130 million rows; at the
# bytes a row measured with 50 replicas (zstd: BHYT ~120, VNeID ~50), expect
# ~10-12 GB under DEST.
#
# Environment: NATIONAL_COMMUNES (3321), NATIONAL_DUP_SHARE (0.005),
# NATIONAL_CODE (VN: the national row's code), NATIONAL_PARQUET_CODEC (zstd),
# SPARK_WORKER_MEMORY (default here 4g), TONGHOP_SPARK_EXECUTOR_MEMORY (3g),
# TONGHOP_SPARK_SHUFFLE_PARTITIONS (32), TONGHOP_SPARK_VENV, SPARK_MASTER (use
# that cluster instead of a local one). The source of a national run from
# bench/province.sh: BENCH_KEEP_OUT=1 bench/province.sh 10 keeps its output.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ ($# -eq 1 || $# -eq 2) && -d "$1" ]] || { echo "usage: spark/national.sh SRC [DEST] (SRC: the output folder of a province run)" >&2; exit 2; }
src="$(cd "$1" && pwd -P)"
[[ -f "$src/spark/queries.json" ]] || { echo "$src/spark/queries.json is missing: run tonghop with a province file first" >&2; exit 2; }
n="${NATIONAL_COMMUNES:-3321}"
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "NATIONAL_COMMUNES must be a positive integer" >&2; exit 2; }
dest="${2:-$src-national-$n}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
export SPARK_WORKER_MEMORY="${SPARK_WORKER_MEMORY:-4g}"
export TONGHOP_SPARK_EXECUTOR_MEMORY="${TONGHOP_SPARK_EXECUTOR_MEMORY:-3g}"
export TONGHOP_SPARK_SHUFFLE_PARTITIONS="${TONGHOP_SPARK_SHUFFLE_PARTITIONS:-32}"

spark_prog="spark/national.sh"
# shellcheck source=spark/cluster.sh
source "$here/cluster.sh"
spark_setup
spark_start

now() { date +%s.%N; }
t0=$(now)
"$venv/bin/python" "$here/national.py" "$src" "$dest" "$master" --communes "$n" \
    --dup-share "${NATIONAL_DUP_SHARE:-0.005}" --code "${NATIONAL_CODE:-VN}"
t1=$(now)
"$venv/bin/python" "$here/driver.py" "$dest" "$master"
t2=$(now)

python3 - "$src" "$dest" "$t0" "$t1" "$t2" <<'EOF'
import csv, os, sys
src, dest, t0, t1, t2 = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])

def load(p):
    with open(p, encoding="utf-8-sig", newline="") as f:
        return {(r["indicator"], r["commune"], r["period"]): r["value"] for r in csv.DictReader(f)}

def same(v, w):
    if v in (None, "") or w in (None, ""):
        return (v or "") == (w or "")
    x, y = float(v), float(w)
    return x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))

nat = load(os.path.join(dest, "spark", "indicators.csv"))
emb = load(os.path.join(src, "indicators.csv"))
with open(os.path.join(src, "spark", "communes.csv"), encoding="utf-8", newline="") as f:
    sources = {r["__commune"] for r in csv.DictReader(f)}
with open(os.path.join(dest, "spark", "provinces.csv"), encoding="utf-8", newline="") as f:
    national = {r["__commune"] for r in csv.DictReader(f)}
with open(os.path.join(dest, "spark", "communes.csv"), encoding="utf-8", newline="") as f:
    replicas = {r["__commune"] for r in csv.DictReader(f)}
keys = [k for k in emb if k[1] in sources]
eq = sum(same(emb[k], nat.get(k)) for k in keys)
print(f"national: replication {t1 - t0:.1f} s, queries {t2 - t1:.1f} s (wall, each with its Spark session's start)")
print(f"national: {len(nat)} figures for {len(replicas)} communes and {len(national)} national row(s); "
      f"the {len(sources)} source communes' figures equal SRC/indicators.csv: {eq}/{len(keys)}")
for ind in ("bhyt.cards_total", "vneid.age_14_plus_collected"):
    for (i, c, p), v in sorted(nat.items()):
        if i == ind and c in national:
            total = sum(float(w) for (j, d, q), w in nat.items() if j == ind and q == p and d in replicas and w != "")
            print(f"  {ind} {p}: national {float(v):,.0f}, sum of communes {total:,.0f} "
                  f"(difference {total - float(v):,.0f}: persons in two communes)")
sys.exit(0 if eq == len(keys) else 1)
EOF
