"""``python -m bot.cli``: the same as the ``deskmate`` command."""

from bot.cli.main import main

raise SystemExit(main())
