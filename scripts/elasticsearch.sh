#!/usr/bin/env bash
# Run a real single-node Elasticsearch for tests and demos, without Docker and
# without internet access: the distribution comes from Maven Central via mvn.
#
#   scripts/elasticsearch.sh start|stop|status|url|fetch
#   (fetch only downloads and unpacks, e.g. to warm a CI cache)
#
#   scripts/elasticsearch.sh start-secure|stop-secure|status-secure|env-secure
#   A second node from the same distribution, for the secured-cluster tests:
#   security on, TLS on HTTP (a CA and node certificate made by openssl at each
#   start), the `elastic` bootstrap password in its keystore and least-privilege
#   users in the file realm. Its URL, CA file and test credentials go to an env
#   file (env-secure prints its path) that tests/conftest.py reads.
#
# Environment (all optional):
#   ES_VERSION          distribution version (default below)
#   ES_PORT             HTTP port on 127.0.0.1 (default 9200)
#   ES_JAVA_OPTS        JVM options (default: 512 MiB heap)
#   ES_JAVA_HOME        JDK to run it with (default: newest JDK >= 21 in /usr/lib/jvm)
#   CHATFORENSICS_CACHE cache root, kept outside the repo (default ~/.cache/chatforensics)
#   ES_USER             unprivileged user used when run as root (default chatforensics-es)
#   ES_SECURE_PORT      HTTPS port of the secured node (default 9201; transport ES_SECURE_TRANSPORT_PORT, 9301)
set -euo pipefail

# 9.5.4 is the newest 9.x whose minimal zip Maven Central serves here
# (9.5.5, 9.5.6 and 9.6.0 are not published under this coordinate).
ES_VERSION="${ES_VERSION:-9.5.4}"
ES_PORT="${ES_PORT:-9200}"
export ES_JAVA_OPTS="${ES_JAVA_OPTS:--Xms512m -Xmx512m}"
ES_USER="${ES_USER:-chatforensics-es}"

ES_SECURE_PORT="${ES_SECURE_PORT:-9201}"
ES_SECURE_TRANSPORT_PORT="${ES_SECURE_TRANSPORT_PORT:-9301}"

CACHE_DIR="${CHATFORENSICS_CACHE:-$HOME/.cache/chatforensics}/elasticsearch"
ES_HOME="$CACHE_DIR/elasticsearch-$ES_VERSION"
SECURE=0
CLUSTER=chatforensics

# Paths of the node on $ES_PORT. One runtime dir per port, so nodes on
# different ports never share a data dir.
node_paths() {
    NODE_DIR="$CACHE_DIR/node-$ES_PORT"
    PID_FILE="$NODE_DIR/elasticsearch.pid"
    LOG_FILE="$NODE_DIR/logs/$CLUSTER.log"   # <cluster.name>.log
    LAUNCHER_OUT="$NODE_DIR/logs/launcher.out"
    URL="http://127.0.0.1:$ES_PORT"
}
node_paths

# Switch every command below to the secured node.
use_secure_node() {
    SECURE=1
    CLUSTER=chatforensics-secure
    ES_PORT="$ES_SECURE_PORT"
    node_paths
    URL="https://127.0.0.1:$ES_PORT"
    TLS_DIR="$NODE_DIR/config/tls"   # certificates must live under the config dir
    CA_FILE="$TLS_DIR/ca.crt"
    REALM_DIR="$NODE_DIR/realm"      # keystore, users, passwords: made once, reused by every start
    ENV_FILE="$NODE_DIR/secure.env"
}

# The index names the test roles grant (the default CHATFORENSICS_ES_PREFIX, then "-").
SECURE_INDEX_PATTERN="chatforensics-*"
WRITER_USER=chatforensics_writer
READER_USER=chatforensics_reader
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

# curl against the node; on the secured node with its CA and as `elastic`
# (the password goes through curl's stdin config, never the command line).
es_curl() {
    if (( SECURE )); then
        local password
        password=$(secure_value ELASTIC_PASSWORD) || return 1
        printf 'user = "elastic:%s"\n' "$password" | curl -K - --cacert "$CA_FILE" "$@"
    else
        curl "$@"
    fi
}

# A value from the secured node's passwords file (absent before its first start).
secure_value() {
    sed -n "s/^$1=//p" "$REALM_DIR/passwords.env" 2>/dev/null | grep .
}

# Prints the node's version if something answers on the port, else fails.
# (Not via GET /: that endpoint lives in a module the minimal zip lacks.)
node_version() {
    es_curl -fsS --max-time 5 "$URL/_cat/nodes?h=version" 2>/dev/null | head -n1 | grep .
}

# Whether anything answers HTTP(S) on the port at all, whoever it lets in.
port_answers() {
    curl -sk -o /dev/null --max-time 5 "$URL/"
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

# --- the secured node -------------------------------------------------------

# Security settings, TLS material, roles and the file realm, into the fresh
# config dir of the secured node. $1: the JDK for the distribution's CLI tools.
secure_config() {
    command -v openssl >/dev/null || die "openssl is needed to make the secured node's certificates"
    cat >>"$NODE_DIR/config/elasticsearch.yml" <<EOF
transport.port: $ES_SECURE_TRANSPORT_PORT
# Security on, TLS on the HTTP layer. No transport TLS: on a single-node,
# loopback-only node the bootstrap checks only warn, so "Transport SSL must be
# enabled if security is enabled" is a line in its log, not a refusal to start
# (nodes that form a cluster need transport TLS as well).
xpack.security.enabled: true
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.key: tls/node.key
xpack.security.http.ssl.certificate: tls/node.crt
xpack.security.http.ssl.certificate_authorities: [tls/ca.crt]
# Users and roles come from the file realm (config/users, users_roles,
# roles.yml): native users and API keys need the .security index, which this
# distribution cannot create (its mapping uses analysis-common's
# pattern_capture filter).
xpack.security.authc.realms.file.file1.order: 0
EOF
    make_certificates
    write_roles
    [[ -s "$REALM_DIR/passwords.env" ]] || make_realm "$1"
    cp "$REALM_DIR/elasticsearch.keystore" "$REALM_DIR/users" "$REALM_DIR/users_roles" "$NODE_DIR/config/"
}

# A throwaway CA and a certificate for 127.0.0.1/localhost signed by it, new
# at every start; the CA key is deleted once it has signed.
make_certificates() {
    mkdir -p "$TLS_DIR"
    local ext="$TLS_DIR/node.ext"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=chatforensics test CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$TLS_DIR/ca.key" -out "$CA_FILE" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >"$ext"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$TLS_DIR/node.key" -out "$TLS_DIR/node.csr" 2>/dev/null
    openssl x509 -req -in "$TLS_DIR/node.csr" -CA "$CA_FILE" -CAkey "$TLS_DIR/ca.key" -CAcreateserial \
        -days 365 -extfile "$ext" -out "$TLS_DIR/node.crt" 2>/dev/null
    rm -f "$TLS_DIR/ca.key" "$TLS_DIR/ca.srl" "$TLS_DIR/node.csr" "$ext"
}

# The least-privilege roles of the tests (file realm roles; README shows them).
write_roles() {
    cat >"$NODE_DIR/config/roles.yml" <<EOF
# Written by scripts/elasticsearch.sh start-secure; edits are lost.
# What \`chatforensics es setup\` and \`run\` need, found by removing one
# privilege at a time: templates (manage_index_templates), the analyzer probe
# (cluster:admin/analyze, else "cjk" is never chosen), creating the versioned
# index with its alias (create_index + indices:admin/aliases; the named
# privilege "manage" would give both, and delete_index too), new template
# fields reaching an existing index (indices:admin/mapping/put: "index" still
# allows it but warns that the next major will not), alias lookups and exists
# (view_index_metadata), overwriting documents by id (index; create_doc
# refuses a re-run), refresh before the count (maintenance), count (read).
# No delete, no delete_index, no cluster-wide manage.
chatforensics_writer:
  cluster: [manage_index_templates, "cluster:admin/analyze"]
  indices:
    - names: ["$SECURE_INDEX_PATTERN"]
      privileges: [create_index, "indices:admin/aliases", "indices:admin/mapping/put", view_index_metadata, index,
                   maintenance, read]
# Reads the indices, writes nothing: the negative test.
chatforensics_reader:
  indices:
    - names: ["$SECURE_INDEX_PATTERN"]
      privileges: [read, view_index_metadata]
EOF
}

# Once per node dir: random passwords, the keystore with the `elastic`
# bootstrap password, and the file-realm users. The CLI tools are JVMs
# (seconds each), so later starts copy these instead of making them again.
make_realm() {
    local java_home="$1" tmp
    log "creating the keystore and file-realm users of the secured node (once)"
    rm -rf "$REALM_DIR"
    tmp=$(mktemp -d "$NODE_DIR/.realm.XXXXXX")
    cp -r "$ES_HOME/config" "$tmp/config"
    : >"$tmp/config/users"; : >"$tmp/config/users_roles"
    local elastic writer reader
    elastic=$(openssl rand -hex 16); writer=$(openssl rand -hex 16); reader=$(openssl rand -hex 16)
    # Passwords through stdin, never the command line.
    local tool_env=(env ES_JAVA_HOME="$java_home" ES_PATH_CONF="$tmp/config"
                    CLI_JAVA_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    # The keystore tool runs beside the users tool (they write different files).
    printf '%s\n' "$elastic" | "${tool_env[@]}" "$ES_HOME/bin/elasticsearch-keystore" add -x -f -s \
        bootstrap.password >"$tmp/keystore.out" 2>&1 &
    local keystore=$!
    local user password role
    for user in "$WRITER_USER:$writer:chatforensics_writer" "$READER_USER:$reader:chatforensics_reader"; do
        IFS=: read -r user password role <<<"$user"
        printf '%s\n%s\n' "$password" "$password" | "${tool_env[@]}" "$ES_HOME/bin/elasticsearch-users" \
            useradd "$user" -r "$role" -s >"$tmp/users.out" 2>&1 || fail_tool elasticsearch-users "$tmp/users.out"
    done
    wait "$keystore" || fail_tool "elasticsearch-keystore" "$tmp/keystore.out"
    mkdir -p "$tmp/realm"
    cp "$tmp/config/elasticsearch.keystore" "$tmp/config/users" "$tmp/config/users_roles" "$tmp/realm/"
    ( umask 077; printf '%s\n' "ELASTIC_PASSWORD=$elastic" "WRITER_PASSWORD=$writer" "READER_PASSWORD=$reader" \
        >"$tmp/realm/passwords.env" )
    mv "$tmp/realm" "$REALM_DIR"
    rm -rf "$tmp"
}

fail_tool() {
    log "$1 failed:"
    cat "$2" >&2
    die "could not create the secured node's users and keystore"
}

# Where tests find the secured node: one KEY=value per line, no quoting.
write_env_file() {
    ( umask 077; cat >"$ENV_FILE.tmp" <<EOF
# Written by scripts/elasticsearch.sh start-secure: the local secured test node.
CHATFORENSICS_SECURE_ES_URL=$URL
CHATFORENSICS_SECURE_ES_CA_FILE=$CA_FILE
CHATFORENSICS_SECURE_ES_INDEX_PATTERN=$SECURE_INDEX_PATTERN
CHATFORENSICS_SECURE_ES_ELASTIC_USER=elastic
CHATFORENSICS_SECURE_ES_ELASTIC_PASSWORD=$(secure_value ELASTIC_PASSWORD)
CHATFORENSICS_SECURE_ES_WRITER_USER=$WRITER_USER
CHATFORENSICS_SECURE_ES_WRITER_PASSWORD=$(secure_value WRITER_PASSWORD)
CHATFORENSICS_SECURE_ES_READER_USER=$READER_USER
CHATFORENSICS_SECURE_ES_READER_PASSWORD=$(secure_value READER_PASSWORD)
EOF
    )
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

cmd_start() {
    local version
    if version=$(node_version); then
        log "a node already answers on $URL (version $version); nothing to do"
        (( SECURE )) && write_env_file
        echo "$URL"; return
    fi
    if (( SECURE )) && port_answers; then
        die "something answers on $URL but not to the credentials in $REALM_DIR/passwords.env;" \
            "stop it ($0 stop-secure) and start again"
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
cluster.name: $CLUSTER
node.name: $CLUSTER-node
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
EOF
    if (( SECURE )); then
        secure_config "$java_home"
    else
        cat >>"$NODE_DIR/config/elasticsearch.yml" <<EOF
# The zip ships the security module, enabled by default; with no users set up
# every request would get 401. Local test/demo node only.
xpack.security.enabled: false
EOF
    fi
    rm -f "$PID_FILE"
    if (( EUID == 0 )); then
        ensure_user
        chown -R "$ES_USER:" "$NODE_DIR"
    fi
    (( SECURE )) && write_env_file

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
    until es_curl -fsS --max-time 10 -o /dev/null \
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
        if port_answers; then
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
    if ! health=$(es_curl -fsS --max-time 10 "$URL/_cluster/health?pretty" 2>/dev/null); then
        log "no Elasticsearch answers on $URL$( (( SECURE )) && echo " (with the CA and credentials of $ENV_FILE)")"
        exit 1
    fi
    echo "Elasticsearch $(node_version) at $URL"
    (( SECURE )) && echo "CA file, users and passwords: $ENV_FILE"
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
        *-secure) use_secure_node ;;
    esac
    case "${1:-}" in
        start|start-secure)   lock; cmd_start ;;
        stop|stop-secure)     lock; cmd_stop ;;
        status|status-secure) cmd_status ;;
        url|url-secure)       echo "$URL" ;;
        env-secure)           echo "$ENV_FILE" ;;
        fetch)                lock; fetch; echo "$ES_HOME" ;;
        *)  echo "usage: $0 start|stop|status|url|fetch" \
                 "| start-secure|stop-secure|status-secure|url-secure|env-secure" >&2
            exit 2 ;;
    esac
}

main "$@"
