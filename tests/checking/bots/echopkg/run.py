"""Re-exports main, as many projects' entry modules do: ``echopkg.run:main`` is the app's main."""

from .app import main

__all__ = ["main"]
