# spark/cluster.sh — sourced by spark/run.sh and spark/national.sh; not run on its own.
#
#   spark_setup   Java (openjdk-17-jre-headless installed if missing), the venv
#                 ${TONGHOP_SPARK_VENV:-~/.cache/tonghop-spark-venv} filled from
#                 spark/requirements.txt; exports SPARK_HOME, SPARK_LOCAL_IP=127.0.0.1 and
#                 PYSPARK_PYTHON; sets $venv.
#   spark_start   sets $master: $SPARK_MASTER if set, else a standalone master and two
#                 workers (1 core, ${SPARK_WORKER_MEMORY:-4g} each) on 127.0.0.1, stopped
#                 by PID when the calling script exits (trap EXIT).
#
# The caller sets spark_prog (the name its messages start with) before sourcing.
spark_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spark_prog="${spark_prog:-spark/cluster.sh}"
venv="${TONGHOP_SPARK_VENV:-$HOME/.cache/tonghop-spark-venv}"
pids=()
work=""

spark_setup() {
    if ! command -v java >/dev/null 2>&1; then
        echo "$spark_prog: installing Java (openjdk-17-jre-headless)" >&2
        local sudo_=""; [[ "$(id -u)" -ne 0 ]] && sudo_="sudo"
        $sudo_ apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq openjdk-17-jre-headless >/dev/null
    fi
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet -r "$spark_here/requirements.txt"
    SPARK_HOME="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
    export SPARK_HOME SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv/bin/python"
}

spark_stop() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [[ -n "$work" ]] && rm -rf "$work"
}

free_port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 120); do
        if "$venv/bin/python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; then return 0; fi
        sleep 0.5
    done
    echo "$spark_prog: nothing listens on 127.0.0.1:$1 after 60 s; logs in $work" >&2
    tail -n 30 "$work"/*.log >&2 || true
    return 1
}

spark_start() {
    work="$(mktemp -d)"
    trap spark_stop EXIT
    master="${SPARK_MASTER:-}"
    if [[ -z "$master" ]]; then
        local port
        port="$(free_port)"
        "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master \
            --host 127.0.0.1 --port "$port" --webui-port "$(free_port)" >"$work/master.log" 2>&1 &
        pids+=($!)
        wait_port "$port"
        master="spark://127.0.0.1:$port"
        for w in 1 2; do
            "$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker \
                --host 127.0.0.1 --cores 1 --memory "${SPARK_WORKER_MEMORY:-4g}" \
                --webui-port "$(free_port)" --work-dir "$work/worker$w" "$master" >"$work/worker$w.log" 2>&1 &
            pids+=($!)
        done
    fi
}
