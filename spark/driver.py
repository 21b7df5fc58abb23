"""Run tonghop's indicator SQL for every commune and the province on Spark.

    python spark/driver.py OUT MASTER

Reads OUT/spark/queries.json (written by a province run: each indicator's
query over all communes, and over the province), OUT/spark/communes.csv and
provinces.csv (the tables the queries join: periods, targets, which
pipelines each commune has), registers the public tables of
OUT/public/tables as views, runs every query in one Spark job and writes
OUT/spark/indicators.csv with the columns of OUT/indicators.csv. The
exclusion counts come from the private shadow tables, which Spark does not
read: those columns are left empty.
"""

import csv
import json
import math
import os
import sys

from pyspark.sql import SparkSession
from pyspark.sql import types as T

COLUMNS = [
    "indicator", "value", "unit", "label", "pipeline", "stale_since", "rows_rejected",
    "rows_duplicate", "rows_out_of_period", "cells_excluded", "commune", "period",
]


def plain_number(v):
    """As tonghop writes a figure: integers without '.0', others in full."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    r = repr(float(v))
    return r if "e" not in r else format(v, "f")


def main(out, master):
    spec = json.load(open(os.path.join(out, "spark", "queries.json"), encoding="utf-8"))
    spark = (
        SparkSession.builder.master(master)
        .appName("tonghop-province")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Defaults for a province; spark/national.sh raises them through the environment.
        .config("spark.executor.memory", os.environ.get("TONGHOP_SPARK_EXECUTOR_MEMORY", "3g"))
        .config("spark.executor.cores", "1")
        .config("spark.sql.shuffle.partitions", os.environ.get("TONGHOP_SPARK_SHUFFLE_PARTITIONS", "16"))
        .config("spark.sql.session.timeZone", "UTC")
        # `commune=03637` stays the text 03637 (inference would read 3637).
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    fields = []
    for c in spec["columns"]:
        if c in ("__commune", "__period"):
            fields.append(T.StructField(c, T.StringType()))
        elif c in ("__from", "__to"):
            fields.append(T.StructField(c, T.DateType()))
        elif c.startswith("__target_"):
            fields.append(T.StructField(c, T.DoubleType()))
        elif c.startswith("__param_"):
            kind = spec.get("param_types", {}).get(c, "string")
            fields.append(T.StructField(c, {"date": T.DateType(), "double": T.DoubleType()}.get(kind, T.StringType())))
        else:
            fields.append(T.StructField(c, T.BooleanType()))
    schema = T.StructType(fields)
    for name, file in (("__communes", "communes.csv"), ("__provinces", "provinces.csv")):
        (spark.read.option("header", True).schema(schema)
         .csv(os.path.join(out, "spark", file)).createOrReplaceTempView(name))
    missing = set()
    for v in spec["views"]:
        path = os.path.join(out, v["path"])
        if not os.path.isdir(path):
            missing.add(v["view"])
            continue
        spark.read.option("basePath", path).parquet(path).createOrReplaceTempView(v["view"])
        spark.sql(v["province_sql"]).createOrReplaceTempView(v["province_view"])
    parts = []
    meta = {}
    for q in spec["queries"]:
        meta[q["indicator"]] = q
        for scope in ("commune_sql", "province_sql"):
            sql = q.get(scope)
            if not sql:
                print(f"spark: {q['indicator']}: not rewritten: {q.get('error')}", file=sys.stderr)
                continue
            ind = q["indicator"].replace("'", "''")
            parts.append(
                f"SELECT '{ind}' AS indicator, commune, period, CAST(value AS DOUBLE) AS value FROM ({sql})"
            )
    if missing:
        print(f"spark: no public table for {sorted(missing)}: their figures stay empty", file=sys.stderr)
        parts = [p for p in parts if not any(f" {m} " in p or f" {m}__province " in p for m in missing)]
    rows = spark.sql(" UNION ALL ".join(parts)).collect() if parts else []
    # Breakdowns: one row per commune (or province period) and member with rows.
    bparts = []
    for b in spec.get("breakdowns", []):
        for scope in ("commune_sql", "province_sql"):
            sql = b.get(scope)
            if not sql:
                if b.get("error"):
                    print(f"spark: {b['breakdown']} (by {b['by']}): not rewritten: {b['error']}", file=sys.stderr)
                continue
            if any(f" {m} " in sql or f" {m}__province " in sql for m in missing):
                continue
            bid = b["breakdown"].replace("'", "''")
            by = b["by"].replace("'", "''")
            bparts.append(
                f"SELECT '{bid}' AS breakdown, '{by}' AS by, member, commune, period, CAST(value AS DOUBLE) AS value FROM ({sql})"
            )
    brows = spark.sql(" UNION ALL ".join(bparts)).collect() if bparts else []
    spark.stop()
    btarget = os.path.join(out, "spark", "breakdowns.csv")
    with open(btarget + ".tmp", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["breakdown", "by", "member", "commune", "period", "value"])
        for r in sorted(brows, key=lambda r: (r["breakdown"], r["by"], r["commune"], r["period"], r["member"] or "")):
            w.writerow([r["breakdown"], r["by"], r["member"] or "", r["commune"], r["period"], plain_number(r["value"])])
    os.replace(btarget + ".tmp", btarget)
    print(f"spark: {len(brows)} breakdown rows -> {btarget}")
    order = {q["indicator"]: i for i, q in enumerate(spec["queries"])}
    province = {r["__commune"] for r in csv.DictReader(open(os.path.join(out, "spark", "provinces.csv"), encoding="utf-8"))}
    rows.sort(key=lambda r: (r["commune"] in province, r["period"] if r["commune"] in province else "",
                             r["commune"], order[r["indicator"]]))
    target = os.path.join(out, "spark", "indicators.csv")
    with open(target + ".tmp", "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            q = meta[r["indicator"]]
            w.writerow([r["indicator"], plain_number(r["value"]), q["unit"], q["label"], q["pipeline"],
                        "", "", "", "", "", r["commune"], r["period"]])
    os.replace(target + ".tmp", target)
    print(f"spark: {len(rows)} figures ({len(spec['queries'])} indicators) -> {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: driver.py OUT MASTER")
    main(sys.argv[1], sys.argv[2])
