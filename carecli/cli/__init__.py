"""The root command: global options, sub-command groups, and errors turned into one stderr line."""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from carecli import __version__
from carecli.cli.lazy import LazyCommandsMixin, lazy_root
from carecli.cli.state import STATE
from carecli.errors import EXIT_ERROR, CareError


def report_error(exc: CareError) -> None:
    # Messages quote what the user typed: control characters must not break the one line (or the terminal).
    text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(exc))
    print(f"error: {text}", file=sys.stderr)


class CareGroup(LazyCommandsMixin, TyperGroup):
    """Turns expected errors into `error: ...` + exit code, and never shows a traceback by default."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CareError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.Error as exc:
            from carecli.store import store_error

            report_error(store_error(exc, STATE.db_file))
            raise typer.Exit(EXIT_ERROR) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except OverflowError:
            # A number or date too large for SQLite or datetime, typed by the user.
            report_error(CareError("a number or date in the command is out of range", "check the values given"))
            raise typer.Exit(EXIT_ERROR) from None
        except BrokenPipeError:
            # The reader went away (`carecli ... | head`): not an error worth a message.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:
            if os.environ.get("CARECLI_DEBUG"):
                raise
            if type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise  # usage errors: click prints them and exits 2
            print(f"error: internal error ({type(exc).__name__}: {exc}); "
                  "run again with CARECLI_DEBUG=1 for the full trace", file=sys.stderr)
            raise typer.Exit(EXIT_ERROR) from None
        finally:
            STATE.close()


app = typer.Typer(
    cls=CareGroup,
    name="carecli",
    help="Customer service and customer care from the terminal.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help: fast to start, readable in cron mail
    pretty_exceptions_show_locals=False,  # tracebacks must never show customer data
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"carecli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: Annotated[Optional[str], typer.Option("--db", envvar="CARECLI_DB", help="database file [default: XDG data dir]")] = None,
    config: Annotated[Optional[str], typer.Option("--config", envvar="CARECLI_CONFIG", help="config file [default: XDG config dir]")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="show the version")] = False,
) -> None:
    STATE.reset(db, config)


def _register() -> None:
    from carecli.cli import config_cmd, customers, db, demo, tickets

    app.add_typer(customers.app, name="customer", help="Customers: add, list, show, edit.")
    app.add_typer(tickets.app, name="ticket", help="Tickets: open, reply, close, reopen, list.")
    app.add_typer(config_cmd.app, name="config", help="Show the configuration and where it comes from.")
    app.command("log")(customers.log)
    app.command("init")(db.init)
    app.command("demo")(demo.demo)
    # care (issue 3)

    # measurement (issue 4)

    # data in and out (issue 5)


_register()


def main() -> None:
    """The installed entry point: converts only the commands the command line names (see cli/lazy.py)."""
    lazy_root(app)()
