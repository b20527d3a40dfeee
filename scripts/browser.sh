# The web client's browser test: Debian's chromium (installed with apt when missing: a browser
# download at run time cannot work offline) driven by Playwright for Python, which is told to use
# that browser instead of downloading its own.
# shellcheck source=scripts/python-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/python-tools.sh"

PLAYWRIGHT_VERSION=1.65.3

install_browser() {
    if ! command -v chromium >/dev/null 2>&1; then
        echo "installing Debian's chromium (once)"
        local sudo=""
        if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
        $sudo apt-get install -y --no-install-recommends chromium >/dev/null \
            || { echo "cannot install chromium: apt-get install chromium"; return 1; }
    fi
    python_tool browser playwright playwright "$PLAYWRIGHT_VERSION" || return 1
    CONFAB_CHROMIUM="$(command -v chromium)"
    export CONFAB_CHROMIUM
}

# browser_test CONFAB_BIN [SCREENSHOT_DIR]
browser_test() {
    "$CONFAB_CACHE/browser/bin/python" tests/browser/web_client.py "$@"
}
