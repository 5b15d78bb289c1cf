#!/bin/sh
# Install retention-mcp from a built wheel into a fresh virtual environment, with the PostgreSQL driver.
# The container image runs exactly these steps (see Dockerfile); tests/test_deploy.py runs them on this machine.
# Usage: deploy/install.sh WHEEL_DIR PREFIX
#   PYTHON     the Python that makes the venv (default python3)
#   INSTALLER  the install command, run with the new venv active (VIRTUAL_ENV set, its bin first on PATH) and the
#              wheel as its last argument; split on spaces (default: python -m pip install --no-cache-dir ...).
#              The test uses `uv pip install`, offline from uv's cache.
set -eu
wheel_dir=$1
prefix=$2
wheel=$(find "$wheel_dir" -maxdepth 1 -name 'retention_mcp-*.whl' | sort | tail -n 1)
if [ -z "$wheel" ]; then
    echo "install.sh: no retention_mcp-*.whl in $wheel_dir" >&2
    exit 2
fi
"${PYTHON:-python3}" -m venv "$prefix"
VIRTUAL_ENV=$prefix
PATH="$prefix/bin:$PATH"
export VIRTUAL_ENV PATH
# shellcheck disable=SC2086  # INSTALLER is a command line: split on purpose
${INSTALLER:-python -m pip install --no-cache-dir --quiet --disable-pip-version-check} "$wheel[postgres]"
"$prefix/bin/retention-mcp" --version
