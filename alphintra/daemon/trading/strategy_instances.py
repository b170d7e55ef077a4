"""Strategy instances of the daemon: validation shared by the API, the scheduler and the CLI, building an instance
behind the safe runner over the node, and one evaluation (``on_schedule``, else one merged bar per symbol).

Split from ``strategies.py`` (the manager and the API), which re-exports every name here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError as PydanticValidationError

from alphintra.errors import ValidationError
from alphintra.formatting import iso_ns
from alphintra.strategies.base import BarData, Strategy, StrategyError
from alphintra.strategies.context import NodeContext, Signal, StrategyRunner

if TYPE_CHECKING:
    from alphintra.engine.data import Bar
    from alphintra.engine.node import TradingNode

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# -- validation shared by the API, the scheduler and the CLI -----------------------------------------------------


def check_name(name: str, field_name: str = "name") -> str:
    if not NAME_RE.match(name):
        raise ValidationError(
            field_name, "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit", name
        )
    return name


def strategy_class(strategy_type: str) -> type[Strategy]:
    from alphintra.strategies import registry

    return registry.get(strategy_type)


def validate_params(cls: type[Strategy], params: Mapping[str, Any]) -> Any:
    """The strategy's typed parameters, or the project's ValidationError naming the parameter at fault."""
    try:
        return cls.Params(**dict(params))
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        # A rule across parameters (fast below slow) has no location: name "params", not "params.params", and do not
        # echo the whole mapping; pydantic's "Value error, " prefix is its internals.
        rule = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        shown = first.get("input") if where else None
        raise ValidationError(f"params.{where}" if where else "params", rule, shown) from None


def validate_symbols(cls: type[Strategy], symbols: Iterable[str], known: Iterable[str] | None = None) -> list[str]:
    out = [s.strip() for s in symbols if s.strip()]
    if not out:
        raise ValidationError("symbols", "at least one symbol is required", [])
    if len(set(out)) != len(out):
        raise ValidationError("symbols", "must not repeat a symbol", out)
    need = cls.symbols_required
    if need is not None and len(out) != need:
        raise ValidationError("symbols", f"strategy {cls.name} trades exactly {need} symbol(s)", out)
    if known is not None:
        names = set(known)
        missing = [s for s in out if s not in names]
        if missing:
            raise ValidationError("symbols", f"unknown to the engine (known: {', '.join(sorted(names))})", missing)
    return out


def jsonable(value: Any) -> Any:
    """Decimals as strings (money stays exact on the wire), containers walked."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def signal_view(sig: Signal) -> dict[str, Any]:
    return {
        "ts": iso_ns(sig.ts),
        "strategy": sig.strategy,
        "name": sig.name,
        "value": sig.value,
        "data": jsonable(sig.data),
    }


# -- running a strategy ------------------------------------------------------------------------------------------


class _Runner(StrategyRunner):
    """The safe wrapper plus what the daemon needs: a scheduled evaluation, and leaving without ``on_stop``."""

    def evaluate(self, bars: Callable[[], list[BarData]]) -> None:
        strategy = self.strategy
        hook = getattr(strategy, "on_schedule", None)
        if callable(hook):
            self._call("on_schedule", hook)
            return
        for bar in bars():
            self.bar(bar)

    def detach(self) -> None:
        """Stop listening (a one-shot run ends without ``on_stop``: that hook may flatten what it just bought)."""
        self.running = False
        ctx = self.ctx
        if self._listener in ctx.node.listeners:
            ctx.node.listeners.remove(self._listener)


@dataclass
class Instance:
    """A strategy living on the engine thread (a started strategy, or a schedule's instance between firings)."""

    key: str
    name: str
    strategy_type: str
    symbols: list[str]
    params: dict[str, Any]
    runner: _Runner
    started_at: int
    strategy_id: int | None = None
    execution_id: int | None = None
    last_eval_ns: int | None = None
    bars: int = 0
    evaluations: int = 0

    @property
    def error(self) -> StrategyError | None:
        return self.runner.error


@dataclass
class Evaluation:
    """What one evaluation did."""

    name: str
    strategy: str
    symbols: list[str]
    ts: int
    orders: list[str] = field(default_factory=list)
    fills: int = 0
    signals: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "strategy": self.strategy,
            "symbols": self.symbols,
            "ts": iso_ns(self.ts),
            "ok": self.ok,
            "orders": self.orders,
            "fills": self.fills,
            "signals": self.signals,
            "rejections": self.rejections,
            "error": self.error,
        }


def bar_data(bar: Bar) -> BarData:
    return BarData(
        bar.symbol, bar.ts, float(bar.open), float(bar.high), float(bar.low), float(bar.close), float(bar.volume)
    )


def merged_bar(node: TradingNode, bars: Iterable[Bar], symbol: str, since_ns: int | None, now: int) -> BarData:
    """One bar of ``symbol`` covering (since_ns, now]: the closed bars in it merged, else flat at the last price."""
    inside = [b for b in bars if b.symbol == symbol and (since_ns is None or (b.close_ts or b.ts) > since_ns)]
    if inside:
        return BarData(
            symbol,
            inside[0].ts,
            float(inside[0].open),
            float(max(b.high for b in inside)),
            float(min(b.low for b in inside)),
            float(inside[-1].close),
            float(sum((b.volume for b in inside), Decimal(0))),
        )
    price = node.last_price(symbol)
    if price is None:
        raise StrategyError(f"no price for {symbol} yet: nothing to evaluate on")
    p = float(price)
    return BarData(symbol, since_ns if since_ns is not None else now, p, p, p, p, 0.0)


def evaluate(
    node: TradingNode,
    instance: Instance,
    recent_bars: Callable[[str], Iterable[Bar]],
) -> Evaluation:
    """Engine thread: one evaluation of ``instance`` (see the module docstring); never raises for strategy errors."""
    now = node.clock.now_ns()
    result = Evaluation(instance.name, instance.strategy_type, list(instance.symbols), now)
    runner = instance.runner
    ctx = runner.ctx
    before_orders, before_fills, before_signals = len(node.orders), len(node.fills), len(ctx.signals)
    before_rejections = len(runner.rejections)
    since = instance.last_eval_ns

    def bars() -> list[BarData]:
        return [merged_bar(node, recent_bars(s), s, since, now) for s in instance.symbols]

    try:
        runner.evaluate(bars)
    except StrategyError as exc:  # no price yet: raised before any hook ran
        result.error = exc.message
    instance.last_eval_ns = now
    instance.evaluations += 1
    result.orders = [oid for oid in list(node.orders)[before_orders:] if node.orders[oid].strategy == instance.name]
    result.fills = sum(1 for f in node.fills[before_fills:] if node.orders[f.order_id].strategy == instance.name)
    result.signals = [signal_view(s) for s in ctx.signals[before_signals:]]
    result.rejections = runner.rejections[before_rejections:]
    if runner.error is not None:
        result.error = runner.error.message
    return result


def build_instance(
    node: TradingNode,
    *,
    key: str,
    name: str,
    strategy_type: str,
    symbols: list[str],
    params: Mapping[str, Any],
    account: str | None = None,
    accounts: Callable[[str], str] | None = None,
    on_signal: Callable[[Signal], None] | None = None,
) -> Instance:
    """Engine thread: a strategy object bound to ``node`` and started (``on_start`` ran). ``accounts``: the account
    a symbol trades in (the host's; a strategy's symbols may trade on several venues), else ``account`` for all."""
    cls = strategy_class(strategy_type)
    typed = validate_params(cls, params)
    symbols = validate_symbols(cls, symbols, node.instruments.symbols())
    strategy = cls(typed)
    by_symbol = None if accounts is None else {s: accounts(s) for s in symbols}
    if by_symbol is not None and account is None:
        account = by_symbol[symbols[0]]
    ctx = NodeContext(node, strategy, symbols=list(symbols), account=account, accounts=by_symbol, on_signal=on_signal)
    # Orders, signals and risk scopes carry the saved name, not the class name: two instances of one type differ.
    ctx.name = name
    runner = _Runner(strategy, ctx)
    instance = Instance(key, name, strategy_type, list(symbols), dict(params), runner, node.clock.now_ns())
    runner.start()
    return instance
