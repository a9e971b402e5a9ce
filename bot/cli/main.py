"""The ``deskmate`` command line: serve, train, kb validate|build, admin token, bench intents."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.admin import add_commands as add_admin_commands
from bot.cli.bench import add_commands as add_bench_commands
from bot.cli.conversations import add_commands as add_conversation_commands
from bot.cli.kb_admin import add_commands as add_kb_admin_commands
from bot.cli.report import add_commands as add_report_commands
from bot.cli.testing import add_commands as add_test_commands
from bot.cli.users import add_commands as add_user_commands
from bot.errors import DeskmateError, KBValidationError
from bot.ops.logcontext import configure_cli_logging

if TYPE_CHECKING:
    pass

logger = logging.getLogger("deskmate")


def _configure_logging(level: str) -> None:
    configure_cli_logging(level)


def _serve(args: argparse.Namespace) -> int:
    from bot.app import serve
    from bot.ops.config import Settings

    settings = Settings.from_env(host=args.host, port=args.port, kb_path=args.kb, data_dir=args.data_dir)
    _configure_logging(settings.log_level)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))
    return 0


def _train(args: argparse.Namespace) -> int:
    from retrieval.embedder import MiniLMEmbedder
    from training.config import TrainingConfig
    from training.data import IntentData, load_csv
    from training.intent_model import train_intent_model

    _configure_logging("INFO")
    config = TrainingConfig(**({"epochs": args.epochs} if args.epochs else {}))
    if args.csv:
        data = load_csv(args.csv)
    else:
        from kb.loader import load_kb

        texts, labels = load_kb(args.kb).training_examples()
        data = IntentData(texts, labels)
    print(f"Training on {len(data)} examples of {len(data.label_names)} intents", file=sys.stderr)
    model = train_intent_model(data, MiniLMEmbedder(), config=config)
    model.save(args.out)
    metrics = model.metrics
    print(
        f"Saved the intent model to {args.out}: temperature {model.temperature:.2f}, answer threshold "
        f"{model.threshold:.2f} (answers {100 * metrics.get('answered_coverage', 0):.0f}% of validation messages), "
        f"ECE {100 * metrics.get('ece_before', 0):.1f}% -> {100 * metrics.get('ece_after', 0):.1f}%"
    )
    return 0


def _kb_validate(args: argparse.Namespace) -> int:
    from kb.build import kb_pairs
    from kb.loader import load_kb
    from kb.masking import load_deidentifier, persona_warnings, personal_data_warnings

    kb = load_kb(args.path)
    # without the KB's own values kept: personal data in its templates is what to warn about
    warnings = personal_data_warnings(kb, load_deidentifier(args.path, kb, own_values=False).find)
    warnings += persona_warnings(kb)
    examples = sum(len(i.examples) for i in kb.intents)
    print(
        f"{kb.name}: OK - {len(kb.intents)} intents, {examples} examples, {len(kb.faq)} FAQ entries, "
        f"{len(kb.dialogues)} dialogues ({len(kb_pairs(kb))} retrieval pairs)"
    )
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _kb_build(args: argparse.Namespace) -> int:
    from bot.ops.config import Settings
    from kb.build import build_kb
    from retrieval.embedder import MiniLMEmbedder

    _configure_logging("INFO")
    settings = Settings.from_env(data_dir=args.data_dir)
    info = build_kb(args.path, args.out or settings.builds, embedder=MiniLMEmbedder())
    print(f"Built {info.id} in {info.path}")
    print("masked: " + (", ".join(f"{n} {kind}" for kind, n in sorted(info.masked.items())) or "nothing"))
    if info.replies:
        r = info.replies
        print(
            f"past replies: {r.get('general', 0)} general, {r.get('case_specific', 0)} case-specific "
            f"(suggestions for agents only), {r.get('persona', 0)} said as a person"
        )
    return 0


def _kb_import_rasa(args: argparse.Namespace) -> int:
    from bot.errors import KBError
    from kb.rasa.importer import import_rasa, import_rasa_project

    if args.project is not None and args.nlu is None:
        summary = import_rasa_project(args.project, args.out, domain=args.domain, force=args.force, name=args.name)
    elif args.project is None and args.nlu is not None and args.domain is not None:
        summary = import_rasa(args.nlu, args.domain, args.out, force=args.force, name=args.name)
    else:
        raise KBError(
            "pass the Rasa project folder (`deskmate kb import-rasa PROJECT_DIR --out DIR`), "
            "or one NLU file and the domain (`--nlu FILE --domain FILE`), not both"
        )
    print("\n".join(summary.describe()))
    print(f"The KB loads. Next: edit it, then `deskmate kb build {args.out}`")
    return 0


def _kb_import(args: argparse.Namespace) -> int:
    from bot.ops.config import Settings
    from kb.importer import import_dialogues

    summary = import_dialogues(args.file, Settings.from_env(kb_path=args.kb).kb_path)
    masked = ", ".join(f"{count} {kind}" for kind, count in sorted(summary.masked.items())) or "nothing"
    print(
        f"Imported {summary.imported} of {summary.read} dialogues into {summary.path} "
        f"({summary.duplicates} duplicates dropped); masked: {masked}"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    from bot.cli.evaluation import evaluate

    _configure_logging("WARNING")
    return evaluate(Path(args.model), Path(args.test), Path(args.out), language=args.language)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deskmate", description="Deskmate customer-service chatbot")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the chat server (trains the KB's model on first start)")
    serve.add_argument("--kb", type=Path, help="KB folder (default: the bundled demo KB; env DESKMATE_KB_PATH)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, help="where the database and builds live (default ./var)")
    serve.set_defaults(run=_serve)

    train = commands.add_parser("train", help="fine-tune an intent classifier and save it")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--kb", type=Path, help="train on the intents of this KB folder")
    source.add_argument("--csv", type=Path, help="train on a text,intent CSV")
    train.add_argument("--out", type=Path, required=True, help="folder to save the model to")
    train.add_argument("--epochs", type=int, help="training epochs (default from TrainingConfig)")
    train.set_defaults(run=_train)

    kb = commands.add_parser("kb", help="knowledge-base tools")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    validate = kb_commands.add_parser("validate", help="check a KB folder; errors name file, line and fix")
    validate.add_argument("path", type=Path)
    validate.set_defaults(run=_kb_validate)
    build = kb_commands.add_parser("build", help="build a KB folder (train, embed, index)")
    build.add_argument("path", type=Path)
    build.add_argument("--out", type=Path, help="builds folder (default ./var/builds)")
    build.add_argument("--data-dir", type=Path)
    build.set_defaults(run=_kb_build)
    import_rasa = kb_commands.add_parser(
        "import-rasa", help="write a new KB folder from a Rasa 2/3 project: NLU, rules, stories, forms, responses"
    )
    import_rasa.add_argument(
        "project",
        nargs="?",
        type=Path,
        metavar="PROJECT_DIR",
        help="the Rasa project folder (domain.yml or domain/, and data/)",
    )
    import_rasa.add_argument("--nlu", type=Path, help="instead of PROJECT_DIR: one Rasa NLU file (Rasa 2 or 3 YAML)")
    import_rasa.add_argument(
        "--domain", type=Path, help="the domain: a file or a folder (default with PROJECT: domain.yml, else domain/)"
    )
    import_rasa.add_argument("--out", type=Path, required=True, help="the KB folder to write (new or empty)")
    import_rasa.add_argument("--force", action="store_true", help="overwrite the KB files of a non-empty --out")
    import_rasa.add_argument("--name", help="the KB's name in kb.yml (default: the --out folder's name)")
    import_rasa.set_defaults(run=_kb_import_rasa)
    kb_import = kb_commands.add_parser(
        "import", help="add past conversations (.jsonl or question,answer .csv) to a KB, masking personal data"
    )
    kb_import.add_argument("file", type=Path, help="a .jsonl export (one dialogue per line) or a .csv")
    kb_import.add_argument("--kb", type=Path, help="KB folder (default: the configured one; env DESKMATE_KB_PATH)")
    kb_import.set_defaults(run=_kb_import)
    add_kb_admin_commands(kb_commands)

    add_user_commands(commands)

    add_admin_commands(commands)

    add_conversation_commands(commands)
    add_report_commands(commands)

    evaluate = commands.add_parser("eval", help="evaluation report of an intent model on a labelled CSV")
    evaluate.add_argument("model", type=Path, help="an intent model folder, a KB build, or a KB folder")
    evaluate.add_argument("--test", type=Path, required=True, help="text,intent CSV (intent may be out_of_scope)")
    evaluate.add_argument(
        "--language",
        help="the customers' browser language (e.g. es), as the widget sends it: read a message too short to "
        "say its own language as this one (KB builds only)",
    )
    evaluate.add_argument("--out", type=Path, required=True, help="folder for metrics.json, plots and index.html")
    evaluate.set_defaults(run=_eval)

    add_bench_commands(commands)
    add_test_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Weights come from pip packages; never reach for a model hub at run time.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KBValidationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DeskmateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
