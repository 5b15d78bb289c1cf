"""Start retention-mcp over stdio from an unpacked MCP bundle.

The host runs this file inside the environment that uv builds from the bundle's pyproject.toml and uv.lock; the
package itself sits next to this file (server/retention_mcp), the templates and schemas at the bundle's top.
"""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from retention_mcp.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
