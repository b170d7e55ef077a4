"""`alphintra venue list|show|reconcile|resume`: the configured venues, their capabilities and state.

The venues are the settings' ``[venues]`` (config.toml's and the exchanges `venue add` recorded in venues.toml), so
one list shows simulated and ccxt venues alike. Capabilities and connection state come from the running daemon
(``GET /api/v1/venues``); without one the state is ``not running`` and a simulated venue's capabilities are the
simulator's own. `reconcile` and `resume` need the daemon: a reconciliation compares what it holds with the venue,
and a difference no fill explains halts trading there until `venue resume NAME` (journaled: a restart keeps it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from alphintra.cli.common import JsonOption, emit, info, print_json, print_table

if TYPE_CHECKING:
    from alphintra.config.settings import Settings
    from alphintra.daemon.client import EngineClient

NOT_RUNNING = "not running"
OptionalName = Annotated[str | None, typer.Argument(help="Venue name (default: every venue).", show_default=False)]
Name = Annotated[str, typer.Argument(help="Venue name.", show_default=False)]


def _engine() -> EngineClient | None:
    """A client of the running daemon, or None when none runs."""
    from alphintra.config.settings import get_settings
    from alphintra.daemon.client import EngineClient
    from alphintra.daemon.runfiles import probe_daemon

    if not probe_daemon(get_settings().paths.pid_file).running:
        return None
    return EngineClient.local()


def _required_engine(what: str) -> EngineClient:
    from alphintra.errors import OperationFailed

    client = _engine()
    if client is None:
        raise OperationFailed(f"{what} needs the running engine: start it with `alphintra engine start`")
    return client


def _check_name(settings: Settings, name: str) -> None:
    from alphintra.errors import ValidationError

    if name not in settings.venues:
        raise ValidationError("NAME", f"names no venue (configured: {', '.join(settings.venues)})", name)


def _rest_url(urls: dict[str, Any]) -> str | None:
    api = urls.get("api")
    if isinstance(api, dict) and isinstance(api.get("public"), str):
        return str(api["public"])
    return None


def _simulator_capabilities() -> dict[str, Any]:
    from alphintra.daemon.trading.venue_routes import capabilities_view
    from alphintra.engine.core.instrument import InstrumentRegistry
    from alphintra.engine.venue.fill_model import FillModel
    from alphintra.engine.venue.simulated import SimulatedVenue

    return capabilities_view(SimulatedVenue(InstrumentRegistry([]), FillModel(mode="book")).capabilities)


def venue_rows(settings: Settings, live: dict[str, dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Every configured venue with its definition, accounts, capabilities and state (``live``: the daemon's view
    by name, None when no daemon runs)."""
    from alphintra.venues.credentials import CredentialStore
    from alphintra.venues.registry import VenueRegistry

    recorded = set(VenueRegistry(settings.home).load())
    hints = CredentialStore(settings.home).hints() if any(v.kind == "ccxt" for v in settings.venues.values()) else {}
    rows = []
    for name, venue in settings.venues.items():
        seen = None if live is None else live.get(name)
        state = NOT_RUNNING if live is None else "not in the engine" if seen is None else str(seen["state"])
        caps = (
            seen["capabilities"]
            if seen is not None
            else _simulator_capabilities()
            if venue.kind == "simulated"
            else None
        )
        rows.append(
            {
                "name": name,
                "kind": venue.kind,
                "exchange": venue.exchange,
                "url": _rest_url(venue.urls),
                "sandbox": venue.sandbox,
                "source": "venues.toml" if name in recorded else "config",
                "accounts": [n for n, a in settings.accounts.items() if a.venue == name],
                "symbols": None if seen is None else seen["symbols"],
                "api_key": hints.get(venue.credentials or name) if venue.kind == "ccxt" else None,
                "state": state,
                "halted": None if seen is None else seen.get("halted"),
                "capabilities": caps,
            }
        )
    return rows


def _live() -> dict[str, dict[str, Any]] | None:
    client = _engine()
    if client is None:
        return None
    with client:
        return {v["name"]: v for v in client.get("/api/v1/venues")}


def _caps_cell(caps: dict[str, Any] | None) -> str | None:
    if caps is None:
        return None
    return " ".join(f.replace("_", "-") for f in ("post_only", "modify", "reduce_only") if caps.get(f)) or "-"


def list_(as_json: JsonOption = False) -> None:
    """The configured venues (simulated and ccxt), their accounts, capabilities and connection state."""
    from alphintra.config.settings import get_settings

    rows = venue_rows(get_settings(), _live())
    if as_json:
        print_json(rows)
        return
    table = [{**r, "accounts": ", ".join(r["accounts"]), "capabilities": _caps_cell(r["capabilities"])} for r in rows]
    print_table(
        table,
        ["name", "kind", "exchange", "accounts", "state", "capabilities", "api_key"],
        title="venues",
        empty="no venues: configure [venues.NAME] or add one with `alphintra venue add NAME --exchange binance`",
    )


def show(name: Name, as_json: JsonOption = False) -> None:
    """One venue: its definition (never a secret), accounts, capabilities and state."""
    from alphintra.config.settings import get_settings

    settings = get_settings()
    _check_name(settings, name)
    (row,) = [r for r in venue_rows(settings, _live()) if r["name"] == name]
    venue = settings.venues[name]
    data: dict[str, Any] = {"name": name, **venue.model_dump(mode="json"), **row}
    if venue.kind == "ccxt":
        from alphintra.venues.credentials import CredentialStore

        data["protection"] = CredentialStore(settings.home).protection()
    if as_json:
        print_json(data)
        return
    shown = {k: v for k, v in data.items() if k not in ("capabilities", "urls", "options") and v not in (None, {}, [])}
    emit(shown, False, title=f"venue {name}")
    if row["capabilities"] is not None:
        emit(row["capabilities"], False, title="capabilities")


def reconcile(
    name: OptionalName = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the differences; change nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Compare what the engine holds with a venue (open orders, fills, balances) and settle it; a difference no fill
    explains halts trading on that venue (`venue resume NAME` clears it)."""
    from alphintra.config.settings import get_settings

    settings = get_settings()
    if name is not None:
        _check_name(settings, name)
    with _required_engine("venue reconcile") as client:
        names = [name] if name is not None else [v["name"] for v in client.get("/api/v1/venues")]
        reports = [client.post(f"/api/v1/venues/{n}/reconcile", {"dry_run": dry_run}) for n in names]
    if as_json:
        print_json(reports if name is None else reports[0])
    else:
        for report in reports:
            _print_report(report)
    if any(r["differences"] for r in reports) and not dry_run:
        raise typer.Exit(1)  # trading on a venue just halted: the operation did not leave a clean state


def _print_report(report: dict[str, Any]) -> None:
    venue = report["venue"]
    verb = "would" if report["dry_run"] else "did"
    actions = [(k, report[k]) for k in ("fills_booked", "closed", "accepted", "rejected", "adopted") if report[k]]
    if report["clean"] and not actions:
        info(f"venue {venue}: in step with the engine (nothing to do)")
        return
    for key, items in actions:
        info(f"venue {venue}: {verb} {key.replace('_', ' ')}: {', '.join(items)}")
    print_table(
        [{"difference": d} for d in report["differences"]],
        ["difference"],
        title=f"venue {venue}: differences no fill explains",
        empty="no balance differences",
    )
    if report.get("halted"):
        info(f"trading on venue {venue} is halted: clear it with `alphintra venue resume {venue}` once settled")


def resume(
    name: Name,
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume (journaled).")] = "",
    as_json: JsonOption = False,
) -> None:
    """Clear the halt a reconciliation put on a venue (journaled: a restart keeps it cleared)."""
    from alphintra.config.settings import get_settings

    _check_name(get_settings(), name)
    with _required_engine("venue resume") as client:
        result = client.post(f"/api/v1/venues/{name}/resume", {"reason": reason})
    if as_json:
        print_json(result)
    elif result["resumed"]:
        info(f"trading on venue {name} resumed (was halted: {result['was']})")
    else:
        info(f"venue {name} was not halted")


def register(app: typer.Typer) -> None:
    app.command("list")(list_)
    app.command("show")(show)
    app.command("reconcile")(reconcile)
    app.command("resume")(resume)


__all__ = ["register", "venue_rows"]
