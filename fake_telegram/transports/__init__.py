"""Thin adapters that carry HTTP between a client and the transport-free core."""
