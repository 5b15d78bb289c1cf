from retention_mcp.cli import main

raise SystemExit(main())
