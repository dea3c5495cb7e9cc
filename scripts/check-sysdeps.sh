#!/usr/bin/env bash
# System packages the reports need: Pango for WeasyPrint (PDF), a CJK font (Chinese in PDFs and pages),
# and headless Chromium (the report safety test). Prints how to install what is missing; exit 1 if any is.
set -u  # no pipefail: `grep -q` closes the pipe early on purpose
missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || missing+=(libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || missing+=(fonts-noto-cjk)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing system packages: ${missing[*]}" >&2
  echo "install them (Debian/Ubuntu, as root): apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
