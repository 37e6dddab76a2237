"""Scenario files: one TOML file is one complete, replayable experiment."""

from .files import ScenarioError, load, parse, save, to_toml
from .model import EVENT_KINDS, Bot, Event, Scenario, Updates
from .run import mismatches, replay, simulate

__all__ = [
    "EVENT_KINDS", "Bot", "Event", "Scenario", "ScenarioError", "Updates", "load", "mismatches", "parse",
    "replay", "save", "simulate", "to_toml",
]
