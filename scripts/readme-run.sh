# Runs the command under "## Run it" in README.md exactly as written (settings through the
# environment only: a fresh data dir, a free port), waits until it answers /healthz, and stops it
# with SIGTERM. Sourced by scripts/test, so the README's run command cannot break unnoticed.

readme_run_serves_healthz() {
    local command dir log pid url
    command="$(awk '/^## Run it/ { section = 1 } section && /^```sh/ { getline; print; exit }' README.md)"
    if [ -z "$command" ]; then
        echo "README.md has no command under '## Run it'"; return 1
    fi
    echo "running: $command"
    dir="$(mktemp -d "${TMPDIR:-/tmp}/confab-readme.XXXXXX")"
    log="$dir/out.log"
    # setsid: the command (cargo) and the server it starts form a group that is stopped together.
    CONFAB_DATA_DIR="$dir/data" CONFAB_LISTEN=127.0.0.1:0 setsid bash -c "exec $command" > "$log" 2>&1 &
    pid=$!
    # Building the release binary is part of the command; it is cached beside the debug build.
    url=""
    for _ in $(seq 1 9000); do
        url="$(sed -n 's/^confab listening on \(http:[^ ]*\)$/\1/p' "$log" | head -n 1)"
        if [ -n "$url" ] || ! kill -0 "$pid" 2>/dev/null; then break; fi
        sleep 0.2
    done
    if [ -z "$url" ]; then
        echo "the README's run command did not start listening:"; tail -n 40 "$log"
        kill -TERM -- "-$pid" 2>/dev/null || true; rm -rf "$dir"; return 1
    fi
    if ! curl --silent --show-error --fail --max-time 10 --retry 20 --retry-connrefused --retry-delay 0 \
        "$url/healthz" > "$dir/healthz.json"; then
        echo "$url/healthz did not answer:"; tail -n 40 "$log"
        kill -TERM -- "-$pid" 2>/dev/null || true; rm -rf "$dir"; return 1
    fi
    echo "$url/healthz: $(cat "$dir/healthz.json")"
    kill -TERM -- "-$pid"
    local status=0
    wait "$pid" || status=$?
    rm -rf "$dir"
    # SIGTERM makes confab stop cleanly (exit 0); cargo run passes its exit status on.
    if [ "$status" -ne 0 ]; then echo "the server did not stop cleanly on SIGTERM (exit $status)"; return 1; fi
}
