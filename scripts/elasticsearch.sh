#!/usr/bin/env bash
# Run a real single-node Elasticsearch for tests and demos, without Docker and
# without internet access: the distribution comes from Maven Central via mvn.
#
#   scripts/elasticsearch.sh start|stop|status|url|fetch
#   (fetch only downloads and unpacks, e.g. to warm a CI cache)
#
# Environment (all optional):
#   ES_VERSION          distribution version (default below)
#   ES_PORT             HTTP port on 127.0.0.1 (default 9200)
#   ES_JAVA_OPTS        JVM options (default: 512 MiB heap)
#   ES_JAVA_HOME        JDK to run it with (default: newest JDK >= 21 in /usr/lib/jvm)
#   CHATFORENSICS_CACHE cache root, kept outside the repo (default ~/.cache/chatforensics)
#   ES_USER             unprivileged user used when run as root (default chatforensics-es)
set -euo pipefail

# 9.5.4 is the newest 9.x whose minimal zip Maven Central serves here
# (9.5.5, 9.5.6 and 9.6.0 are not published under this coordinate).
ES_VERSION="${ES_VERSION:-9.5.4}"
ES_PORT="${ES_PORT:-9200}"
export ES_JAVA_OPTS="${ES_JAVA_OPTS:--Xms512m -Xmx512m}"
ES_USER="${ES_USER:-chatforensics-es}"

CACHE_DIR="${CHATFORENSICS_CACHE:-$HOME/.cache/chatforensics}/elasticsearch"
ES_HOME="$CACHE_DIR/elasticsearch-$ES_VERSION"
# One runtime dir per port, so nodes on different ports never share a data dir.
NODE_DIR="$CACHE_DIR/node-$ES_PORT"
PID_FILE="$NODE_DIR/elasticsearch.pid"
LOG_FILE="$NODE_DIR/logs/chatforensics.log"   # <cluster.name>.log
LAUNCHER_OUT="$NODE_DIR/logs/launcher.out"
URL="http://127.0.0.1:$ES_PORT"
# "integ-test-zip" is the only distribution Maven Central has: ~130 MB, no
# bundled JDK, and only the server plus the security/transport modules. So the
# core index/bulk/search/aggregation/mapping APIs work, but not GET / or HEAD /
# (the Python client's info() and ping()), _delete_by_query/_update_by_query/
# _reindex, painless scripts, ingest processors, or analysis-common analyzers
# and filters (english, asciifolding, ...). docker-compose.yml has them all.
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip"
START_TIMEOUT=120

log() { echo "elasticsearch.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Prints the node's version if something answers on the port, else fails.
# (Not via GET /: that endpoint lives in a module the minimal zip lacks.)
node_version() {
    curl -fsS --max-time 5 "$URL/_cat/nodes?h=version" 2>/dev/null | head -n1 | grep .
}

pid_alive() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

# Major version of the JDK at $1 (from its `release` file, else `java -version`).
jdk_major() {
    local v=""
    if [[ -f "$1/release" ]]; then
        v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release")
    fi
    if [[ -z "$v" && -x "$1/bin/java" ]]; then
        v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
    fi
    v="${v#1.}"   # "1.8.0" -> 8
    echo "${v%%[.+-]*}"
}

# ES 9 needs Java 21+; the machine default may be older, so look for one.
pick_jdk() {
    if [[ -n "${ES_JAVA_HOME:-}" ]]; then
        [[ -x "$ES_JAVA_HOME/bin/java" ]] || die "ES_JAVA_HOME=$ES_JAVA_HOME has no bin/java"
        (( $(jdk_major "$ES_JAVA_HOME") >= 21 )) || die "ES_JAVA_HOME=$ES_JAVA_HOME is older than Java 21"
        echo "$ES_JAVA_HOME"; return
    fi
    local best="" best_major=0 dir major
    for dir in /usr/lib/jvm/*/; do
        dir="${dir%/}"
        [[ -x "$dir/bin/java" ]] || continue
        major=$(jdk_major "$dir")
        if [[ "$major" =~ ^[0-9]+$ ]] && (( major >= 21 && major > best_major )); then
            best="$dir"; best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "no JDK >= 21 found under /usr/lib/jvm; install one (e.g. apt-get install openjdk-21-jdk-headless) or set ES_JAVA_HOME"
    echo "$best"
}

# Download and unpack the distribution once; later runs reuse the cache.
fetch() {
    [[ -x "$ES_HOME/bin/elasticsearch" ]] && return
    command -v mvn >/dev/null || die "mvn is needed to fetch Elasticsearch from Maven Central"
    command -v unzip >/dev/null || die "unzip is needed to unpack Elasticsearch"
    log "fetching Elasticsearch $ES_VERSION from Maven Central (~130 MB)..."
    local tmp
    tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
    # Plugin version pinned: Maven 3.8's default (2.8) can't copy by -Dartifact.
    # sed: Debian's Maven 3.8 prints colour resets even when told not to.
    if ! mvn -q -B -Dstyle.color=never \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" 2>&1 \
            | sed 's/\x1b\[[0-9;]*m//g' >&2; then
        rm -rf "$tmp"
        die "could not fetch $ARTIFACT (see the mvn error above; is ES_VERSION=$ES_VERSION on Maven Central?)"
    fi
    unzip -q "$tmp/elasticsearch-$ES_VERSION.zip" -d "$tmp"
    # Rename into place only when complete, so an interrupted fetch is retried.
    mv "$tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
    rm -rf "$tmp"   # the zip also stays in ~/.m2
}

# Elasticsearch refuses to run as root, so root runs it as a system user.
ensure_user() {
    if ! id -u "$ES_USER" >/dev/null 2>&1; then
        log "creating system user $ES_USER"
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$ES_USER"
    fi
    # The cache usually lives in /root (mode 700): grant traverse-only (x)
    # where that user lacks it, top-down; no listing, no reading.
    local d="" part parts
    IFS=/ read -ra parts <<<"${CACHE_DIR#/}"
    for part in "${parts[@]}"; do
        d="$d/$part"
        if ! runuser -u "$ES_USER" -- test -x "$d"; then
            log "granting o+x on $d so $ES_USER can reach the cache"
            chmod o+x "$d"
        fi
    done
}

# Runs a command as the node's user: ourselves, or $ES_USER when root.
as_node_user() {
    if (( EUID == 0 )); then
        runuser -u "$ES_USER" -- "$@"
    else
        "$@"
    fi
}

cmd_start() {
    local version
    if version=$(node_version); then
        log "a node already answers on $URL (version $version); nothing to do"
        echo "$URL"; return
    fi

    mkdir -p "$CACHE_DIR"
    fetch
    local java_home
    java_home=$(pick_jdk)

    # Fresh config each start (the distribution's defaults + ours), in the
    # node dir because the node writes its keystore next to its config.
    rm -rf "$NODE_DIR/config"
    mkdir -p "$NODE_DIR/data" "$NODE_DIR/logs"
    cp -r "$ES_HOME/config" "$NODE_DIR/config"
    cat >"$NODE_DIR/config/elasticsearch.yml" <<EOF
# Written by scripts/elasticsearch.sh on each start; edits are lost.
cluster.name: chatforensics
node.name: chatforensics-node
# One node, loopback only: no cluster formation, and the production
# bootstrap checks (e.g. vm.max_map_count) are not enforced.
discovery.type: single-node
network.host: 127.0.0.1
http.port: $ES_PORT
path.data: $NODE_DIR/data
path.logs: $NODE_DIR/logs
# Test machines often have nearly full disks: never block writes for that.
cluster.routing.allocation.disk.threshold_enabled: false
# Let tests clean up with wildcard index deletes.
action.destructive_requires_name: false
# The zip ships the security module, enabled by default; with no users set up
# every request would get 401. Local test/demo node only.
xpack.security.enabled: false
EOF
    rm -f "$PID_FILE"
    if (( EUID == 0 )); then
        ensure_user
        chown -R "$ES_USER:" "$NODE_DIR"
    fi

    log "starting Elasticsearch $ES_VERSION on $URL (JDK $java_home, $ES_JAVA_OPTS)"
    # cd: the JVM writes gc logs and heap dumps to its working directory.
    # -d daemonises; the launcher returns once the node has started or failed.
    # Its console copy of the startup log is noise unless it fails (-q is
    # refused with -d), so it goes to a file.
    if ! (cd "$NODE_DIR/logs" && as_node_user env \
            ES_JAVA_HOME="$java_home" ES_PATH_CONF="$NODE_DIR/config" \
            ES_JAVA_OPTS="$ES_JAVA_OPTS" \
            "$ES_HOME/bin/elasticsearch" -d -p "$PID_FILE") >"$LAUNCHER_OUT" 2>&1; then
        fail_start "the launcher exited with an error"
    fi

    # Wait until the cluster can serve requests (yellow = primaries assigned).
    local deadline=$((SECONDS + START_TIMEOUT))
    until curl -fsS --max-time 10 -o /dev/null \
            "$URL/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null; do
        pid_alive || fail_start "the node exited during startup"
        (( SECONDS < deadline )) || fail_start "no healthy answer within ${START_TIMEOUT}s"
        sleep 1
    done
    log "Elasticsearch $(node_version) is up at $URL (pid $(cat "$PID_FILE"))"
    echo "$URL"
}

fail_start() {
    log "start failed: $1"
    # Don't leave a half-started node behind for the next start to mistake
    # for a healthy one.
    if pid_alive; then kill "$(cat "$PID_FILE")" 2>/dev/null || true; fi
    # The launcher's output has the fatal error; the node log has the rest.
    # Stack frames are dropped so the cause ("Address already in use", ...)
    # stays in view.
    local f
    for f in "$LAUNCHER_OUT" "$LOG_FILE"; do
        if [[ -s "$f" ]]; then
            log "last lines of $f (stack frames omitted):"
            grep -Ev '^[[:space:]]+(at |\.\.\. [0-9]+ more)' "$f" | tail -n 25 >&2
            break
        fi
    done
    log "full log: $LOG_FILE"
    exit 1
}

cmd_stop() {
    if ! pid_alive; then
        rm -f "$PID_FILE"
        if node_version >/dev/null; then
            die "a node answers on $URL but was not started from $NODE_DIR; not stopping it"
        fi
        log "not running"; return
    fi
    local pid
    pid=$(cat "$PID_FILE")
    log "stopping Elasticsearch (pid $pid)"
    kill "$pid"
    # SIGTERM lets it flush and release its data dir lock; give it a minute.
    local deadline=$((SECONDS + 60))
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            log "still running after 60s; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
        sleep 1
    done
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local health
    if ! health=$(curl -fsS --max-time 10 "$URL/_cluster/health?pretty" 2>/dev/null); then
        log "no Elasticsearch answers on $URL"
        exit 1
    fi
    echo "Elasticsearch $(node_version) at $URL"
    echo "$health"
}

# Serialise start/stop so concurrent callers (e.g. parallel test jobs)
# don't launch two nodes on one data dir.
lock() {
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock-$ES_PORT"
    flock 9
}

main() {
    case "${1:-}" in
        start)  lock; cmd_start ;;
        stop)   lock; cmd_stop ;;
        status) cmd_status ;;
        url)    echo "$URL" ;;
        fetch)  lock; fetch; echo "$ES_HOME" ;;
        *)      echo "usage: $0 start|stop|status|url|fetch" >&2; exit 2 ;;
    esac
}

main "$@"
