# Installs (once, cached outside the clone) and starts the real servers the Kafka + DynamoDB
# backend is tested against, on free ports of 127.0.0.1: tansu (Kafka-compatible broker),
# dynalite (DynamoDB) and s3s-fs (S3, verifying SigV4 signatures of pre-signed URLs); and
# stunnel (Debian's stunnel4), which the Kafka security test puts in front of a broker of its own
# for TLS. Sourced by scripts/test; exports CONFAB_TEST_* for the test suite and stops the
# servers when the calling shell exits.

CONFAB_CACHE="${CONFAB_CACHE:-$HOME/.cache/confab}"
TANSU_VERSION=0.6.0
TANSU="$CONFAB_CACHE/tools/bin/tansu"
DYNALITE="$CONFAB_CACHE/node/node_modules/.bin/dynalite"
# tansu's storage (tests/src/backend.rs says the same for the brokers tests start themselves);
# see start_servers for the maintenance interval.
TANSU_STORAGE="sqlite://tansu.db?maintenance_interval=3650d"
S3S_FS_VERSION=0.14.1
S3S_FS="$CONFAB_CACHE/tools/bin/s3s-fs"
# The credentials s3s-fs accepts; the suite gives confab the same ones.
S3_ACCESS_KEY=confab-test
S3_SECRET_KEY=confab-test

install_servers() {
    if [ ! -x "$TANSU" ] || ! "$TANSU" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
        echo "installing tansu $TANSU_VERSION into $CONFAB_CACHE/tools (10-15 minutes, once)"
        cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
            --root "$CONFAB_CACHE/tools" --target-dir "$CONFAB_CACHE/tansu-target"
    fi
    if [ ! -x "$S3S_FS" ] || ! grep -qx "$S3S_FS_VERSION" "$CONFAB_CACHE/tools/s3s-fs.version" 2>/dev/null; then
        echo "installing s3s-fs $S3S_FS_VERSION into $CONFAB_CACHE/tools (a few minutes, once)"
        cargo install s3s-fs --version "$S3S_FS_VERSION" --locked --features binary \
            --root "$CONFAB_CACHE/tools" --target-dir "$CONFAB_CACHE/s3s-target"
        echo "$S3S_FS_VERSION" > "$CONFAB_CACHE/tools/s3s-fs.version"
    fi
    if ! command -v stunnel4 >/dev/null; then
        echo "installing stunnel4 (Debian) for the Kafka-over-TLS test"
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo=sudo
        { $sudo apt-get install -y -qq stunnel4 || { $sudo apt-get update -qq && $sudo apt-get install -y -qq stunnel4; }; } >/dev/null \
            || { echo "cannot install stunnel4: install it (Debian: apt-get install stunnel4)"; return 1; }
    fi
    if [ ! -x "$DYNALITE" ]; then
        echo "installing dynalite into $CONFAB_CACHE/node"
        mkdir -p "$CONFAB_CACHE/node"
        (cd "$CONFAB_CACHE/node" && npm install --no-audit --no-fund --loglevel=error dynalite@4)
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port name log
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "$2 did not start listening on port $1:"; cat "$3"; return 1
}

start_servers() {
    SERVERS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/confab-servers.XXXXXX")"
    mkdir -p "$SERVERS_DIR/tansu" "$SERVERS_DIR/dynalite" "$SERVERS_DIR/s3"
    trap 'stop_servers' EXIT

    local kafka_port dynamo_port s3_port
    kafka_port="$(free_port)"
    # tansu 0.6's maintenance (every 10 minutes by default) deletes records older than their
    # topic's retention.ms, and reads Kafka's -1 ("forever", what Confab's topics have) as "older
    # than -1 ms": every record of every topic. So it runs only at start, when there are none.
    (cd "$SERVERS_DIR/tansu" && exec "$TANSU" broker \
        --listener-url "tcp://127.0.0.1:$kafka_port" --advertised-listener-url "tcp://127.0.0.1:$kafka_port" \
        --storage-engine "$TANSU_STORAGE") > "$SERVERS_DIR/tansu.log" 2>&1 &
    TANSU_PID=$!
    dynamo_port="$(free_port)"
    "$DYNALITE" --host 127.0.0.1 --port "$dynamo_port" --path "$SERVERS_DIR/dynalite" \
        --createTableMs 5 --deleteTableMs 5 --updateTableMs 5 > "$SERVERS_DIR/dynalite.log" 2>&1 &
    DYNALITE_PID=$!
    s3_port="$(free_port)"
    "$S3S_FS" --host 127.0.0.1 --port "$s3_port" --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" \
        "$SERVERS_DIR/s3" > "$SERVERS_DIR/s3s-fs.log" 2>&1 &
    S3S_FS_PID=$!
    wait_for_port "$kafka_port" tansu "$SERVERS_DIR/tansu.log"
    wait_for_port "$dynamo_port" dynalite "$SERVERS_DIR/dynalite.log"
    wait_for_port "$s3_port" s3s-fs "$SERVERS_DIR/s3s-fs.log"

    export CONFAB_TEST_KAFKA="127.0.0.1:$kafka_port"
    export CONFAB_TEST_DYNAMODB="http://127.0.0.1:$dynamo_port"
    export CONFAB_TEST_TANSU_BIN="$TANSU"
    CONFAB_TEST_STUNNEL="$(command -v stunnel4)"
    export CONFAB_TEST_STUNNEL
    export CONFAB_TEST_S3="http://127.0.0.1:$s3_port"
    # For tests that talk to the servers with the AWS SDK directly; confab processes get the same.
    export AWS_ACCESS_KEY_ID="$S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$S3_SECRET_KEY" AWS_REGION=us-east-1 \
        AWS_EC2_METADATA_DISABLED=true
    # Where the log and the tables are kept, for the plaintext scan (s3s-fs keeps objects as
    # they came: server-side encryption is the S3 service's job, not one a test server does).
    export CONFAB_TEST_DATA_DIRS="$SERVERS_DIR/tansu:$SERVERS_DIR/dynalite"
    # Where s3s-fs keeps objects (<bucket>/<key>), for tests that check what is stored.
    export CONFAB_TEST_S3_DIR="$SERVERS_DIR/s3"
    echo "tansu on $CONFAB_TEST_KAFKA, dynalite on $CONFAB_TEST_DYNAMODB, s3s-fs on $CONFAB_TEST_S3, data in $SERVERS_DIR"
}

stop_servers() {
    kill "${TANSU_PID:-}" "${DYNALITE_PID:-}" "${S3S_FS_PID:-}" 2>/dev/null || true
    wait "${TANSU_PID:-}" "${DYNALITE_PID:-}" "${S3S_FS_PID:-}" 2>/dev/null || true
    rm -rf "${SERVERS_DIR:-/nonexistent}"
}
