"""The root Typer app: global options, the command groups, and the one error handler.

Exit codes: 0 ok, 1 operation failed, 2 usage or validation error.
"""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.models import TyperInfo

from alphintra import __version__
from alphintra.cli import (
    algo,
    audit,
    auth,
    backtest,
    bench,
    completions_cmd,
    config_cmd,
    data,
    db,
    engine,
    export,
    market,
    ml,
    optimize,
    order,
    plot,
    portfolio,
    risk,
    schedule,
    strategy,
    trades,
    tui,
    users,
    venue,
    venue_admin,
    watch,
)
from alphintra.cli.common import OutputState, console, err_console
from alphintra.errors import AlphintraError

app = typer.Typer(
    name="alphintra",
    help="Alphintra — a command-line trading workstation: data, backtests, strategies, orders, risk.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    add_completion=False,  # our own static scripts: `alphintra completions`
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alphintra {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More log output (-vv: debug).")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors.")] = False,
    home: Annotated[
        Path | None, typer.Option("--home", help="Data home (overrides ALPHINTRA_HOME).", show_default=False)
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Config file (overrides ALPHINTRA_CONFIG).", show_default=False),
    ] = None,
) -> None:
    from alphintra.config.logs import setup_logging
    from alphintra.config.paths import private_umask
    from alphintra.config.settings import reset_settings_cache

    OutputState.verbose = verbose
    OutputState.quiet = quiet
    private_umask()  # what the commands write into the data home (state.db, market data, reports) is owner-only
    console.quiet = quiet  # -q: no result tables or summaries on stdout; --json output is written directly
    # Flags beat the environment: setting the variables here makes every layer below see the same values.
    if home is not None:
        os.environ["ALPHINTRA_HOME"] = str(home.expanduser())
    if config is not None:
        os.environ["ALPHINTRA_CONFIG"] = str(config.expanduser())
    reset_settings_cache()
    setup_logging(verbose, quiet)


app.add_typer(order.app, name="order")
app.add_typer(algo.app, name="algo")
app.add_typer(trades.app, name="trades")
app.add_typer(portfolio.app, name="portfolio")
app.add_typer(market.app, name="market")
app.add_typer(watch.app, name="watch")
app.add_typer(data.app, name="data")
app.add_typer(backtest.app, name="backtest")
app.add_typer(ml.app, name="ml")
app.add_typer(optimize.app, name="optimize")
app.command("tui")(tui.tui)
app.command("plot")(plot.plot)
app.add_typer(strategy.app, name="strategy")
app.add_typer(risk.app, name="risk")
app.add_typer(schedule.app, name="schedule")
app.add_typer(engine.app, name="engine")
app.add_typer(auth.app, name="auth")
app.add_typer(users.app, name="user")
app.command("audit")(audit.audit)
app.add_typer(export.app, name="export")
app.add_typer(db.app, name="db")
app.add_typer(bench.app, name="bench")
app.add_typer(config_cmd.app, name="config")
app.add_typer(completions_cmd.app, name="completions")
venue_admin.register(venue.app)  # add/list/show/test/remove live apart from `venue fake`
app.add_typer(venue.app, name="venue")


def report_error(exc: AlphintraError) -> int:
    # soft_wrap: the terminal wraps a long message; Rich would break it inside a path or a value (at 80 columns
    # when stderr is a pipe), which then cannot be copied back.
    err_console.print(f"[bold red]error:[/bold red] {exc.message}", highlight=False, soft_wrap=True)
    if exc.detail:
        err_console.print(f"[dim]{exc.detail}[/dim]", highlight=False, soft_wrap=True)
    return exc.exit_code


class _Interrupt:
    """Remembers a Ctrl-C: a library may turn the KeyboardInterrupt into its own error (DuckDB raises
    RuntimeError("Query interrupted")), which is still the user's interrupt and not an internal error."""

    seen = False

    @classmethod
    def handler(cls, signum: int, frame: object) -> None:
        cls.seen = True
        raise KeyboardInterrupt


# The root options that take a value: the word after them is not the command.
_VALUED = frozenset({"--home", "--config"})


def _command_word(args: list[str]) -> str | None:
    """The command (group) the arguments name, after the root options; None for the root itself."""
    it = iter(args)
    for arg in it:
        if arg in _VALUED:
            next(it, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _outline(group: TyperInfo) -> TyperInfo:
    """The group as a name and its help alone, without its commands (what the root's listing shows)."""
    if group.typer_instance is None:  # nothing to leave out
        return group
    shell = copy.copy(group.typer_instance)
    shell.registered_commands, shell.registered_groups = [], []
    outline = copy.copy(group)
    outline.typer_instance = shell
    return outline


def tree_for(args: list[str]) -> typer.Typer:
    """The command tree one run needs: the group it names in full, every other group in outline.

    Typer turns every command function's signature into Click parameters before it parses anything (about a
    quarter of a second for the whole tree), so a run builds only the group it runs; ``alphintra --help`` lists
    the groups from their outlines. ``app`` itself stays whole for whatever walks the tree (completions, tests).
    """
    wanted = _command_word(args)
    tree = copy.copy(app)
    tree.registered_groups = [g if g.name == wanted else _outline(g) for g in app.registered_groups]
    return tree


def main(argv: list[str] | None = None) -> None:
    import signal

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["__complete"]:  # an install whose entry point predates alphintra.cli.launch
        from alphintra.cli.complete import run

        sys.exit(run(args[1:]))

    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _Interrupt.handler)
    try:
        tree_for(args)(args=argv, prog_name="alphintra")
    except AlphintraError as exc:
        sys.exit(report_error(exc))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: a bug must not greet the user with a traceback
        if _Interrupt.seen:
            err_console.print("interrupted")
            sys.exit(130)
        if OutputState.verbose > 1:
            raise
        err_console.print(
            f"[bold red]internal error:[/bold red] {type(exc).__name__}: {exc} (run with -vv for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
