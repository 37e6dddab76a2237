"""A module that cannot be imported: the bot that imports it raises at import."""

raise RuntimeError("settings.toml is missing")
