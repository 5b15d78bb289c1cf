"""retention-mcp: customer-retention prompt templates as typed MCP tools, prompts and resources."""

__version__ = "0.1.0"
