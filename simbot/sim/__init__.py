"""The simulation core: virtual time, simulated processes."""

from .loop import Deadlock, Finding, HorizonReached, StepLimit, VirtualLoop, run
from .process import Instance, InstanceContext, current

__all__ = [
    "Deadlock", "Finding", "HorizonReached", "Instance", "InstanceContext", "StepLimit", "VirtualLoop",
    "current", "run",
]
