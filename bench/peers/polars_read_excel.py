#!/usr/bin/env python3
"""Benchmark peer: the BHYT job with polars (`pl.read_excel`, calamine engine).

    python3 polars_read_excel.py INBOX_DIR OUT_PARQUET

Reads the first sheet of every workbook under INBOX_DIR/bhyt (recursive),
keeps the data rows, writes one zstd Parquet file and prints the distinct
persons per beneficiary group as one JSON line.

Choices, as a data team would make them:
* Header: the sheet has a two-row merged header ("Hạn thẻ" over "Từ ngày" /
  "Đến ngày") and a numbering row under it, so no single row names the
  columns. We skip the 7 rows above the data (title block, header, numbering)
  and give positional names.
* Files: one `pl.read_excel` call on a recursive glob. Polars reads the
  workbooks one after another (it concatenates the frames); the parsing itself
  is fastexcel/calamine in Rust. No hand-rolled multiprocessing.
* Types: the columns that mix kinds of cells are read as text and parsed
  here: birth date (real Excel date or "dd/mm/yyyy" text), personal ID (text,
  or a number that lost its leading zero).
"""

import json
import sys
from pathlib import Path

import polars as pl

COLUMNS = [
    "tt", "ho_ten", "ngay_sinh", "gioi_tinh", "so_dinh_danh", "ma_the_bhyt",
    "ma_so_bhxh", "ban", "doi_tuong", "han_the_tu", "han_the_den", "ghi_chu",
]
ROWS_ABOVE_DATA = 7  # 2 title rows, merged title, blank, 2 header rows, numbering
TEXT = {c: "string" for c in ("ngay_sinh", "so_dinh_danh", "ma_the_bhyt", "ma_so_bhxh",
                              "han_the_tu", "han_the_den", "ghi_chu")}
GROUPS = ["ethnic_minority", "poor_near_poor", "social_protection", "other"]


READ_OPTIONS = {
    "header_row": None,
    "skip_rows": ROWS_ABOVE_DATA,
    "column_names": COLUMNS,
    "dtypes": TEXT,
}


def persons_of(raw: pl.DataFrame) -> pl.DataFrame:
    """The data rows of the concatenated sheets, typed."""
    born = pl.col("ngay_sinh")
    persons = (
        raw.lazy()
        # Data rows carry a row number in TT; subtotals, totals, footer do not.
        .filter(pl.col("tt").cast(pl.Int64, strict=False).is_not_null())
        .with_columns(
            pl.col("tt").cast(pl.Int64),
            # A real date cell arrives as "1979-08-23 00:00:00", text as "23/08/1979".
            pl.coalesce(
                born.str.to_date("%d/%m/%Y", strict=False),
                born.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False).dt.date(),
            ).alias("ngay_sinh"),
            pl.col("so_dinh_danh").str.zfill(12),
            pl.col("ma_the_bhyt")
            .str.slice(0, 2)
            .replace_strict(
                {"DT": "ethnic_minority", "HN": "poor_near_poor", "CN": "poor_near_poor",
                 "BT": "social_protection"},
                default="other",
            )
            .alias("nhom_doi_tuong"),
        )
        .collect()
    )
    if persons["ngay_sinh"].null_count():
        raise SystemExit(f"{persons['ngay_sinh'].null_count()} birth dates did not parse")
    return persons


def finish(persons: pl.DataFrame, out: Path) -> None:
    """One zstd Parquet file, and the distinct persons by group as a JSON line."""
    persons.write_parquet(out, compression="zstd")
    by_group = persons.group_by("nhom_doi_tuong").agg(pl.col("so_dinh_danh").n_unique())
    counts = {g: 0 for g in GROUPS}
    counts.update(dict(by_group.iter_rows()))
    print(json.dumps({"total": persons["so_dinh_danh"].n_unique(), **counts}))


def main(inbox: Path, out: Path) -> None:
    raw = pl.read_excel(
        str(inbox / "bhyt" / "**" / "*.xlsx"),
        sheet_id=1,
        read_options=READ_OPTIONS,
        include_file_paths="source_file",
    )
    finish(persons_of(raw), out)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(f"usage: {sys.argv[0]} INBOX_DIR OUT_PARQUET")
    main(Path(sys.argv[1]), Path(sys.argv[2]))
