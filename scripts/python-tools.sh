# Python tools the test command uses, each installed once into a virtualenv of its own under
# $CONFAB_CACHE (PyPI only; nothing system-wide).
CONFAB_CACHE="${CONFAB_CACHE:-$HOME/.cache/confab}"

# python_tool VENV COMMAND PACKAGE VERSION: installs PACKAGE==VERSION into $CONFAB_CACHE/VENV
# unless `COMMAND --version` there already says VERSION.
python_tool() {
    local venv="$CONFAB_CACHE/$1" command="$2" package="$3" version="$4"
    if ! "$venv/bin/$command" --version 2>/dev/null | grep -q "$version"; then
        echo "installing $package $version into $venv (once)"
        python3 -m venv "$venv" || { echo "python3 -m venv failed: install python3-venv (Debian)"; return 1; }
        "$venv/bin/pip" install --quiet "$package==$version"
    fi
}

# install_push_service: the test push service's libraries (tests/push_service.py), into
# $CONFAB_CACHE/push-venv once; exports CONFAB_TEST_PUSH_PYTHON for the end-to-end suite.
PUSH_SERVICE_PACKAGES=("http_ece==1.2.1" "cryptography==44.0.0")
install_push_service() {
    local venv="$CONFAB_CACHE/push-venv"
    if ! "$venv/bin/python" -c 'import http_ece, cryptography; assert cryptography.__version__ == "44.0.0"' 2>/dev/null; then
        echo "installing ${PUSH_SERVICE_PACKAGES[*]} into $venv (once)"
        python3 -m venv "$venv" || { echo "python3 -m venv failed: install python3-venv (Debian)"; return 1; }
        "$venv/bin/pip" install --quiet "${PUSH_SERVICE_PACKAGES[@]}"
    fi
    export CONFAB_TEST_PUSH_PYTHON="$venv/bin/python"
}
