"""Pictures of a run: the text timeline and a self-contained HTML page."""

from .html import html_timeline
from .output import bot_output
from .timeline import timeline

__all__ = ["bot_output", "html_timeline", "timeline"]
