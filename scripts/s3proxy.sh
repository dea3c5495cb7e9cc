#!/usr/bin/env bash
# A real S3-compatible server for tests and demos: s3proxy (gaul/s3proxy) on 127.0.0.1, storing buckets
# as folders on local disk, fetched from Maven Central with mvn like Elasticsearch (no Docker, nothing
# downloaded at run time of the tool).
#
#   scripts/s3proxy.sh fetch|start|stop|status|env
#   (fetch only downloads, e.g. to warm a CI cache; env prints the path of the file with the endpoint and
#   the test credentials, which tests/conftest.py reads)
#
# s3proxy runs with the `filesystem-nio2` jclouds provider: `filesystem` lists every folder of its store as
# an object of its own without an ETag (`x/folder/`), and Beam's S3 client fails on such a listing
# (KeyError: 'ETag', retried with backoff for minutes). Current boto3 sends checksum headers s3proxy does
# not know: uploads need AWS_REQUEST_CHECKSUM_CALCULATION=when_required and ranged GETs
# AWS_RESPONSE_CHECKSUM_VALIDATION=when_required (else `501 NotImplemented`); the env file sets both.
#
# Environment (all optional):
#   S3PROXY_VERSION     s3proxy version (default below)
#   S3PROXY_PORT        HTTP port on 127.0.0.1 (default 9400)
#   S3PROXY_JAVA        java binary (default: java on PATH; s3proxy 2.6 needs Java 17 or newer)
#   CHATFORENSICS_CACHE cache root, kept outside the repo (default ~/.cache/chatforensics)
set -euo pipefail

S3PROXY_VERSION="${S3PROXY_VERSION:-2.6.0}"
S3PROXY_PORT="${S3PROXY_PORT:-9400}"
JAVA="${S3PROXY_JAVA:-java}"
ARTIFACT="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies"
CACHE_DIR="${CHATFORENSICS_CACHE:-$HOME/.cache/chatforensics}/s3proxy"
JAR="$CACHE_DIR/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar"
NODE_DIR="$CACHE_DIR/node-$S3PROXY_PORT"
PID_FILE="$NODE_DIR/s3proxy.pid"
LOG_FILE="$NODE_DIR/s3proxy.log"
ENV_FILE="$NODE_DIR/s3.env"
ENDPOINT="http://127.0.0.1:$S3PROXY_PORT"
START_TIMEOUT=60

log() { echo "s3proxy.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

fetch() {
    [[ -s "$JAR" ]] && return
    command -v mvn >/dev/null || die "mvn is needed to fetch s3proxy from Maven Central"
    mkdir -p "$CACHE_DIR"
    log "fetching s3proxy $S3PROXY_VERSION from Maven Central (~40 MB)..."
    local tmp
    tmp=$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")
    if ! mvn -q -B -Dstyle.color=never \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
            -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" 2>&1 \
            | sed 's/\x1b\[[0-9;]*m//g' >&2; then
        rm -rf "$tmp"
        die "could not fetch $ARTIFACT (see the mvn error above)"
    fi
    mv "$tmp/$(basename "$JAR")" "$JAR"   # into place only when complete
    rm -rf "$tmp"
}

pid_alive() {
    [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null \
        && ps -o args= -p "$(cat "$PID_FILE")" | grep -q -- "$NODE_DIR/s3proxy.properties"
}

# s3proxy answers an unsigned request with 403: anything but no answer means it is up.
answers() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$ENDPOINT/" 2>/dev/null) || return 1
    [[ "$code" != "000" ]]
}

# Credentials made once per node folder and kept (mode 600): the tests read them from the env file.
credentials() {
    if [[ ! -s "$NODE_DIR/credentials" ]]; then
        (umask 077; printf '%s\n%s\n' "cf$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
            "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$NODE_DIR/credentials")
    fi
    IDENTITY=$(sed -n 1p "$NODE_DIR/credentials")
    CREDENTIAL=$(sed -n 2p "$NODE_DIR/credentials")
}

write_config() {
    (umask 077; cat >"$NODE_DIR/s3proxy.properties" <<EOF
# Written by scripts/s3proxy.sh start; edits are lost.
s3proxy.endpoint=$ENDPOINT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$IDENTITY
s3proxy.credential=$CREDENTIAL
jclouds.provider=filesystem-nio2
jclouds.identity=$IDENTITY
jclouds.credential=$CREDENTIAL
jclouds.filesystem.basedir=$NODE_DIR/data
EOF
    cat >"$ENV_FILE" <<EOF
# Written by scripts/s3proxy.sh start: the local S3 endpoint and its test credentials.
CHATFORENSICS_S3_ENDPOINT=$ENDPOINT
AWS_ACCESS_KEY_ID=$IDENTITY
AWS_SECRET_ACCESS_KEY=$CREDENTIAL
AWS_DEFAULT_REGION=us-east-1
AWS_REQUEST_CHECKSUM_CALCULATION=when_required
AWS_RESPONSE_CHECKSUM_VALIDATION=when_required
EOF
    )
}

start() {
    if pid_alive && answers; then
        log "already running at $ENDPOINT (pid $(cat "$PID_FILE"))"
        return
    fi
    if answers; then
        die "something else answers on $ENDPOINT; set S3PROXY_PORT to a free port"
    fi
    command -v "$JAVA" >/dev/null || die "no java found; install a JDK 17+ (apt-get install openjdk-17-jre-headless) or set S3PROXY_JAVA"
    command -v curl >/dev/null || die "curl is needed to check that s3proxy answers"
    fetch
    mkdir -p "$NODE_DIR/data"
    credentials
    write_config
    "$JAVA" -Xmx256m -jar "$JAR" --properties "$NODE_DIR/s3proxy.properties" </dev/null >"$LOG_FILE" 2>&1 &
    echo $! >"$PID_FILE"
    local waited=0
    until answers; do
        if ! kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
            tail -20 "$LOG_FILE" >&2
            die "s3proxy exited; log: $LOG_FILE"
        fi
        (( waited++ < START_TIMEOUT )) || { kill "$(cat "$PID_FILE")"; die "s3proxy not answering on $ENDPOINT after ${START_TIMEOUT}s"; }
        sleep 1
    done
    log "running at $ENDPOINT (pid $(cat "$PID_FILE")); endpoint and credentials in $ENV_FILE"
}

stop() {
    if pid_alive; then
        local pid
        pid=$(cat "$PID_FILE")
        kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        log "stopped (pid $pid)"
    fi
    rm -f "$PID_FILE"
}

status() {
    if pid_alive && answers; then
        echo "running at $ENDPOINT (pid $(cat "$PID_FILE"))"
    else
        echo "not running"
        return 3
    fi
}

case "${1:-}" in
    fetch) fetch ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "$ENV_FILE" ;;
    *) die "usage: $0 fetch|start|stop|status|env" ;;
esac
