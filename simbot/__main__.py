"""``python -m simbot …``: the same as the ``simbot`` command."""

import sys

from .cli import main

sys.exit(main())
