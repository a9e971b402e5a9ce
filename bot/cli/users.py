"""``deskmate users add | list | remove``: agent and admin accounts in the configured database."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import AccountError
from bot.service.accounts import Accounts
from bot.storage.accounts import Role

T = TypeVar("T")
OK = 0


def add_commands(commands: Any) -> None:
    users = commands.add_parser("users", help="agent and admin accounts")
    user_commands = users.add_subparsers(dest="users_command", required=True)

    add = user_commands.add_parser("add", help="add an agent or admin (asks for the password twice)")
    add.add_argument("username", help="2-32 lowercase letters, digits, '.', '_' or '-'")
    add.add_argument("--role", required=True, choices=[r.value for r in Role], help="what the user may do")
    add.add_argument("--name", help="the name customers and colleagues see (default: the username)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of stdin (scripts)"
    )
    _data_dir(add)
    add.set_defaults(run=_add)

    listing = user_commands.add_parser("list", help="the accounts, by username")
    _data_dir(listing)
    listing.set_defaults(run=_list)

    remove = user_commands.add_parser("remove", help="remove an account and end its sessions")
    remove.add_argument("username")
    _data_dir(remove)
    remove.set_defaults(run=_remove)


def _data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the SQLite database lives (default ./var; env DESKMATE_DB_PATH; unused with DESKMATE_DATABASE_URL)",
    )


def _with_accounts(args: argparse.Namespace, action: Callable[[Accounts], Awaitable[T]]) -> T:
    from bot.ops.config import Settings
    from bot.storage.factory import open_stores

    settings = Settings.from_env(data_dir=args.data_dir)

    async def run() -> T:
        stores = await open_stores(settings)
        try:
            return await action(Accounts(stores.accounts, session_hours=settings.session_hours))
        finally:
            await stores.close()

    return asyncio.run(run())


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise AccountError("no password on stdin; pipe one line in, e.g. `printf '%s\\n' \"$PW\" | deskmate ...`")
        return line.rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != password:
        raise AccountError("the two passwords differ; run the command again")
    return password


def _add(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    account = _with_accounts(args, lambda accounts: accounts.add(args.username, password, args.role, args.name))
    print(f"Added {account.role.value} {account.username} ({account.display_name})")
    return OK


def _list(args: argparse.Namespace) -> int:
    accounts = _with_accounts(args, lambda accounts: accounts.list())
    if not accounts:
        print("No users yet; add one with `deskmate users add USERNAME --role admin`.")
        return OK
    width = max(len(a.username) for a in accounts)
    for a in accounts:
        print(f"{a.username:<{width}}  {a.role.value:<5}  {_when(a.created_at)}  {a.display_name}")
    return OK


def _remove(args: argparse.Namespace) -> int:
    ended = _with_accounts(args, lambda accounts: accounts.remove(args.username))
    noun = "session" if ended == 1 else "sessions"
    print(f"Removed {args.username} ({ended} {noun} ended)")
    return OK


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))
