"""Customer text never drives the terminal: every output for people shows control characters escaped.

A name or message may carry ESC]52 (write the clipboard), ESC]0 (the window title), ESC[2J (clear
the screen) or 8-bit C1 controls. Tables, plain text, reports and stderr confirmations show them as
`\\x1b`, `\\x9b`...; JSON keeps the text (escaped by JSON itself).
"""

from __future__ import annotations

import json
import re

import pytest

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"  # "rm -rf ~" into the clipboard
NAME = "Eve\x1b]0;pwned\x07\x9b2J"
SUBJECT = f"Refund {CLIPBOARD}now"
BODY = "first line\r\nsecond\x1b[2J line\n\x85third"
NOTE = f"call back \x1b[31m{CLIPBOARD}"
COMMENT = "meh\x9d0;title\x9c"

# Any C0 control but newline, DEL, or any C1 control: what a terminal would act on.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile(run):
    run("customer", "add", "--email", "eve@example.com", "--at", "2026-03-01", "--", NAME, ok=True)
    run("ticket", "open", "eve@example.com", "--at", "2026-03-13 09:00", "-m", BODY, "--", SUBJECT, ok=True)
    run("ticket", "note", "1", BODY, ok=True)
    run("followup", "add", "eve@example.com", "--due", "today", "--note", NOTE, ok=True)
    run("ticket", "open", "eve@example.com", "--at", "2026-03-12 09:00", "--", "second", ok=True)
    run("ticket", "close", "2", ok=True)
    run("survey", "csat", "2", "2", "--comment", COMMENT, ok=True)
    return run


COMMANDS = [
    ("ticket", "show", "1"),
    ("ticket", "list"),
    ("customer", "list"),
    ("customer", "show", "eve@example.com"),
    ("customer", "health"),
    ("today",),
    ("followup", "list"),
    ("search", "first"),
    ("search", "refund"),
    ("survey", "list"),
    ("report", "daily"),
    ("report", "daily", "--format", "markdown"),
]


def _assert_safe(text: str) -> None:
    assert not CONTROL.search(text), repr(CONTROL.search(text))
    assert "\x1b" not in text and "\x9b" not in text


@pytest.mark.parametrize("rich", [False, True], ids=["plain", "rich"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_view_for_people_shows_control_characters_escaped(hostile, monkeypatch, args, rich):
    if rich:  # a person at a colour terminal: rich tables
        monkeypatch.setattr("carecli.cli.output.use_rich", lambda stream: True)
    result = hostile(*args, ok=True)
    _assert_safe(result.stdout)
    _assert_safe(result.stderr)
    assert "\\x1b" in result.stdout or "\\x9b" in result.stdout or "\\x9d" in result.stdout


def test_the_escaped_forms_are_what_people_see(hostile):
    shown = hostile("ticket", "show", "1", ok=True).stdout
    assert "Eve\\x1b]0;pwned\\x07\\x9b2J" in shown
    assert "Refund \\x1b]52;c;cm0gLXJmIH4=\\x07now" in shown
    # A message body keeps its lines (CRLF is one break); only the controls inside are escaped.
    assert "first line\n" in shown and "second\\x1b[2J line" in shown and "\\x85third" in shown
    assert "meh\\x9d0;title\\x9c" in hostile("survey", "list", ok=True).stdout


def test_stderr_confirmations_escape_customer_text(run):
    added = run("customer", "add", "--email", "eve@example.com", "--", NAME, ok=True)
    assert added.stderr == "added customer #1 Eve\\x1b]0;pwned\\x07\\x9b2J\n"
    opened = run("ticket", "open", "1", "--", SUBJECT, ok=True)
    assert opened.stderr.startswith("opened ticket #1, Eve\\x1b]0;pwned\\x07\\x9b2J: Refund ")
    _assert_safe(opened.stderr)
    scheduled = run("followup", "add", "1", "--due", "tomorrow", ok=True)
    _assert_safe(scheduled.stderr)
    assert "Eve\\x1b]0;pwned" in scheduled.stderr
    for result in (added, opened, scheduled):
        _assert_safe(result.stdout)


def test_error_lines_still_escape_what_the_user_typed(run):
    result = run("customer", "show", "no\x1b[2Jbody")
    assert result.exit_code == 1
    _assert_safe(result.stderr)
    assert "no\\x1b[2Jbody" in result.stderr


@pytest.mark.parametrize(
    "args, pick",
    [
        (("ticket", "show", "1"), lambda d: (d["customer_name"], d["subject"])),
        (("customer", "show", "eve@example.com"), lambda d: (d["name"], d["timeline"][0]["body"])),
        (("ticket", "list"), lambda d: (d[-1]["customer_name"], d[-1]["subject"])),
        (("followup", "list"), lambda d: (d[0]["customer_name"], d[0]["note"])),
        (("survey", "list"), lambda d: (d[0]["customer_name"], d[0]["comment"])),
    ],
)
def test_json_keeps_the_original_text(hostile, args, pick):
    out = hostile(*args, "--format", "json", ok=True).stdout
    _assert_safe(out)  # JSON writes them as \u001b, \u009b
    values = pick(json.loads(out))
    assert values[0] == NAME
    assert values[1] in (SUBJECT, BODY, NOTE, COMMENT)


def test_report_json_keeps_the_original_text(hostile):
    out = hostile("report", "daily", "--format", "json", ok=True).stdout
    _assert_safe(out)
    report = json.loads(out)
    assert NAME in {t["customer_name"] for t in report["agenda"]["waiting_on_us"]}
