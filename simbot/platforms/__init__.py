"""Deploy platforms: one model, fifteen presets (docs/platforms.md §4-5), and a service that runs them."""

from .model import Backoff, Platform
from .presets import PRESETS, preset

__all__ = ["PRESETS", "Backoff", "Platform", "preset"]
