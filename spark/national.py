"""Replicate a province run's public tables to a national number of communes.

    python spark/national.py SRC DEST MASTER [--communes 3321] [--dup-share 0.005]
                             [--code VN] [--pipelines DIR]

SRC is the output folder of a province run (`tonghop run --config province.toml`):
its public tables (SRC/public/tables/<pipeline>_<table>/commune=<c>/period=<p>/),
SRC/spark/queries.json, communes.csv and provinces.csv. DEST receives the same
layout for --communes replicas, ready for spark/driver.py:

* replica r (0 <= r < communes) copies source commune r mod S (S source
  communes, in code order); replicas 0 .. S-1 keep the source codes and rows
  unchanged (so their figures must equal SRC/indicators.csv), the others get
  the next free five-digit codes 10000 + 3 k and every hashed column
  (privacy = "hash" in pipelines/*.toml: personal_id, card_code, bhxh_number)
  salted: sha2("n<r>:" || value, 256), NULL stays NULL; so every replica's
  persons are distinct,
* except a small share of persons (--dup-share, chosen by xxhash64 of the
  person's ID, the same persons in every replica): in replica r of an odd
  "round" (r div S odd) they take the salt of replica r - S, i.e. they are the
  same persons as in the paired replica: cross-commune duplicates, each in two
  communes,
* `commune_code` (in the files) and the partition folder commune=<code> name
  the replica; the period stays the source commune's,
* DEST/spark/communes.csv: one row per replica, the source commune's period,
  targets and has-flags; provinces.csv: the source's rows (one per period)
  under the code --code, absolute targets the sum over the period's replicas,
  percentage targets (`..._pct`) copied; queries.json copied.

Only pyspark (no pandas / pyarrow). The session binds 127.0.0.1 and has no UI.
Parquet codec: $NATIONAL_PARQUET_CODEC (default zstd); executor memory and
shuffle partitions: $TONGHOP_SPARK_EXECUTOR_MEMORY, $TONGHOP_SPARK_SHUFFLE_PARTITIONS.
Prints the replication's wall time (without the session's start) and the row
count of every table, read back from DEST.
"""

import argparse
import csv
import json
import os
import shutil
import sys
import time
import tomllib

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = ".tonghop-national"


def hashed_columns(pipelines_dir):
    """{view: [column, ...]} of the columns with privacy = "hash"."""
    out = {}
    for name in sorted(os.listdir(pipelines_dir)):
        if not name.endswith(".toml"):
            continue
        with open(os.path.join(pipelines_dir, name), "rb") as f:
            spec = tomllib.load(f)
        pipe = spec.get("pipeline", {}).get("name", name[:-5])
        for t in spec.get("tables", []):
            cols = [c["name"] for c in t.get("columns", []) if c.get("privacy") == "hash"]
            if cols:
                out[f"{pipe}_{t['name']}"] = cols
    return out


def replica_codes(sources, n):
    used = set(sources)
    codes = list(sources)
    k = 0
    while len(codes) < n:
        c = f"{10000 + 3 * k:05d}"
        k += 1
        if c not in used:
            used.add(c)
            codes.append(c)
        if 10000 + 3 * k > 99999:
            sys.exit("national.py: out of five-digit codes")
    return codes[:n]


def salt_of(r, s):
    return "" if r < s else f"n{r}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dest")
    ap.add_argument("master")
    ap.add_argument("--communes", type=int, default=3321)
    ap.add_argument("--dup-share", type=float, default=0.005)
    ap.add_argument("--code", default="VN", help="the code of the national row (provinces.csv)")
    ap.add_argument("--pipelines", default=os.path.join(os.path.dirname(HERE), "pipelines"))
    a = ap.parse_args()
    src = os.path.realpath(a.src)
    dest = os.path.abspath(a.dest)
    spec_path = os.path.join(src, "spark", "queries.json")
    if not os.path.isfile(spec_path):
        sys.exit(f"national.py: {spec_path} is missing: SRC must be the output of a province run")
    if os.path.exists(dest) and os.listdir(dest):
        if not os.path.exists(os.path.join(dest, MARKER)):
            sys.exit(f"national.py: {dest} exists and is not a national tree ({MARKER} missing): refusing")
        shutil.rmtree(dest)
    os.makedirs(os.path.join(dest, "spark"), exist_ok=True)
    open(os.path.join(dest, MARKER), "w").write(f"spark/national.py {src} -> {a.communes} communes\n")

    spec = json.load(open(spec_path, encoding="utf-8"))
    columns = spec["columns"]
    with open(os.path.join(src, "spark", "communes.csv"), encoding="utf-8", newline="") as f:
        src_rows = sorted(csv.DictReader(f), key=lambda r: (r["__commune"], r["__period"]))
    with open(os.path.join(src, "spark", "provinces.csv"), encoding="utf-8", newline="") as f:
        prov_rows = list(csv.DictReader(f))
    sources = sorted({r["__commune"] for r in src_rows})
    s = len(sources)
    if s == 0:
        sys.exit("national.py: no commune in SRC/spark/communes.csv")
    n = a.communes
    codes = replica_codes(sources, n)
    replicas = []   # (replica code, source code, salt, salt of the duplicated persons)
    for r in range(n):
        share = salt_of(r, s) if (r // s) % 2 == 0 else salt_of(r - s, s)
        replicas.append((codes[r], sources[r % s], salt_of(r, s), share))
    dup_pairs = sum(1 for r in range(n) if (r // s) % 2 == 1)

    # communes.csv / provinces.csv / queries.json
    by_src = {}
    for row in src_rows:
        by_src.setdefault(row["__commune"], []).append(row)
    out_rows = []
    for code, source, _, _ in replicas:
        for row in by_src[source]:
            out_rows.append({**row, "__commune": code})
    out_rows.sort(key=lambda r: (r["__commune"], r["__period"]))
    with open(os.path.join(dest, "spark", "communes.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        w.writerows(out_rows)
    targets = [c for c in columns if c.startswith("__target_")]
    with open(os.path.join(dest, "spark", "provinces.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        w.writeheader()
        for p in prov_rows:
            row = {**p, "__commune": a.code}
            for t in targets:
                if t.endswith("_pct"):
                    continue
                vals = [float(r[t]) for r in out_rows if r["__period"] == p["__period"] and r[t] != ""]
                if vals:
                    total = sum(vals)
                    row[t] = str(int(total)) if total.is_integer() else repr(total)
            w.writerow(row)
    shutil.copyfile(spec_path, os.path.join(dest, "spark", "queries.json"))

    spark = (
        SparkSession.builder.master(a.master)
        .appName("tonghop-national-replicate")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.executor.memory", os.environ.get("TONGHOP_SPARK_EXECUTOR_MEMORY", "512m"))
        .config("spark.executor.cores", "1")
        .config("spark.sql.shuffle.partitions", os.environ.get("TONGHOP_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        # zstd: the salted hex hashes are most of the bytes (snappy leaves them ~1.7x larger)
        .config("spark.sql.parquet.compression.codec", os.environ.get("NATIONAL_PARQUET_CODEC", "zstd"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    t0 = time.monotonic()
    hashed = hashed_columns(a.pipelines)
    rep = spark.createDataFrame(
        replicas,
        T.StructType([T.StructField("__code", T.StringType()), T.StructField("__src", T.StringType()),
                      T.StructField("__salt", T.StringType()), T.StructField("__share_salt", T.StringType())]))
    threshold = int(round(a.dup_share * 1_000_000))
    counts = []
    for v in spec["views"]:
        path = os.path.join(src, v["path"])
        if not os.path.isdir(path):
            print(f"national: no public table {v['view']} in SRC: skipped", file=sys.stderr)
            continue
        df = spark.read.option("basePath", path).parquet(path)
        names = df.columns
        cols = [c for c in hashed.get(v["view"], []) if c in names]
        x = df.join(F.broadcast(rep), df["commune"] == rep["__src"], "inner")
        if cols:
            key = F.col("personal_id") if "personal_id" in cols else F.col(cols[0])
            share = key.isNotNull() & ((F.abs(F.xxhash64(key)) % F.lit(1_000_000)) < F.lit(threshold))
            x = x.withColumn("__s", F.when(share, F.col("__share_salt")).otherwise(F.col("__salt")))
        out_cols = []
        for c in names:
            if c in ("commune", "commune_code"):
                out_cols.append(F.col("__code").alias(c))
            elif c in cols:
                out_cols.append(F.when(F.col(c).isNull() | (F.col("__s") == ""), F.col(c))
                                .otherwise(F.sha2(F.concat(F.col("__s"), F.lit(":"), F.col(c)), 256)).alias(c))
            else:
                out_cols.append(F.col(c))
        target = os.path.join(dest, v["path"])
        x.select(*out_cols).write.mode("overwrite").partitionBy("commune", "period").parquet(target)
        src_n = df.count()
        got = spark.read.option("basePath", target).parquet(target)
        got_n = got.count()
        want = df.groupBy("commune").count().join(
            rep.groupBy("__src").agg(F.count("*").alias("k")), F.col("commune") == F.col("__src")
        ).select(F.sum(F.col("count") * F.col("k"))).first()[0] or 0
        parts = got.select("commune", "period").distinct().count()
        counts.append((v["view"], src_n, got_n, want, parts, cols))
    dt_s = time.monotonic() - t0
    spark.stop()
    print(f"national: {n} communes from {s} source communes ({dup_pairs} replicas share "
          f"{a.dup_share:.2%} of their persons with their pair), {len(counts)} tables, "
          f"replicated in {dt_s:.1f} s -> {dest}")
    bad = 0
    for view, src_n, got_n, want, parts, cols in counts:
        ok = got_n == want
        bad += not ok
        print(f"  {view:<20} {src_n:>10,} source rows -> {got_n:>13,} rows in {parts:>5} partitions"
              f"{'' if ok else f' (EXPECTED {want:,})'}{'; salted: ' + ', '.join(cols) if cols else ''}")
    print(f"  total               {sum(c[1] for c in counts):>10,} source rows -> {sum(c[2] for c in counts):>13,} rows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
