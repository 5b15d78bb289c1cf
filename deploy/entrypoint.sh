#!/bin/sh
# The container's command: a stateless streamable-HTTP server on all interfaces, which refuses to start without
# tokens (RETENTION_MCP_TOKENS_FILE or RETENTION_MCP_TOKENS). Extra arguments go to `retention-mcp serve`.
set -eu
exec retention-mcp serve --transport http --stateless \
    --host "${RETENTION_MCP_HOST:-0.0.0.0}" --port "${RETENTION_MCP_PORT:-8000}" "$@"
