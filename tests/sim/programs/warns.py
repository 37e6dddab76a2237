"""Warns twice from one line, as a library does when a handler is slow."""

import warnings

for _ in range(2):
    warnings.warn("careful", RuntimeWarning, stacklevel=1)
