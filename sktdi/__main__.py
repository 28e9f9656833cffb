"""``python -m sktdi``: the command line."""

from .cli import main

raise SystemExit(main())
