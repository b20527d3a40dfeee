# The AWS deployment template (deploy/aws/template.yaml): validated with cfn-lint, and its tables
# held to what `confab setup` makes. Sourced by scripts/test, after start_servers; cfn-lint is
# installed once into $CONFAB_CACHE/cfn-lint.
CFN_LINT_VERSION=1.58.0

# shellcheck source=scripts/python-tools.sh
source "$(dirname "${BASH_SOURCE[0]}")/python-tools.sh"

check_aws_template() {
    python_tool cfn-lint cfn-lint cfn-lint "$CFN_LINT_VERSION" || return 1
    "$CONFAB_CACHE/cfn-lint/bin/cfn-lint" deploy/aws/template.yaml
    "$CONFAB_CACHE/cfn-lint/bin/python" scripts/check-aws-template.py deploy/aws/template.yaml \
        "$CARGO_TARGET_DIR/debug/confab"
}
