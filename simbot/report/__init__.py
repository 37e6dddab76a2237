"""Pictures of a run: the text timeline (and, later, HTML)."""

from .timeline import timeline

__all__ = ["timeline"]
