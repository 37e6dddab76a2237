"""The simulation core: virtual time first."""

from .loop import Deadlock, HorizonReached, StepLimit, VirtualLoop, run

__all__ = ["Deadlock", "HorizonReached", "StepLimit", "VirtualLoop", "run"]
