#!/bin/sh
# Install retention-mcp from a built wheel into a fresh virtual environment, with the PostgreSQL driver.
# The container image runs exactly these steps (see Dockerfile); tests/test_deploy.py runs them on this machine.
# Usage: deploy/install.sh WHEEL_DIR PREFIX
set -eu
wheel_dir=$1
prefix=$2
wheel=$(find "$wheel_dir" -maxdepth 1 -name 'retention_mcp-*.whl' | sort | tail -n 1)
if [ -z "$wheel" ]; then
    echo "install.sh: no retention_mcp-*.whl in $wheel_dir" >&2
    exit 2
fi
python3 -m venv "$prefix"
"$prefix/bin/python" -m pip install --no-cache-dir --quiet --disable-pip-version-check "$wheel[postgres]"
"$prefix/bin/retention-mcp" --version
