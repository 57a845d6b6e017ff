"""The root command: global options, sub-command groups, and errors turned into one stderr line."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from carecli import __version__
from carecli.cli.lazy import LazyCommandsMixin, lazy_root
from carecli.cli.options import check_path
from carecli.cli.output import message
from carecli.cli.state import STATE
from carecli.core.errors import EXIT_ERROR, EXIT_USAGE, CareError


def report_error(exc: CareError) -> None:
    # Messages quote what the user typed: message() keeps control characters from breaking the one line.
    message(f"error: {local_times(str(exc))}")


_STORED_TIME = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)")


def local_times(text: str) -> str:
    """Stored UTC times in an error (`2026-12-01T23:00:00+00:00`, as the layers below write them)
    shown as the person reads every other time: local `2026-12-02 00:00`. One rewrite here keeps
    the domain's messages free of display settings."""
    if not _STORED_TIME.search(text):
        return text
    try:
        tz = STATE.settings.tz
    except CareError:  # the settings themselves are what failed: leave the times as they are
        return text
    from carecli.text.clock import format_local

    return _STORED_TIME.sub(lambda m: format_local(m.group().replace("Z", "+00:00"), tz), text)


class CareGroup(LazyCommandsMixin, TyperGroup):
    """Turns expected errors into `error: ...` + exit code, and never shows a traceback by default."""

    def parse_args(self, ctx, args):
        from carecli.cli.options import nul_argument

        ctx.meta["carecli.argv"] = list(args)
        bad = nul_argument(args)
        if bad is not None:  # one check for every text the command line gives
            report_error(
                CareError(
                    f"an argument cannot contain a NUL character: {bad!r}",
                    "remove it; text that holds one would be cut short where it is stored",
                )
            )
            raise typer.Exit(EXIT_USAGE)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except CareError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.Error as exc:
            from carecli.core.store import store_error

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
        except OSError as exc:
            # The file system said no (a path too long, no permission, a full disk): the user's to fix.
            where = f": {exc.filename}" if exc.filename else ""
            report_error(CareError(f"{exc.strerror or exc}{where}", "check the path, its permissions and free space"))
            raise typer.Exit(EXIT_ERROR) from None
        except Exception as exc:
            if os.environ.get("CARECLI_DEBUG"):
                raise
            if type(exc).__module__.split(".")[0] in ("click", "typer"):
                raise  # usage errors: click prints them and exits 2
            message(
                f"error: internal error ({type(exc).__name__}: {str(exc)[:200]}); "
                "run again with CARECLI_DEBUG=1 for the full trace"
            )
            raise typer.Exit(EXIT_ERROR) from None
        finally:
            STATE.close()


app = typer.Typer(
    cls=CareGroup,
    name="carecli",
    help="Customer service and customer care from the terminal.",
    epilog="How to write dates, times, durations and cadences: carecli help times",
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
    ctx: typer.Context,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db",
            envvar="CARECLI_DB",
            metavar="PATH",
            help="database file [default: XDG data dir]",
            callback=check_path,
        ),
    ] = None,
    config: Annotated[
        Optional[str],
        typer.Option(
            "--config",
            envvar="CARECLI_CONFIG",
            metavar="PATH",
            help="config file [default: XDG config dir]",
            callback=check_path,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="show the version")
    ] = False,
) -> None:
    if db == ":memory:":  # refused by every command, even one that never opens the database
        from carecli.core.store import refuse_memory

        refuse_memory(db)
    STATE.reset(db, config, _command_line(ctx))
    # `demo` builds in --db only when it was typed: CARECLI_DB names the shop's real data. (By name:
    # typer may bring its own copy of click, whose ParameterSource is another enum.)
    source = ctx.get_parameter_source("db")
    STATE.db_typed = source is not None and source.name == "COMMANDLINE"


def _command_line(ctx: typer.Context) -> list[str]:
    """The command line from the command's name on (global options such as --db left out)."""
    args = ctx.meta.get("carecli.argv") or []
    name = ctx.invoked_subcommand
    return args[args.index(name) :] if name in args else list(args)


def _register() -> None:
    from carecli.cli import config_cmd, customers, db, demo, tickets

    app.add_typer(customers.app, name="customer", help="Customers: add, list, show, edit; lost, won-back, health.")
    app.add_typer(tickets.app, name="ticket", help="Tickets: open, reply, close, reopen, list.")
    app.add_typer(config_cmd.app, name="config", help="Show the configuration and where it comes from.")
    app.command("log")(customers.log)
    app.command("init")(db.init)
    app.command("demo")(demo.demo)
    # care (issue 3)
    from carecli.cli import care, followups

    app.add_typer(followups.app, name="followup", help="Follow-ups: add, list, done, snooze, skip, edit.")
    app.add_typer(care.app, name="care", help="Care: churn by reason, suggested follow-ups.")
    app.command("today")(care.today)
    customers.app.command("lost")(care.lost)
    customers.app.command("won-back")(care.won_back)
    customers.app.command("health")(care.health)

    # measurement (issue 4)
    from carecli.cli import kpi, report, surveys

    app.add_typer(surveys.app, name="survey", help="Surveys: record CSAT, CES and NPS responses, list them.")
    app.command("kpi")(kpi.kpi)
    app.add_typer(report.app, name="report", help="Reports for a day, week or month (for cron or e-mail).")

    # data in and out (issue 5)
    from carecli.cli import data

    app.command("export")(data.export)
    app.command("import")(data.import_)
    app.command("search")(data.search)
    app.add_typer(db.app, name="db", help="The database file: backup, check, info, migrate.")

    # mail in (issue 15): carecli.mail itself is imported only inside the mail commands
    from carecli.cli import mail

    app.add_typer(mail.app, name="mail", help="Mail in: ingest e-mail as tickets, show the mail log.")
    from carecli.cli import attachments

    app.add_typer(attachments.app, name="attachment", help="Attachments of filed mail: list them, save one.")

    # mail out (issue 16)
    from carecli.cli import outbox

    app.add_typer(outbox.app, name="outbox", help="Mail out: what carecli sends; `outbox send` for cron.")
    from carecli.cli import templates

    app.add_typer(templates.app, name="template", help="Mail templates: list them, show one, render it.")

    # orders and assets (issue 17)
    from carecli.cli import assets, orders

    app.add_typer(orders.app, name="order", help="Orders: record what customers bought, list and show them.")
    app.add_typer(assets.app, name="asset", help="Assets: what customers own that needs service; record services.")
    from carecli.cli import plans

    app.add_typer(plans.app, name="plan", help="Care plans: list the config's plans, show one with its steps.")

    # fixing mistakes (issue 13)
    from carecli.cli import interactions, undo

    app.add_typer(interactions.app, name="interaction", help="Interactions: move a message, edit it.")
    app.command("undo")(undo.undo)
    app.command("trash")(undo.trash)
    db.app.command("purge")(undo.purge)

    # help pages (issue 14)
    from carecli.cli import help_pages

    app.add_typer(help_pages.app, name="help", help="Help pages: how to write times (carecli help times).")


_register()


def main() -> None:
    """The installed entry point: converts only the commands the command line names (see cli/lazy.py)."""
    lazy_root(app)()
