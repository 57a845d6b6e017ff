"""Tab completion through the installed entry point, as bash asks for it: fixed words, the config's
lists, customers, tickets and follow-ups; and a database that is not there is neither created nor
complained about."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from carecli.cli import app

CARECLI = Path(sys.executable).parent / "carecli"  # the installed entry point

pytestmark = pytest.mark.skipif(not CARECLI.exists(), reason="carecli is not installed next to this Python")


def complete(words: str, **env: str) -> list[str]:
    """What bash gets back for `words` (the word being completed is the last one, maybe empty)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    result = subprocess.run(
        [str(CARECLI)],
        env={**os.environ, "_CARECLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stderr == ""
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("carecli ticket list --status ", ["open", "pending", "closed", "active", "all"]),
        ("carecli ticket list --status open,p", ["open,pending"]),
        ("carecli ticket list -f j", ["json", "jsonl"]),
        ("carecli ticket list --channel e", ["email"]),
        ("carecli ticket open Ann Hi --priority u", ["urgent"]),
        ("carecli followup list --status s", ["scheduled", "skipped"]),
        ("carecli followup add Ann --due today --kind t", ["tip", "thank-you"]),
        ("carecli ticket delete 1 --reason ", ["duplicate", "spam", "mistake", "other"]),
        ("carecli kpi --by ", ["channel", "category", "priority", "day", "week", "month", "product"]),
        ("carecli report weekly --format ", ["text", "markdown", "json", "html"]),
        ("carecli log Ann hello --direction ", ["in", "out", "note"]),
        ("carecli survey list --kind ", ["csat", "ces", "nps"]),
        ("carecli mail log --status ", ["filed", "skipped", "quarantined"]),
        ("carecli export t", ["tickets"]),
        (
            "carecli export tickets --status open,",
            [f"open,{s}" for s in ("open", "pending", "closed", "scheduled", "done", "skipped", "active", "all")],
        ),
        ("carecli import tickets x.csv --on-duplicate ", ["skip", "update", "error"]),
    ],
)
def test_tab_completes_every_enumerated_value(words, expected):
    assert complete(words) == expected


@pytest.fixture
def shop(run):
    run("customer", "add", "Ann Archer", "--email", "ann@example.com", ok=True)
    run("customer", "add", "Bob Brown", "--email", "bob@example.com", ok=True)
    run("customer", "add", "anna Alvarez", "--email", "alvarez@example.org", ok=True)
    run("ticket", "open", "Ann Archer", "Broken vase", ok=True)  # 1, open
    run("ticket", "open", "Bob Brown", "Late parcel", ok=True)  # 2, closed below
    run("ticket", "open", "Bob Brown", "Wrong colour", ok=True)  # 3, open
    run("ticket", "close", "2", "--no-followup", ok=True)
    return run


def test_customer_references_complete_to_names_and_emails_of_any_case(shop):
    assert complete("carecli customer show a") == [
        "alvarez@example.org",
        "Ann Archer",
        "ann@example.com",
        "anna Alvarez",
    ]
    assert complete("carecli ticket open B") == ["Bob Brown", "bob@example.com"]
    assert complete("carecli ticket list --customer bo") == ["Bob Brown", "bob@example.com"]
    assert complete("carecli customer show z") == []


def test_ticket_ids_complete_open_ones_first_then_the_rest_most_recent_first(shop):
    assert complete("carecli ticket reply ") == ["3", "1", "2"]
    assert complete("carecli ticket reply 2") == ["2"]


def test_ticket_ids_carry_the_subject_as_description_where_the_shell_shows_one(shop):
    result = subprocess.run(
        [str(CARECLI)],
        env={**os.environ, "_CARECLI_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "carecli ticket reply "},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '"3":"Wrong colour (open)"' in result.stdout


def test_followup_ids_complete_scheduled_ones_first(shop):
    shop("followup", "add", "Ann Archer", "--due", "tomorrow", "--note", "call back", ok=True)  # 1
    shop("followup", "add", "Bob Brown", "--due", "tomorrow", ok=True)  # 2
    shop("followup", "done", "2", ok=True)
    assert complete("carecli followup done ") == ["1", "2"]


def test_completing_against_a_missing_database_prints_nothing_and_creates_no_file(tmp_path):
    missing = tmp_path / "nowhere" / "care.db"
    for words in ("carecli ticket reply ", "carecli customer show a", "carecli followup done "):
        assert complete(words, CARECLI_DB=str(missing)) == []
        assert complete(f"carecli --db {missing} {words.removeprefix('carecli ')}") == []
    assert not missing.exists() and not missing.parent.exists()


def test_completing_reads_the_database_without_changing_it(shop, db_path):
    before = db_path.read_bytes()
    assert complete("carecli ticket reply ") and complete("carecli customer show a")
    assert db_path.read_bytes() == before


# An option or argument whose help lists its values ("a, b or c"), names a config list, or refers
# to a customer, ticket or follow-up has a completer; these few take free text despite their help.
LISTED = re.compile(r"(?:^|: )[\w-]+(?: \([^)]*\))?(?:, [\w-]+(?: \([^)]*\))?)*,? or [\w-]+")
FREE_TEXT = {("customer list", "search"), ("import", "file")}  # a name, a path
RECORD_IDS = {"ticket_id", "ticket", "to_ticket", "followup_id"}


def parameters(command: click.Command, path: str = ""):
    for param in command.params:
        yield path, param
    for name, sub in getattr(command, "commands", {}).items():
        yield from parameters(sub, f"{path} {name}".strip())


def takes_a_known_value(path: str, param: click.Parameter) -> bool:
    if (path, param.name) in FREE_TEXT or getattr(param, "is_flag", False):
        return False
    help_text = (getattr(param, "help", None) or "").split("[")[0]
    return bool(
        LISTED.search(help_text)
        or "from config" in help_text
        or param.name in RECORD_IDS
        or (path.endswith("merge") and param.name == "into")
    )


def test_every_option_with_a_known_set_of_values_has_a_completer():
    tree = typer.main.get_command(app)
    known = [(path, param) for path, param in parameters(tree) if takes_a_known_value(path, param)]
    assert len(known) > 40  # the rule above still finds them
    missing = [f"{path} {param.name}" for path, param in known if param._custom_shell_complete is None]
    assert missing == []
