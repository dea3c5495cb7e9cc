#!/usr/bin/env bash
# Beam's portable Flink job server (an embedded local Flink cluster), assembled from Maven Central.
#
# The Maven registry reached here serves no shaded beam-runners-flink-*-job-server jar, so this resolves
# the plain runner jar (org.apache.beam:beam-runners-flink-1.19) with its dependencies into a cache and
# runs org.apache.beam.runners.flink.FlinkJobServerDriver on that classpath. A manifest-only launcher jar
# (Main-Class + Class-Path) makes the classpath usable as `java -jar`, so it also serves as
# `--flink_job_server_jar` for Beam's Python FlinkRunner.
#
# Usage: scripts/flink-jobserver.sh fetch          resolve the classpath (cached); print the launcher jar
#        scripts/flink-jobserver.sh start [PORT]   start a job server (a free port by default); print its endpoint
#        scripts/flink-jobserver.sh stop           stop the job server that `start` started
#        scripts/flink-jobserver.sh status
# CHATFORENSICS_FLINK_STATE: folder for the running server's pid, port and log (one server per folder).
set -euo pipefail

# The newest Beam whose Flink runner resolves here with all its dependencies; beam-runners-java-job-service
# is served in 2.65.0 only (2.66-2.75 are missing) and runs the 2.70 runner (tests/integration/test_flink.py).
BEAM=2.70.0
FLINK=1.19
JOB_SERVICE=2.65.0
CACHE=${CHATFORENSICS_CACHE:-$HOME/.cache/chatforensics}/flink/beam-$BEAM-flink-$FLINK
LAUNCHER=$CACHE/launcher.jar
STATE=${CHATFORENSICS_FLINK_STATE:-$CACHE/run}
JAVA_OPTS=${CHATFORENSICS_FLINK_JAVA_OPTS:--Xmx1g}
START_TIMEOUT=120

die() { echo "flink-jobserver: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "'$1' not found: install a JDK 11/17 and Maven (apt-get install openjdk-17-jdk-headless maven)"; }

write_pom() {
  cat >"$CACHE/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.chatforensics</groupId>
  <artifactId>flink-jobserver-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.beam</groupId>
      <artifactId>beam-runners-flink-$FLINK</artifactId>
      <version>$BEAM</version>
      <exclusions>
        <exclusion><groupId>org.apache.beam</groupId><artifactId>beam-runners-java-job-service</artifactId></exclusion>
      </exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.beam</groupId>
      <artifactId>beam-runners-java-job-service</artifactId>
      <version>$JOB_SERVICE</version>
      <exclusions><exclusion><groupId>*</groupId><artifactId>*</artifactId></exclusion></exclusions>
    </dependency>
    <dependency>
      <groupId>org.apache.beam</groupId>
      <artifactId>beam-sdks-java-expansion-service</artifactId>
      <version>$BEAM</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>2.0.16</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# Manifest lines are limited to 72 bytes: Class-Path is folded into continuation lines (leading space).
write_launcher() {
  local manifest=$CACHE/manifest.txt jars
  jars=$(cd "$CACHE/lib" && printf 'lib/%s ' *.jar)
  {
    echo "Main-Class: org.apache.beam.runners.flink.FlinkJobServerDriver"
    printf 'Class-Path: %s\n' "$jars" | fold -b -w 70 | sed '2,$s/^/ /'
  } >"$manifest"
  jar --create --file "$LAUNCHER.tmp" --manifest "$manifest"
  mv "$LAUNCHER.tmp" "$LAUNCHER"
}

# The launcher is written last, so its presence means the classpath is complete.
fetch() {
  if [[ ! -s $LAUNCHER ]]; then
    need java; need jar; need mvn
    mkdir -p "$CACHE"
    write_pom
    rm -rf "${CACHE:?}/lib"
    echo "flink-jobserver: resolving Beam $BEAM Flink $FLINK runner from Maven into $CACHE" >&2
    if ! mvn -B -f "$CACHE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$CACHE/lib" \
        >"$CACHE/mvn.log" 2>&1; then
      grep -E '^\[ERROR\]' "$CACHE/mvn.log" | head -5 >&2 || true
      die "could not resolve org.apache.beam:beam-runners-flink-$FLINK:$BEAM and its dependencies; log: $CACHE/mvn.log"
    fi
    write_launcher
  fi
  echo "$LAUNCHER"
}

running() {
  [[ -f $STATE/pid ]] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null \
    && ps -o args= -p "$(cat "$STATE/pid")" | grep -q -- "$LAUNCHER"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if running; then
    echo "localhost:$(cat "$STATE/port")"
    return
  fi
  fetch >/dev/null
  local port=${1:-$(free_port)} pid waited=0
  mkdir -p "$STATE"
  # shellcheck disable=SC2086  # JAVA_OPTS is a list of JVM flags
  java $JAVA_OPTS -jar "$LAUNCHER" --flink-master='[local]' --job-port "$port" --artifact-port 0 \
    --expansion-port 0 --artifacts-dir "$STATE/artifacts" </dev/null >"$STATE/jobserver.log" 2>&1 &
  pid=$!
  echo "$pid" >"$STATE/pid"
  echo "$port" >"$STATE/port"
  until listening "$port"; do
    kill -0 "$pid" 2>/dev/null || { tail -20 "$STATE/jobserver.log" >&2; die "job server exited; log: $STATE/jobserver.log"; }
    (( waited++ < START_TIMEOUT )) || { kill "$pid"; die "job server not listening on $port after ${START_TIMEOUT}s"; }
    sleep 1
  done
  echo "localhost:$port"
}

stop() {
  if running; then
    local pid
    pid=$(cat "$STATE/pid")
    kill "$pid"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$STATE/pid" "$STATE/port"
}

status() {
  if running; then echo "running at localhost:$(cat "$STATE/port") (pid $(cat "$STATE/pid"))"; else echo "not running"; return 3; fi
}

case ${1:-} in
  fetch) fetch ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 fetch|start [PORT]|stop|status" ;;
esac
