#!/usr/bin/env bash
# System packages chatforensics needs beyond Python: unzip and openssl (Elasticsearch), Pango and HarfBuzz's
# subsetter for WeasyPrint (PDF reports), a CJK font (Chinese in PDFs and pages) and, for the test suite,
# headless Chromium (the report safety test).
#   scripts/sysdeps.sh demo|test
# Installs what is missing when it can (root with apt-get, as on CI and fresh Debian machines);
# otherwise prints the command to run and exits 1.
set -u  # no pipefail: `grep -q` closes the pipe early on purpose
purpose="${1:-test}"

missing() {
  local out=()
  command -v unzip >/dev/null 2>&1 || out+=(unzip)  # scripts/elasticsearch.sh unpacks the node with it
  command -v openssl >/dev/null 2>&1 || out+=(openssl)  # ... and makes the secured node's certificates with it
  ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so' || out+=(libpango-1.0-0)
  ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so' || out+=(libpangoft2-1.0-0)
  # WeasyPrint subsets fonts with it; without it, fontTools and a warning per font on every --pdf run
  ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset.so' || out+=(libharfbuzz-subset0)
  fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || out+=(fonts-noto-cjk)
  if [ "$purpose" = test ]; then
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || out+=(chromium)
  fi
  echo "${out[@]:-}"
}

need=$(missing)
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: installing $need" >&2
  # shellcheck disable=SC2086 # one word per package
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  need=$(missing)
  [ -z "$need" ] && exit 0
fi
echo "missing system packages: $need" >&2
echo "install them (Debian/Ubuntu, as root): apt-get update && apt-get install -y $need" >&2
exit 1
