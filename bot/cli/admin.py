"""``deskmate admin token``: the admin token kept in the data folder, made on the first call."""

from __future__ import annotations

import argparse
import secrets
import sys
from pathlib import Path
from typing import Any

OK = 0


def add_commands(commands: Any) -> None:
    admin = commands.add_parser("admin", help="administration of this server's data folder")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)

    token = admin_commands.add_parser(
        "token",
        help="show the admin token for /admin and `deskmate kb reload` (made and kept on the first call)",
    )
    token.add_argument("--new", action="store_true", help="replace the kept token with a new one")
    token.add_argument("--data-dir", type=Path, help="where the token is kept (default ./var; env DESKMATE_DATA_DIR)")
    token.set_defaults(run=_token)


def _token(args: argparse.Namespace) -> int:
    from bot.ops.config import MIN_TOKEN_LENGTH, Settings
    from bot.ops.secrets_file import read_or_create_secret, write_secret

    settings = Settings.from_env(data_dir=args.data_dir)
    path = settings.admin_token_file
    if args.new:
        token, made = secrets.token_urlsafe(24), True
        write_secret(path, token)
    else:
        token, made = read_or_create_secret(path, lambda: secrets.token_urlsafe(24), min_length=MIN_TOKEN_LENGTH)
    print(token)  # alone on stdout, so that `$(deskmate admin token)` is the token
    if made:
        print(f"Kept in {path} (readable by you only). Restart `deskmate serve` if it is running.", file=sys.stderr)
    else:
        print(f"Kept in {path}; `deskmate admin token --new` replaces it.", file=sys.stderr)
    if settings.admin_token is not None:
        print(
            "note: DESKMATE_ADMIN_TOKEN is set in this shell; a server started with it uses that token, not this one",
            file=sys.stderr,
        )
    return OK
