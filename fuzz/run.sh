#!/usr/bin/env bash
# Run the three fuzz targets for a bounded time each (default 600 s), with the
# corpus of real workbooks as seeds for the reader. Needs cargo-fuzz
# (`cargo install cargo-fuzz`); on a stable toolchain RUSTC_BOOTSTRAP=1 lets
# it pass its -Z flags. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-600}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tonghop-fuzz-target}"
mkdir -p corpus/values corpus/workbook corpus/xlsx_cells
# Seeds: a few hundred real and broken spreadsheets (read in place, copied to the scratch corpus).
if [ -d ../../shared/corpus ] && [ -z "$(ls -A corpus/workbook)" ]; then
  find ../../shared/corpus ../fixtures/inbox -type f -size -300k \( -name '*.xls*' -o -name '*.ods' \) -exec cp {} corpus/workbook/ \; 2>/dev/null || true
fi
# Seeds for the differential target: each fixture's first sheet part, a NUL,
# its shared strings (the target's input format).
if [ -z "$(ls -A corpus/xlsx_cells)" ]; then
  python3 - ../fixtures corpus/xlsx_cells <<'PY'
import pathlib, sys, zipfile
out = pathlib.Path(sys.argv[2])
for i, f in enumerate(sorted(pathlib.Path(sys.argv[1]).rglob("*.xlsx"))):
    try:
        z = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        continue  # the fixtures' mess includes files named .xlsx that are not
    with z:
        names = z.namelist()
        sheet = next((n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")), None)
        if sheet is None:
            continue
        sst = z.read("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in names else b""
        data = z.read(sheet)[:200_000] + b"\0" + sst[:100_000]
        (out / f"seed{i:03}").write_bytes(data)
PY
fi
printf '1.234,5\n' > corpus/values/n; printf '29/02/2012\n' > corpus/values/d; printf '012 190.123-456\n' > corpus/values/i
printf 'M\xc2\xadêng Kim\n' > corpus/values/t; printf 'Tieáng Vieät\n' > corpus/values/v
cargo fuzz run values corpus/values -- -max_total_time="$secs" -rss_limit_mb=2048
# The xls/xlsx readers allocate gigabytes on some inputs (calamine; the
# product reads each workbook in a memory-limited child for this reason), so
# the reader target runs in fork mode and keeps going past out-of-memory
# inputs; they are written to artifacts/workbook/oom-* for the record.
# xlsx_cells against calamine: any difference where it answers is a crash.
# Fork mode: a reference naming a column past 60,000 (r="CrPh18") makes both
# readers build one dense grid; such inputs are skipped, not the end of the run.
cargo fuzz run xlsx_cells corpus/xlsx_cells -- -max_total_time="$secs" -rss_limit_mb=4096 -max_len=400000 -fork=1 -ignore_ooms=1 -ignore_timeouts=1
cargo fuzz run workbook corpus/workbook -- -fork=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$secs" -rss_limit_mb=4096 -timeout=20
