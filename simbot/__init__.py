"""simbot: make Telegram bot start-up logic testable against deploy-time 409 Conflicts."""

__version__ = "0.1.0"
