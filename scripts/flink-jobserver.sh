#!/usr/bin/env bash
# Fetch Beam's Flink job server jar (embedded Flink cluster) for the installed apache-beam.
# Prints the jar's path. Cached under ~/.cache/chatforensics; Maven Central only.
# Usage: scripts/flink-jobserver.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
PY=${1:-.venv/bin/python}
CACHE=${CHATFORENSICS_CACHE:-$HOME/.cache/chatforensics}
# The Flink version Beam's Python SDK uses by default (--flink_version), and the SDK's own version.
read -r BEAM FLINK < <("$PY" - <<'PYEOF'
import apache_beam
from apache_beam.options.pipeline_options import FlinkRunnerOptions
print(apache_beam.__version__, FlinkRunnerOptions.PUBLISHED_FLINK_VERSIONS[-1])
PYEOF
)
NAME="beam-runners-flink-${FLINK}-job-server"
JAR="$CACHE/$NAME-$BEAM.jar"
if [[ ! -s "$JAR" ]]; then
  mkdir -p "$CACHE"
  mvn -B -q dependency:copy -Dartifact="org.apache.beam:${NAME}:${BEAM}" -DoutputDirectory="$CACHE" >&2
fi
echo "$JAR"
