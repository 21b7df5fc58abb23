#!/usr/bin/env python3
"""Benchmark peer: the BHYT job with pandas (`pd.read_excel(engine="calamine")`).

    python3 pandas_calamine.py INBOX_DIR OUT_PARQUET

Reads the first sheet of every workbook under INBOX_DIR/bhyt (recursive),
keeps the data rows, writes one zstd Parquet file (pyarrow) and prints the
distinct persons per beneficiary group as one JSON line.

Choices, as a data team would make them:
* Header: the two-row merged header and the numbering row leave no single
  header row, so `header=None, skiprows=7` (title block, header, numbering)
  and positional `names`.
* Files: one `read_excel` per workbook in a plain loop, then `pd.concat`:
  pandas is single-threaded and this is how it is written in practice; no
  hand-rolled multiprocessing.
* Types: every code column is read as `str` (pandas would otherwise turn
  "1200000000" text into floats); a numeric personal ID arrives as
  "12079000000" and gets `zfill(12)`. Birth date arrives as a datetime
  (real Excel date) or as "dd/mm/yyyy" text; each kind is parsed on its own.
"""

import json
import sys
from pathlib import Path

import pandas as pd

COLUMNS = [
    "tt", "ho_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "ma_the_bhyt",
    "ma_so_bhxh", "ban", "doi_tuong", "han_the_tu", "han_the_den", "ghi_chu",
]
ROWS_ABOVE_DATA = 7  # 2 title rows, merged title, blank, 2 header rows, numbering
TEXT = {c: str for c in ("so_dinh_danh", "ma_the_bhyt", "ma_so_bhxh", "han_the_tu",
                         "han_the_den", "ghi_chu")}
GROUP_OF_PREFIX = {"DT": "ethnic_minority", "HN": "poor_near_poor", "CN": "poor_near_poor",
                   "BT": "social_protection"}
GROUPS = ["ethnic_minority", "poor_near_poor", "social_protection", "other"]


def read_workbook(path: Path) -> pd.DataFrame:
    df = pd.read_excel(
        path,
        sheet_name=0,
        engine="calamine",
        header=None,
        skiprows=ROWS_ABOVE_DATA,
        names=COLUMNS,
        dtype={**TEXT, "ngay_sinh": object},
    )
    # Data rows carry a row number in TT; subtotals, totals, footer do not.
    df = df[pd.to_numeric(df["tt"], errors="coerce").notna()]
    return df.assign(source_file=str(path))


def main(inbox: Path, out: Path) -> None:
    files = sorted((inbox / "bhyt").rglob("*.xlsx"))
    if not files:
        raise SystemExit(f"no workbook under {inbox / 'bhyt'}")
    persons = pd.concat([read_workbook(f) for f in files], ignore_index=True)

    persons["tt"] = persons["tt"].astype("int64")
    born = persons["ngay_sinh"]
    is_text = born.map(lambda v: isinstance(v, str))
    persons["ngay_sinh"] = (
        pd.to_datetime(born.where(~is_text))
        .fillna(pd.to_datetime(born.where(is_text), format="%d/%m/%Y"))
        .astype("date32[pyarrow]")
    )
    if persons["ngay_sinh"].isna().any():
        raise SystemExit(f"{persons['ngay_sinh'].isna().sum()} birth dates did not parse")
    persons["so_dinh_danh"] = persons["so_dinh_danh"].str.zfill(12)
    persons["nhom_doi_tuong"] = (
        persons["ma_the_bhyt"].str[:2].map(GROUP_OF_PREFIX).fillna("other")
    )

    persons.to_parquet(out, compression="zstd", index=False)

    counts = persons.groupby("nhom_doi_tuong")["so_dinh_danh"].nunique()
    result = {"total": int(persons["so_dinh_danh"].nunique())}
    result.update({g: int(counts.get(g, 0)) for g in GROUPS})
    print(json.dumps(result))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} INBOX_DIR OUT_PARQUET")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
