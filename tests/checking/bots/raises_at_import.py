"""A bot that raises before it ever polls: its verdict must be an ERROR, never a PASS."""

raise RuntimeError("configuration missing: set DATABASE_URL")
