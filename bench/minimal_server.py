"""Baseline for the cold-start benchmark: a minimal MCPServer with one tool, over stdio."""

from mcp.server import MCPServer

server = MCPServer("minimal", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
