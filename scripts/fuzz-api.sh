# Fuzzes the HTTP API from its own OpenAPI document with schemathesis: every operation, as a
# logged-in user, with generated valid and invalid input. A 5xx, an answer that breaks the
# document (status, content type, body schema, headers) or fewer than $FUZZ_MIN_CASES cases
# fails it. Sourced by scripts/test; schemathesis is installed once into $CONFAB_CACHE/venv.
#
# Every check runs, positive_data_acceptance included: a request the document calls valid must
# not be refused as malformed (404 for an id that names nothing is still a fine answer). The
# one exception, forged ciphertexts, is in scripts/schemathesis.toml. Left out: the GET /ws
# upgrade (a WebSocket, tested by the suite), and POST /auth/logout and
# DELETE /auth/sessions/{sessionId}, which would end the fuzzer's own session halfway (the
# stateful phase follows GET /auth/sessions to its id; tests/tests/sessions.rs tests both). One worker:
# with two, hypothesis' lambda introspection (not thread-safe) now and then fails the run with
# "AST constructor recursion depth mismatch", a fault of the fuzzer, not of the API.

CONFAB_CACHE="${CONFAB_CACHE:-$HOME/.cache/confab}"
SCHEMATHESIS_VERSION=4.32.5
FUZZ_MIN_CASES="${FUZZ_MIN_CASES:-1000}"

# shellcheck source=scripts/python-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/python-tools.sh"

install_schemathesis() {
    python_tool venv schemathesis schemathesis "$SCHEMATHESIS_VERSION" || return 1
    SCHEMATHESIS="$CONFAB_CACHE/venv/bin/schemathesis"
}

# fuzz_api NAME [ENV=VALUE...]: `confab serve` with the given environment, fuzzed.
fuzz_api() {
    local name="$1"; shift
    local dir log pid url token cases status=0
    dir="$(mktemp -d "${TMPDIR:-/tmp}/confab-fuzz.XXXXXX")"
    log="$dir/confab.log"
    # Rate limits off: the fuzzer is one client sending thousands of requests; they are tested
    # by the suite. Every other bound stays.
    env CONFAB_DATA_DIR="$dir/data" CONFAB_RATE_LIMITS=off RUST_LOG=warn "$@" \
        "${CARGO_TARGET_DIR:-target}/debug/confab" serve --listen 127.0.0.1:0 > "$log" 2>&1 &
    pid=$!
    url=""
    for _ in $(seq 1 600); do
        url="$(sed -n 's/^confab listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n 1)"
        if [ -n "$url" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    if [ -z "$url" ]; then echo "confab did not start:"; cat "$log"; kill "$pid" 2>/dev/null; return 1; fi
    curl --silent --fail --retry 50 --retry-connrefused --retry-delay 0 "$url/readyz" > /dev/null || true

    # Someone to talk to and a group, so that some generated requests reach real data.
    local body='{"username":"fuzzer","password":"fuzzer-password"}'
    curl --silent --fail -H 'content-type: application/json' -d "$body" "$url/auth/register" > /dev/null
    curl --silent --fail -H 'content-type: application/json' \
        -d '{"username":"alice","password":"alice-password"}' "$url/auth/register" > /dev/null
    token="$(curl --silent --fail -H 'content-type: application/json' -d "$body" "$url/auth/login" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
    curl --silent --fail -H 'content-type: application/json' -H "authorization: Bearer $token" \
        -d '{"name":"fuzzing","members":["alice"]}' "$url/groups/create" > /dev/null

    echo "fuzzing $name at $url"
    "$SCHEMATHESIS" --config-file scripts/schemathesis.toml run "$url/openapi.json" --header "Authorization: Bearer $token" \
        --checks all --exclude-path /ws --exclude-path /auth/logout --exclude-path '/auth/sessions/{sessionId}' \
        --max-examples 60 --seed 20261202 --workers 1 --request-timeout 30 \
        --no-color --suppress-health-check all > "$dir/schemathesis.log" 2>&1 || status=$?
    kill -TERM "$pid"; wait "$pid" || true
    cases="$(sed -n 's/^ *\([0-9][0-9]*\) generated.*/\1/p' "$dir/schemathesis.log" | tail -n 1)"
    tail -n 25 "$dir/schemathesis.log"
    if [ "$status" -ne 0 ]; then
        echo "schemathesis found problems ($name); the whole report:"; cat "$dir/schemathesis.log"
        echo "server log:"; tail -n 50 "$log"; rm -rf "$dir"; return 1
    fi
    if [ -z "$cases" ] || [ "$cases" -lt "$FUZZ_MIN_CASES" ]; then
        echo "schemathesis generated ${cases:-no} cases ($name); at least $FUZZ_MIN_CASES are needed"
        rm -rf "$dir"; return 1
    fi
    echo "$name: $cases cases, no 5xx, no answer outside the document"
    rm -rf "$dir"
}
