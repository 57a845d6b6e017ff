"""Build the click command tree lazily, for the installed entry point.

Typer turns each command into a click command by inspecting its signature and type hints, about
1 ms a command. Every start, and every Tab press, paid that for every command in the tree; here a
group holds light stand-ins (name and help only) and converts a command only when the command
line names it. Help listings use the stand-ins. Tests and docs build the full tree through `app`
as before; the stand-ins then never exist and the mixin does nothing.
"""

from __future__ import annotations

import copy
import inspect
from typing import TYPE_CHECKING

import typer.main
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    _Group = TyperGroup  # the mixin is only ever combined with TyperGroup
else:
    _Group = object


class LazyCommandsMixin(_Group):
    """A click group whose `commands` may hold stand-ins, converted on first use."""

    _listing = False  # while help lists the commands, the stand-ins' help text is enough

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        if isinstance(command, _StandIn) and not self._listing:
            command = self.commands[cmd_name] = command.build()  # type: ignore[attr-defined]
        return command

    def format_commands(self, ctx, formatter):
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


class LazyTyperGroup(LazyCommandsMixin, TyperGroup):
    pass


def lazy_root(app: typer.Typer):
    """The root click group of `app` (callback, options, completion flags) with stand-ins for the rest."""
    return _without_children(app, lambda: typer.main.get_command(app))


def _without_children(typer_instance: typer.Typer, make):
    """Run `make` while the Typer app has no commands or groups, then add stand-ins for them."""
    commands, groups = typer_instance.registered_commands, typer_instance.registered_groups
    typer_instance.registered_commands, typer_instance.registered_groups = [], []
    try:
        group = make()
    finally:
        typer_instance.registered_commands, typer_instance.registered_groups = commands, groups
    # Same order as typer's eager build: commands first, then groups.
    for stand_in in [*(_CommandStandIn(info) for info in commands), *(_GroupStandIn(info) for info in groups)]:
        group.commands[stand_in.name] = stand_in
    return group


class _StandIn(TyperCommand):
    """Name and help of a command or group not converted yet; `build()` converts it."""


class _CommandStandIn(_StandIn):
    def __init__(self, info) -> None:
        help_text = inspect.getdoc(info.callback) if info.help is None else inspect.cleandoc(info.help)
        super().__init__(
            info.name or typer.main.get_command_name(info.callback.__name__),
            help=help_text,
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
        )
        self.info = info

    def build(self):
        return typer.main.get_command_from_info(self.info, **_build_options(typer.main.get_command_from_info))


class _GroupStandIn(_StandIn):
    def __init__(self, info) -> None:
        solved = typer.main.solve_typer_info_defaults(info)
        super().__init__(
            solved.name,
            help=solved.help,
            short_help=solved.short_help,
            hidden=solved.hidden,
            deprecated=solved.deprecated,
        )
        self.info = info

    def build(self):
        info = self.info
        typer_instance = info.typer_instance
        if not _is_default(info.cls) or not _is_default(typer_instance.info.cls):
            return _build_group(info)  # a custom group class: build it as typer would
        info = copy.copy(info)
        info.cls = LazyTyperGroup
        return _without_children(typer_instance, lambda: _build_group(info))


def _build_group(info):
    return typer.main.get_group_from_info(info, **_build_options(typer.main.get_group_from_info))


def _build_options(builder) -> dict:
    """The root app's settings, as far as this typer version's builder takes them."""
    from carecli.cli import app

    options = {
        "pretty_exceptions_short": app.pretty_exceptions_short,
        "rich_markup_mode": app.rich_markup_mode,
        "suggest_commands": getattr(app, "suggest_commands", True),
    }
    accepted = inspect.signature(builder).parameters
    return {name: value for name, value in options.items() if name in accepted}


def _is_default(value) -> bool:
    return isinstance(value, typer.models.DefaultPlaceholder)
