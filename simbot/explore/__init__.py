"""Property-based exploration: hypothesis searches scenarios for one that fails a checker."""

from .search import Exploration, explore
from .strategies import (
    DEFAULT_FAULTS,
    EXTRA_FAULTS,
    FAULTS,
    WEBHOOK_EXTRA_FAULTS,
    WEBHOOK_FAULTS,
    platform_bounds,
    scenarios,
)

__all__ = ["DEFAULT_FAULTS", "EXTRA_FAULTS", "FAULTS", "WEBHOOK_EXTRA_FAULTS", "WEBHOOK_FAULTS", "Exploration",
           "explore", "platform_bounds", "scenarios"]
