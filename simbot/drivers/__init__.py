"""Bot entry points that run real framework code, unmodified, as simulated instances."""
