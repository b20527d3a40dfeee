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
