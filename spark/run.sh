#!/usr/bin/env bash
# spark/run.sh OUT — every indicator of every commune and of the province, on
# Apache Spark, over OUT/public/tables (the public tables of a province run:
# `tonghop run --config province.toml`). Writes OUT/spark/indicators.csv with
# the columns of OUT/indicators.csv.
#
# What a province uses when one machine is not enough: the queries are the
# pipelines' own indicator SQL, rewritten by tonghop for all communes at once
# (OUT/spark/queries.json); this script only runs them. Here it starts a
# standalone master and two workers on 127.0.0.1 (Java and pyspark installed
# on first use), runs the driver, and stops the cluster by PID on exit. On a
# real cluster: SPARK_MASTER=spark://host:7077 spark/run.sh OUT.
#
# Environment: TONGHOP_SPARK_VENV (default ~/.cache/tonghop-spark-venv),
# SPARK_MASTER (skip the local cluster), SPARK_WORKER_MEMORY (default 4g),
# TONGHOP_SPARK_EXECUTOR_MEMORY (default 3g: 512m ran out of heap at 100 communes, see BENCHMARKS.md), TONGHOP_SPARK_SHUFFLE_PARTITIONS
# (default 16). Starting and stopping the cluster: spark/cluster.sh (shared with
# spark/national.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 1 && -d "$1" ]] || { echo "usage: spark/run.sh OUT (the output folder of a province run)" >&2; exit 2; }
out="$(cd "$1" && pwd)"
[[ -f "$out/spark/queries.json" ]] || { echo "$out/spark/queries.json is missing: run tonghop with a province file first" >&2; exit 2; }
spark_prog="spark/run.sh"
# shellcheck source=spark/cluster.sh
source "$here/cluster.sh"   # Java, the venv, the local master and workers (stopped by PID on exit)
spark_setup
spark_start
"$venv/bin/python" "$here/driver.py" "$out" "$master"
