"""Pictures of a run: the text timeline and a self-contained HTML page."""

from .html import html_timeline
from .timeline import timeline

__all__ = ["html_timeline", "timeline"]
