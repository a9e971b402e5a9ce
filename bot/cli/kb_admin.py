"""``deskmate kb reload | versions | rollback``: KB administration of a running service."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

OK, FAILED, REJECTED = 0, 1, 2


def add_commands(kb_commands: Any) -> None:
    reload = kb_commands.add_parser("reload", help="rebuild the KB on the running server and swap it in live")
    _server_args(reload)
    reload.set_defaults(run=_reload)

    versions = kb_commands.add_parser("versions", help="the KB builds and the reload history")
    versions.add_argument("--data-dir", type=Path, help="where the database and builds live (default ./var)")
    versions.set_defaults(run=_versions)

    rollback = kb_commands.add_parser("rollback", help="serve an earlier KB build again")
    rollback.add_argument("build", help="a build id from `deskmate kb versions`")
    _server_args(rollback)
    rollback.add_argument("--data-dir", type=Path, help="where the builds live (used when no server runs)")
    rollback.set_defaults(run=_rollback)


def _server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="HOST:PORT of the running server (default from DESKMATE_HOST/PORT)")


def _server_and_token(args: argparse.Namespace) -> tuple[str, str]:
    """The server to ask, and the admin token: ``DESKMATE_ADMIN_TOKEN``, else the one kept in the data folder."""
    from bot.ops.config import Settings

    settings = Settings.from_env(data_dir=getattr(args, "data_dir", None))
    token = settings.admin_token or settings.stored_admin_token()
    if token is None:
        raise ConfigError(
            f"no admin token: set DESKMATE_ADMIN_TOKEN to the one the server uses, or run `deskmate admin token` "
            f"(it keeps one in {settings.admin_token_file}; the server uses it after a restart)"
        )
    return args.server or f"{settings.host}:{settings.port}", token


def _print_result(frame: dict[str, Any]) -> int:
    record = frame["record"]
    if record["outcome"] == "serving":
        print(f"Serving {record['build_id']} ({record['detail']}, {record['seconds']:.1f} s)")
        return OK
    if record["outcome"] == "rejected":
        print("The KB was rejected; the previous version keeps serving. Fix these and reload:")
        for issue in frame["issues"]:
            where = f"{issue['file']}:{issue['line']}" if issue["line"] else issue["file"]
            print(f"  - {where}: {issue['message']}")
        return REJECTED
    print(f"The new version failed its checks; the previous version keeps serving: {record['detail']}")
    return FAILED


def _reload(args: argparse.Namespace) -> int:
    from bot.cli.admin_client import admin_change

    server, token = _server_and_token(args)
    print(f"Reloading the KB on {server} ...", flush=True)
    return _print_result(asyncio.run(admin_change(server, token, {"type": "reload", "id": "cli-reload"})))


def _rollback(args: argparse.Namespace) -> int:
    from bot.cli.admin_client import ServerUnreachableError, admin_change
    from bot.ops.config import Settings
    from kb.build import find_build
    from kb.loader import load_kb
    from kb.versions import ActiveBuild, write_active

    server, token = _server_and_token(args)
    frame = {"type": "rollback", "id": "cli-rollback", "build": args.build}
    try:
        return _print_result(asyncio.run(admin_change(server, token, frame)))
    except ServerUnreachableError as exc:
        settings = Settings.from_env(data_dir=args.data_dir)
        if find_build(settings.builds, args.build) is None:
            raise ConfigError(f"no build {args.build!r} in {settings.builds}; see `deskmate kb versions`") from exc
        write_active(settings.builds, ActiveBuild(args.build, load_kb(settings.kb_path).content_hash()))
        print(f"No server is running ({server}); {args.build} will be served at the next `deskmate serve`")
        print("(until the KB files change).")
        return OK


def _versions(args: argparse.Namespace) -> int:
    from bot.ops.config import Settings
    from bot.storage.factory import open_stores
    from kb.build import list_builds
    from kb.versions import read_active

    settings = Settings.from_env(data_dir=args.data_dir)
    active = read_active(settings.builds)
    builds = list(reversed(list_builds(settings.builds)))
    if not builds:
        print(f"No builds in {settings.builds}; run `deskmate serve` or `deskmate kb build`.")
        return OK
    print(f"Builds in {settings.builds} (newest first):")
    for build in builds:
        mark = "*" if active is not None and active.build_id == build.id else " "
        print(f" {mark} {build.id}  {_when(build.created_at)}  {build.kb_name}  content {build.content_hash[:12]}")
    print("  (* = active)")

    async def history() -> list[Any]:
        stores = await open_stores(settings)
        try:
            return await stores.store.reloads(limit=20)
        finally:
            await stores.close()

    if settings.database_url or settings.database.is_file():
        records = asyncio.run(history())
        if records:
            print("Recent reloads:")
            for r in records:
                built = r.build_id or "-"
                print(f"  {_when(r.at)}  {r.actor:<8} {r.action.value:<8} {r.outcome.value:<9} {built}  {r.detail}")
    return OK


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))
