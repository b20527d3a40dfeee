#!/usr/bin/env bash
# What a resume costs the server's memory: each binary given serves a fresh data dir, one user
# misses MESSAGES messages of BYTES bytes, then SOCKETS of their sockets resume at once
# (confab-loadgen --resume). Run it with a baseline binary and the current one in the same
# session; BENCHMARKS.md has the figures.
#
#   scripts/bench-resume.sh LOADGEN CONFAB [CONFAB...]     (env: MESSAGES, BYTES, SOCKETS)
set -euo pipefail
loadgen=$1
shift
messages=${MESSAGES:-1500} bytes=${BYTES:-60000} sockets=${SOCKETS:-8}
for confab in "$@"; do
    dir=$(mktemp -d /tmp/confab-bench-resume.XXXXXX)
    # Generous bounds, so the old binary and the new one send the same resume.
    CONFAB_RATE_LIMITS=off CONFAB_WS_MAX_RESUME_BYTES=1000000000 CONFAB_WS_MAX_RESUME_MESSAGES=100000 \
        timeout 900 "$confab" serve --data-dir "$dir" --listen 127.0.0.1:18080 > "$dir.log" 2>&1 &
    server=$!
    until curl -sf http://127.0.0.1:18080/healthz > /dev/null; do sleep 0.1; done
    # The server is timeout's child: its memory is what is measured.
    pid=$(pgrep -P "$server")
    echo "== $confab"
    "$loadgen" --url http://127.0.0.1:18080 --users 2 --resume "$messages" --bytes "$bytes" \
        --concurrency "$sockets" --server-pid "$pid"
    kill -TERM "$server"
    wait "$server" || true
    rm -rf "$dir" "$dir.log"
done
