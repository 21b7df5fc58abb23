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
# SPARK_MASTER (skip the local cluster), SPARK_WORKER_MEMORY (default 1g).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ $# -eq 1 && -d "$1" ]] || { echo "usage: spark/run.sh OUT (the output folder of a province run)" >&2; exit 2; }
out="$(cd "$1" && pwd)"
[[ -f "$out/spark/queries.json" ]] || { echo "$out/spark/queries.json is missing: run tonghop with a province file first" >&2; exit 2; }
venv="${TONGHOP_SPARK_VENV:-$HOME/.cache/tonghop-spark-venv}"

if ! command -v java >/dev/null 2>&1; then
    echo "spark/run.sh: installing Java (openjdk-17-jre-headless)" >&2
    sudo_=""; [[ "$(id -u)" -ne 0 ]] && sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$here/requirements.txt"
SPARK_HOME="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python"

pids=()
work="$(mktemp -d)"
stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap stop EXIT

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 120); do
        if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then return 0; fi
        sleep 0.5
    done
    echo "spark/run.sh: nothing listens on 127.0.0.1:$1 after 60 s; logs in $work" >&2
    tail -n 30 "$work"/*.log >&2 || true
    return 1
}

master="${SPARK_MASTER:-}"
if [[ -z "$master" ]]; then
    port="$(free_port)"
    "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
        --host 127.0.0.1 --port "$port" --webui-port "$(free_port)" >"$work/master.log" 2>&1 &
    pids+=($!)
    wait_port "$port"
    master="spark://127.0.0.1:$port"
    for w in 1 2; do
        "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
            --host 127.0.0.1 --cores 1 --memory "${SPARK_WORKER_MEMORY:-1g}" \
            --webui-port "$(free_port)" --work-dir "$work/worker$w" "$master" >"$work/worker$w.log" 2>&1 &
        pids+=($!)
    done
fi
"$venv/bin/python" "$here/driver.py" "$out" "$master"
