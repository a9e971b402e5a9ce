"""kb.importer: past conversations go into dialogues.jsonl de-identified, deduplicated, all or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.errors import KBIssue, KBValidationError
from bot.ops.config import DEMO_KB
from kb.importer import GENERATED_ID_PREFIX, import_dialogues
from kb.loader import load_kb
from kb.masking import load_deidentifier
from retrieval.privacy.masking import Deidentifier

KB_YML = "name: Lamp Corner\n"

EXISTING = [
    {
        "id": "old1",
        "turns": [
            {"speaker": "customer", "text": "Does the lamp come with a bulb?"},
            {"speaker": "agent", "text": "Yes, a warm LED bulb."},
        ],
    }
]


def turn(speaker: str, text: str) -> dict[str, str]:
    return {"speaker": speaker, "text": text}


def jsonl(*dialogues: object) -> str:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in dialogues)


def make_kb(root: Path, *, kb_yml: str = KB_YML, dialogues: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "kb.yml").write_text(kb_yml, encoding="utf-8")
    if dialogues is not None:
        (root / "dialogues.jsonl").write_text(dialogues, encoding="utf-8")
    return root


def written(kb: Path) -> list[dict[str, object]]:
    lines = (kb / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def issues_of(source: Path, kb: Path) -> list[KBIssue]:
    with pytest.raises(KBValidationError) as info:
        import_dialogues(source, kb)
    assert info.value.issues
    return info.value.issues


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return make_kb(tmp_path / "kb", dialogues=jsonl(*EXISTING))


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_is_deidentified_and_appended(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "export.jsonl"
    source.write_text(
        jsonl(
            {
                "id": "t-100",
                "turns": [
                    turn("customer", "  My lamp broke, mail me at ann@example.com  "),
                    turn("agent", "Sorry! Call us on 020 7946 0958."),
                ],
            },
            {
                "id": 101,
                "turns": [turn("customer", "card 4111 1111 1111 1111 was charged twice"), turn("agent", "Refunded.")],
            },
        ),
        encoding="utf-8",
    )

    summary = import_dialogues(source, kb)

    assert (summary.read, summary.imported, summary.duplicates) == (2, 2, 0)
    assert summary.masked == {"email": 1, "phone": 1, "card": 1}
    assert summary.path == kb / "dialogues.jsonl"
    assert written(kb) == [
        *EXISTING,
        {
            "id": "t-100",
            "turns": [
                turn("customer", "My lamp broke, mail me at {email}"),
                turn("agent", "Sorry! Call us on {phone}."),
            ],
        },
        {"id": "101", "turns": [turn("customer", "card {card} was charged twice"), turn("agent", "Refunded.")]},
    ]
    text = (kb / "dialogues.jsonl").read_text(encoding="utf-8")
    assert "ann@example.com" not in text and "7946" not in text and "4111" not in text


def test_speaker_aliases_map_to_customer_and_agent(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "aliases.jsonl"
    turns = [turn("user", "hi"), turn("Wizard", "hello"), turn("USER", "bye"), turn("assistant", "bye!")]
    source.write_text(
        jsonl({"id": "a", "turns": [*turns, turn("customer", "x"), turn("agent", "y")]}), encoding="utf-8"
    )

    import_dialogues(source, kb)

    speakers = [t["speaker"] for t in written(kb)[-1]["turns"]]  # type: ignore[index]
    assert speakers == ["customer", "agent", "customer", "agent", "customer", "agent"]


def test_missing_ids_are_made_from_the_deidentified_content(kb: Path, tmp_path: Path) -> None:
    dialogue = {"turns": [turn("customer", "I am bob@example.com"), turn("agent", "Hi Bob")]}
    source = tmp_path / "no-ids.jsonl"
    source.write_text(jsonl(dialogue, {"id": None, "turns": [turn("customer", "other"), turn("agent", "reply")]}))
    other = make_kb(tmp_path / "other")

    import_dialogues(source, kb)
    import_dialogues(source, other)

    ids = [d["id"] for d in written(kb)[1:]]
    assert [d["id"] for d in written(other)] == ids  # stable: same content, same id
    assert all(isinstance(i, str) and i.startswith(GENERATED_ID_PREFIX) for i in ids)
    assert len(set(ids)) == 2
    # the id is made after de-identification: another e-mail address gives the same id
    source.write_text(jsonl({"turns": [turn("customer", "I am eve@example.org"), turn("agent", "Hi Bob")]}))
    third = make_kb(tmp_path / "third")
    import_dialogues(source, third)
    assert written(third)[0]["id"] == ids[0]


# --- CSV -----------------------------------------------------------------------------------


def test_csv_rows_become_two_turn_dialogues(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(
        "\ufeffQuestion, Answer\n"
        "How long is the warranty?,Two years.\n"
        "\n"
        '"Can I pay by card, e.g. 5500 0000 0000 0004?","Yes.\nWe take all cards."\n',
        encoding="utf-8",
    )

    summary = import_dialogues(source, kb)

    assert (summary.read, summary.imported, summary.masked) == (2, 2, {"card": 1})
    assert [d["turns"] for d in written(kb)[1:]] == [
        [turn("customer", "How long is the warranty?"), turn("agent", "Two years.")],
        [turn("customer", "Can I pay by card, e.g. {card}?"), turn("agent", "Yes.\nWe take all cards.")],
    ]


def test_csv_errors_name_the_line(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text('question,answer\nfine,ok\n"multi\nline",\n,no question\n', encoding="utf-8")

    issues = issues_of(source, kb)

    assert [(i.file, i.line) for i in issues] == [(str(source), 3), (str(source), 5)]
    assert "no answer" in issues[0].message and "no question" in issues[1].message


def test_csv_needs_the_header(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "faq.csv"
    source.write_text("text,intent\nhi,greet\n", encoding="utf-8")

    (issue,) = issues_of(source, kb)

    assert issue.line == 1
    assert "question,answer" in issue.message and "text,intent" in issue.message


# --- duplicates ----------------------------------------------------------------------------


def test_duplicates_in_the_input_and_in_the_kb_are_dropped(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "dupes.jsonl"
    source.write_text(
        jsonl(
            # already in the KB, apart from case and spacing
            {"turns": [turn("user", "does the LAMP come  with a bulb?"), turn("agent", "yes, a warm LED bulb.")]},
            {"id": "n1", "turns": [turn("customer", "write to amy@example.com"), turn("agent", "Done")]},
            # the same once de-identified
            {"id": "n2", "turns": [turn("customer", "write to ben@example.net"), turn("agent", "done")]},
            # repeated with the same id (an export concatenated twice)
            {"id": "n1", "turns": [turn("customer", "write to amy@example.com"), turn("agent", "Done")]},
            {"id": "n3", "turns": [turn("customer", "Something new"), turn("agent", "Indeed")]},
        ),
        encoding="utf-8",
    )

    summary = import_dialogues(source, kb)

    assert (summary.read, summary.imported, summary.duplicates) == (5, 2, 3)
    assert summary.masked == {"email": 1}  # counted in what was imported only
    assert [d["id"] for d in written(kb)] == ["old1", "n1", "n3"]
    again = import_dialogues(source, kb)
    assert (again.imported, again.duplicates) == (0, 5)


def test_nothing_new_leaves_the_file_alone(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "same.jsonl"
    source.write_text(jsonl(*EXISTING), encoding="utf-8")
    before = (kb / "dialogues.jsonl").stat().st_mtime_ns

    summary = import_dialogues(source, kb)

    assert summary.imported == 0
    assert (kb / "dialogues.jsonl").stat().st_mtime_ns == before


def test_an_id_taken_by_another_dialogue_is_an_error(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "clash.jsonl"
    source.write_text(
        jsonl(
            {"id": "old1", "turns": [turn("customer", "different"), turn("agent", "text")]},
            {"id": "x", "turns": [turn("customer", "one")]},
            {"id": "x", "turns": [turn("customer", "two")]},
        ),
        encoding="utf-8",
    )

    issues = issues_of(source, kb)

    assert [i.line for i in issues] == [1, 3]
    assert "dialogues.jsonl line 1" in issues[0].message and "remove `id`" in issues[0].message
    assert f"{source} line 2" in issues[1].message


# --- errors: all listed, nothing written ---------------------------------------------------


def test_every_bad_line_is_reported_and_nothing_is_written(kb: Path, tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text(
        jsonl(
            {"id": "ok", "turns": [turn("customer", "fine"), turn("agent", "good")]},
            '{"id": "broken", "turns": [',
            {"id": "s", "turns": [turn("bot", "hello")]},
            {"id": "e", "turns": [turn("customer", "   ")]},
            {"id": "t"},
            ["not", "an", "object"],
            {"id": True, "turns": [turn("customer", "x")]},
        ),
        encoding="utf-8",
    )
    before = (kb / "dialogues.jsonl").read_bytes()

    issues = issues_of(source, kb)

    assert [(i.file, i.line) for i in issues] == [(str(source), n) for n in (2, 3, 4, 5, 6, 7)]
    messages = [i.message for i in issues]
    assert "invalid JSON" in messages[0]
    assert "'bot'" in messages[1] and '"customer"' in messages[1] and '"wizard"' in messages[1]
    assert "non-empty `text`" in messages[2]
    assert "needs `turns`" in messages[3]
    assert "JSON object" in messages[4]
    assert "`id` must be a string or a number" in messages[5]
    assert (kb / "dialogues.jsonl").read_bytes() == before
    assert sorted(p.name for p in kb.iterdir()) == ["dialogues.jsonl", "kb.yml"]


def test_a_broken_kb_dialogues_file_stops_the_import(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb", dialogues=jsonl(*EXISTING, {"turns": [turn("customer", "no id")]}))
    source = tmp_path / "new.jsonl"
    source.write_text(jsonl({"id": "n", "turns": [turn("customer", "hi")]}), encoding="utf-8")

    (issue,) = issues_of(source, kb)

    assert (issue.file, issue.line) == ("dialogues.jsonl", 2)
    assert "needs an `id`" in issue.message


def test_unusable_inputs_say_what_to_do(kb: Path, tmp_path: Path) -> None:
    (json_file := tmp_path / "export.json").write_text("[]", encoding="utf-8")
    (latin := tmp_path / "latin.csv").write_bytes("question,answer\ncaf\xe9,ok\n".encode("latin-1"))

    assert "no such file" in issues_of(tmp_path / "missing.jsonl", kb)[0].message
    assert ".jsonl" in issues_of(json_file, kb)[0].message
    assert "not UTF-8" in issues_of(latin, kb)[0].message
    assert "pass the path of a KB folder" in issues_of(json_file, tmp_path / "nowhere")[0].message
    assert "no kb.yml" in issues_of(json_file, tmp_path)[0].message


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(
    kb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "new.jsonl"
    source.write_text(jsonl({"id": "n", "turns": [turn("customer", "hi")]}), encoding="utf-8")
    before = (kb / "dialogues.jsonl").read_bytes()

    def fail(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("kb.atomic.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        import_dialogues(source, kb)

    assert (kb / "dialogues.jsonl").read_bytes() == before
    assert sorted(p.name for p in kb.iterdir()) == ["dialogues.jsonl", "kb.yml"]


def test_a_last_line_without_newline_is_kept_intact(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb", dialogues=json.dumps(EXISTING[0]))
    source = tmp_path / "new.jsonl"
    source.write_text(jsonl({"id": "n", "turns": [turn("customer", "hi")]}), encoding="utf-8")

    import_dialogues(source, kb)

    assert [d["id"] for d in written(kb)] == ["old1", "n"]


# --- masking configuration in kb.yml -------------------------------------------------------


def test_kb_yml_configures_order_ids_and_extra_patterns(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb", kb_yml=KB_YML + "masking:\n  order_id: 'PO-\\d{6}'\n  member: M-\\d{4}\n")
    source = tmp_path / "orders.csv"
    source.write_text("question,answer\nwhere is PO-123456? I am M-0042,On its way.\n", encoding="utf-8")

    assert load_deidentifier(kb) == Deidentifier(patterns={"order_id": r"PO-\d{6}", "member": r"M-\d{4}"})
    summary = import_dialogues(source, kb)

    assert summary.masked == {"order_id": 1, "member": 1}
    assert written(kb)[0]["turns"] == [
        turn("customer", "where is {order_id}? I am {member}"),
        turn("agent", "On its way."),
    ]


def test_without_masking_config_or_entities_order_ids_are_kept(tmp_path: Path) -> None:
    assert load_deidentifier(make_kb(tmp_path)) == Deidentifier()
    assert load_deidentifier(tmp_path / "no-such-kb") == Deidentifier()
    assert Deidentifier().deidentify("where is PO-123456?").text == "where is PO-123456?"


def test_bad_masking_config_names_kb_yml_and_the_line(tmp_path: Path) -> None:
    kb = make_kb(tmp_path / "kb", kb_yml=KB_YML + "masking:\n  order_id: 'PO-(\\d{6}'\n  disable: [names]\n")
    source = tmp_path / "new.jsonl"
    source.write_text(jsonl({"id": "n", "turns": [turn("customer", "hi")]}), encoding="utf-8")

    issues = issues_of(source, kb)

    assert [(i.file, i.line) for i in issues] == [("kb.yml", 3), ("kb.yml", 4)]
    assert "not a valid regular expression" in issues[0].message
    assert "unknown kind 'names'" in issues[1].message
    assert not (kb / "dialogues.jsonl").exists()


def test_masking_must_be_a_mapping(tmp_path: Path) -> None:
    kb = make_kb(tmp_path, kb_yml=KB_YML + "masking: PO-\\d{6}\n")

    with pytest.raises(KBValidationError, match=r"kb\.yml:2: `masking` must be a mapping"):
        load_deidentifier(kb)


# --- the result loads as a KB --------------------------------------------------------------


def test_imported_dialogues_load_with_the_kb(tmp_path: Path) -> None:
    kb = tmp_path / "demo"
    shutil.copytree(DEMO_KB, kb)
    count = len(load_kb(kb).dialogues)
    source = tmp_path / "new.csv"
    source.write_text('question,answer\nDo you sell ice axes?,"Not yet, sorry."\n', encoding="utf-8")

    import_dialogues(source, kb)

    loaded = load_kb(kb)
    assert len(loaded.dialogues) == count + 1
    assert loaded.dialogues[-1].turns[0].text == "Do you sell ice axes?"


def test_importing_into_a_whole_kb_uses_its_entities_and_keeps_its_own_values(tmp_path: Path) -> None:
    kb = tmp_path / "demo"
    shutil.copytree(DEMO_KB, kb)
    source = tmp_path / "new.jsonl"
    dialogue = {
        "turns": [
            turn("customer", "Hi, I'm Harriet Quayle, where is PC-402217? It looks like PC-123456, right?"),
            turn("agent", "Hi Harriet, PC-402217 left today. Questions? help@pinecone-outfitters.example"),
        ]
    }
    source.write_text(jsonl(dialogue), encoding="utf-8")

    summary = import_dialogues(source, kb)

    assert summary.masked == {"name": 2, "order_id": 2}
    assert written(kb)[-1]["turns"] == [
        turn("customer", "Hi, I'm {name}, where is {order_id}? It looks like PC-123456, right?"),
        turn("agent", "Hi {name}, {order_id} left today. Questions? help@pinecone-outfitters.example"),
    ]
    load_kb(kb)
