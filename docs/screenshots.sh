#!/usr/bin/env bash
# The README's pictures, made from the committed fixtures:
#   docs/img/bao-cao.png   the top of bao-cao.html, in headless Chromium
#   docs/img/phan-hoi.png  a feedback workbook's copy of the department's own
#                          sheet, bad cells filled, as LibreOffice prints it
# Installs chromium (tests/chromium.sh), LibreOffice Calc and poppler with apt
# when they are missing. Run from anywhere: docs/screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

need=()
command -v soffice >/dev/null || need+=(libreoffice-calc-nogui)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y --no-install-recommends "${need[@]}" >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi

cargo build --locked --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$CARGO_TARGET_DIR/debug/tonghop" run --config config/tonghop.toml --out "$tmp/out" >/dev/null 2>&1 || true
[ -s "$tmp/out/bao-cao.html" ] || { echo "the fixture run wrote no bao-cao.html" >&2; exit 1; }
mkdir -p docs/img

# The report: its head, the first department and the start of the next.
bash tests/chromium.sh screenshot "$tmp/out/bao-cao.html" docs/img/bao-cao.png 900,1450

# Feedback for the livestock sheet: one unreadable cell (red) and a total
# that does not add up (yellow), in the sheet's own layout. Page 2 of the
# PDF is that copy (page 1 is the "Hướng dẫn" sheet).
feedback="$tmp/out/private/phan-hoi/Biểu chăn nuôi 6 tháng đầu năm 2026.xlsx"
cp "$feedback" "$tmp/phan-hoi.xlsx"
soffice --headless --norestore "-env:UserInstallation=file://$tmp/lo" \
  --convert-to pdf --outdir "$tmp" "$tmp/phan-hoi.xlsx" >/dev/null 2>&1
pdftoppm -f 2 -l 2 -r 110 -x 60 -y 55 -W 1120 -H 470 -png -singlefile "$tmp/phan-hoi.pdf" docs/img/phan-hoi
ls -l docs/img
