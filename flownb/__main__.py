"""``python -m flownb``: the ``flownb`` command."""

from flownb.terminal.cli import main

raise SystemExit(main())
