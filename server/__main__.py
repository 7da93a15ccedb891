"""`python -m server` runs the `anime-mcp` command (for environments where the script is not on PATH)."""

import sys

from server.cli import main

sys.exit(main())
