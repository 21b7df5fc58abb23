#!/usr/bin/env python3
"""Benchmark peer: the polars job of `polars_read_excel.py`, one workbook per
process in a pool of as many processes as the machine has cores.

    python3 polars_pool.py INBOX_DIR OUT_PARQUET

`pl.read_excel` on a glob reads the workbooks one after another; a data team
with a 2-core server and many files would hand them to a process pool
(`concurrent.futures.ProcessPoolExecutor`, the standard library's). Each
worker reads one workbook (fastexcel/calamine, as the sequential peer) and
returns its frame; the parent concatenates them and does exactly what the
sequential peer does (same filter, types, Parquet and counts). The workers'
memory is part of the measured process tree.
"""

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl

from polars_read_excel import READ_OPTIONS, finish, persons_of


def read_one(path: str) -> pl.DataFrame:
    return pl.read_excel(path, sheet_id=1, read_options=READ_OPTIONS).with_columns(
        pl.lit(path).alias("source_file")
    )


def main(inbox: Path, out: Path) -> None:
    files = sorted(str(p) for p in (inbox / "bhyt").rglob("*.xlsx"))
    if not files:
        raise SystemExit(f"no workbook under {inbox / 'bhyt'}")
    workers = min(len(files), len(os.sched_getaffinity(0)))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        frames = list(pool.map(read_one, files))
    finish(persons_of(pl.concat(frames)), out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} INBOX_DIR OUT_PARQUET")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
