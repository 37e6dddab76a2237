"""A bot laid out as a package: ``python -m echopkg`` or ``echopkg.app:main``."""
