"""Malformed input to every command: a clear one-line error or a usage error, never a traceback,
and nothing written. The command list comes from the CLI itself, so new commands are covered."""

from __future__ import annotations

import os

import pytest
import typer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carecli.cli import app
from tests.conftest import database_digest

try:
    import click
except ImportError:  # pragma: no cover - typer may vendor click
    click = None

# Values no command should accept as given, or at worst takes as free text.
CONTROL = "".join(chr(c) for c in range(0, 32)) + "\x7f"
COMMON = [
    "",
    " ",
    "\t",
    "\x00",
    "\n\n",
    "-",
    "--",
    "%",
    "_",
    "'",
    '"',
    "\\",
    "#",
    "#0",
    "0",
    "-1",
    "NaN",
    "inf",
    "None",
    "null",
    "💥",
    "é\u0301",
    "\u202e",
    "\ufeff",
    "x" * 100_000,
    "1" * 400,
]
TIMES = [
    "yesterdayy",
    "2026-13-45",
    "2026-02-30",
    "32/01/2026",
    "+99999999d",
    "-99999999999y",
    "next blursday",
    "25:61",
    "9999-12-31 25:00",
    "0000-00-00",
    "2026-03-14T10:00:00+99:00",
    "1e9",
    "tomorrow tomorrow",
    "@",
    "3 fortnights",
    "١٢/٠٣/٢٠٢٦",
]
NUMBERS = [
    "abc",
    "1.5",
    "1e3",
    "0x10",
    "99999999999999999999999",
    "-99999999999999999999999",
    "١٢",
    "½",
    "--1",
    "+",
    "1 2",
    "٣",
]
EXAMPLES = int(os.environ.get("CARECLI_FUZZ_EXAMPLES", "12"))  # per command; raise it to hunt for bugs
TIME_OPTIONS = {"--at", "--since", "--until", "--due", "--due-by", "--date", "--until-date", "--snooze"}

junk_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(CONTROL), max_size=30
)


def leaf_commands(command, path=()):
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if getattr(sub, "commands", None) is not None and hasattr(sub, "list_commands"):
            yield from leaf_commands(sub, (*path, name))
        else:
            yield (*path, name), sub


COMMANDS = [
    (path, command)
    for path, command in leaf_commands(typer.main.get_command(app))
    if any(not _flag for _flag in (getattr(p, "is_flag", False) for p in command.params))
]


def malformed(param) -> st.SearchStrategy[str]:
    """Clearly wrong values for one parameter, by its type and name."""
    names = set(getattr(param, "opts", []))
    type_name = type(param.type).__name__
    choices = [st.sampled_from(COMMON), junk_text]
    if names & TIME_OPTIONS:
        choices.append(st.sampled_from(TIMES))
    if "Int" in type_name or "Float" in type_name:
        choices = [st.sampled_from(NUMBERS + COMMON[:12])]
    if type_name == "Choice":
        choices = [st.sampled_from(["", "nope", "ALL ", "\x00", "x" * 1000])]
    return st.one_of(*choices)


def invocation(path, command) -> st.SearchStrategy[list[str]]:
    positional = [p for p in command.params if p.param_type_name == "argument"]
    options = [
        p for p in command.params if p.param_type_name == "option" and not getattr(p, "is_flag", False) and not p.hidden
    ]

    @st.composite
    def build(draw):
        args = [*path]
        for param in positional:
            # Keep a known-good value for most arguments, so the option under test is reached.
            args.append(draw(st.one_of(st.sampled_from(["1", "ada"]), malformed(param))))
        chosen = draw(st.lists(st.sampled_from(options), max_size=2, unique_by=lambda p: p.name)) if options else []
        for param in chosen:
            args += [param.opts[0], draw(malformed(param))]
        return args

    return build()


def check_outcome(args, result, before, db_path) -> None:
    output = (result.stdout or "") + (result.stderr or "")
    assert "Traceback" not in output, args
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, repr(result.exception))
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, output[-500:])
    if result.exit_code == 0:
        return  # the value happened to be valid
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if result.exit_code == 1:
        errors = [line for line in lines if line.startswith("error:")]
        assert len(errors) == 1 and lines[-1] == errors[0], (args, result.stderr[-500:])
        assert "internal error" not in errors[0], (args, errors[0])
    else:
        # click's usage errors, or carecli's own one line (a NUL in an argument: see CareGroup.parse_args)
        assert any("Usage:" in line or line.startswith(("Error", "error:")) or "Error:" in line for line in lines), (
            args,
            result.stderr[-500:],
        )
    assert database_digest(db_path) == before, (args, "a failed command wrote to the database")


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_malformed_values_give_a_clear_error_and_write_nothing(shop, db_path, path, command, tmp_path, monkeypatch):
    # Values that happen to be valid file names (db backup, export --output) land here, not in the repo.
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(invocation(path, command))
    def attempt(args):
        before = database_digest(db_path)
        result = shop(*args)
        check_outcome(args, result, before, db_path)

    attempt()


def test_a_config_file_that_is_not_toml_gives_one_line(run, isolated, db_path):
    config = isolated / "bad.toml"
    config.write_text("channels = [email\n[care\n")
    result = run("--config", str(config), "ticket", "list")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid TOML in") and "Traceback" not in result.stderr


def test_a_config_file_with_wrong_types_or_encoding_gives_one_line(run, isolated):
    for content in (b"channels = 5\n", b'dayfirst = "maybe"\n', b"\xff\xfe\x00bad", b'timezone = "Mars/Olympus"\n'):
        config = isolated / "bad.toml"
        config.write_bytes(content)
        result = run("--config", str(config), "ticket", "list")
        assert result.exit_code == 1, content
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (content, result.stderr)
