"""The MCP adapter's parts; `retention_mcp.server` assembles them into the server."""
