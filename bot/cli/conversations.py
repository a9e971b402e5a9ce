"""``deskmate conversations export ID``: one conversation's transcript as JSON, from SQLite or PostgreSQL."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: Any) -> None:
    conversations = commands.add_parser("conversations", help="conversation transcripts")
    sub = conversations.add_subparsers(dest="conversations_command", required=True)
    export = sub.add_parser("export", help="write one conversation's transcript as JSON")
    export.add_argument("conversation_id", help="the id shown in the agent console (c_...)")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.add_argument("--data-dir", type=Path, help="where the database lives (default ./var)")
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from bot.errors import StoreError
    from bot.ops.config import Settings
    from bot.service.desk import transcript_from_store
    from bot.storage.factory import open_stores

    settings = Settings.from_env(data_dir=args.data_dir)
    if not settings.database_url and not settings.database.is_file():
        raise StoreError(
            f"no database at {settings.database}; pass --data-dir, or set DESKMATE_DB_PATH or DESKMATE_DATABASE_URL"
        )

    async def read() -> dict[str, Any]:
        stores = await open_stores(settings)
        try:
            return await transcript_from_store(stores.store, args.conversation_id)
        finally:
            await stores.close()

    text = json.dumps(asyncio.run(read()), indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"Wrote {args.out}", file=sys.stderr)
    return 0
