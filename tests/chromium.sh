#!/usr/bin/env bash
# Headless Chromium for the HTML report's tests and the README pictures.
#
#   tests/chromium.sh screenshot PAGE.html OUT.png [WIDTH,HEIGHT]
#   tests/chromium.sh pdf PAGE.html OUT.pdf
#
# Installs Debian's chromium (and a font with Vietnamese glyphs) with apt
# when it is missing: CI machines start without it. Every run gets a fresh
# profile, and the flags below keep Chromium's own background traffic off
# (the page's self-containedness is checked by the HTML test, not here).
set -euo pipefail

# (grep without -q: under pipefail an early exit could fail fc-list on SIGPIPE)
want() { command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep "DejaVuSans\|NotoSans-" >/dev/null; }
if ! want; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "chromium is missing and apt needs root" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  pkgs=(chromium fonts-dejavu-core fontconfig)
  $sudo apt-get install -y --no-install-recommends "${pkgs[@]}" >/tmp/tonghop-chromium-apt.log 2>&1 \
    || { $sudo apt-get update >>/tmp/tonghop-chromium-apt.log 2>&1 \
         && $sudo apt-get install -y --no-install-recommends "${pkgs[@]}" >>/tmp/tonghop-chromium-apt.log 2>&1; } \
    || { echo "cannot install chromium; see /tmp/tonghop-chromium-apt.log" >&2; tail -5 /tmp/tonghop-chromium-apt.log >&2; exit 1; }
fi

what=${1:?screenshot or pdf}
page=$(realpath "${2:?page}")
out=${3:?output file}
size=${4:-900,2000}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# The flags that keep it off this machine's closed network.
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --disable-extensions --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$profile")
case "$what" in
  screenshot) chromium "${flags[@]}" --window-size="$size" --screenshot="$out" "file://$page" ;;
  pdf) chromium "${flags[@]}" --no-pdf-header-footer --print-to-pdf="$out" "file://$page" ;;
  *) echo "unknown: $what" >&2; exit 2 ;;
esac >/dev/null 2>"$profile/log" || { cat "$profile/log" >&2; exit 1; }
[ -s "$out" ] || { echo "chromium wrote nothing to $out" >&2; cat "$profile/log" >&2; exit 1; }
