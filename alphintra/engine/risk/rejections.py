"""How the pre-trade gate words a refusal: :class:`RiskLimitError` naming the rule, the limit, where it was set and
the attempted value (machine-readable in :meth:`RiskLimitError.to_dict`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from alphintra.engine.core.enums import RejectReason
from alphintra.engine.core.errors import OrderRejectedError
from alphintra.engine.risk.breakers import Halt
from alphintra.engine.risk.limits import NS_PER_SECOND, Limit, fmt


class RiskLimitError(OrderRejectedError):
    """An order refused by a risk limit or a halt. ``rule``/``limit``/``attempted`` are machine-readable."""

    def __init__(
        self,
        field_name: str,
        rule: str,
        limit: Decimal | None,
        attempted: Decimal | None,
        *,
        where: str,
        reason: RejectReason = RejectReason.RISK_LIMIT,
        text: str | None = None,
    ) -> None:
        shown = text or f"{rule} ({where}) is {fmt(limit)}; this order would make it {fmt(attempted)}"
        super().__init__(field_name, shown, None, reason=reason)
        self.rule = rule
        self.limit = limit
        self.attempted = attempted
        self.where = where
        self.value = attempted

    def to_dict(self) -> dict[str, str | None]:
        out = super().to_dict()
        out.update(
            rule=self.rule,
            limit=None if self.limit is None else str(self.limit),
            attempted=None if self.attempted is None else str(self.attempted),
            where=self.where,
        )
        return out


def over(field_name: str, lim: Limit, attempted: Decimal, detail: str | None = None) -> RiskLimitError:
    where = lim.where if detail is None else f"{lim.where}, {detail}"
    return RiskLimitError(field_name, lim.name, lim.value, attempted, where=where)


def position_over(
    symbol: str,
    qty_lim: Limit | None,
    notional_lim: Limit | None,
    before: Decimal,
    after: Decimal,
    px: Decimal | None,
    detail: str | None = None,
) -> RiskLimitError | None:
    """The refusal by a position limit of an order taking the (worst-case) position from ``before`` to
    ``after``, or None; an order that does not grow the position's size always passes."""
    a = abs(after)
    if a <= abs(before):
        return None
    if qty_lim is not None and a > qty_lim.value:
        return over("quantity", qty_lim, a, detail)
    if notional_lim is not None:
        if px is None:
            return unpriced(notional_lim, symbol)
        if a * px > notional_lim.value:
            return over("notional", notional_lim, a * px, detail)
    return None


def unpriced(lim: Limit, symbol: str) -> RiskLimitError:
    text = f"{lim.name} ({lim.where}) is {fmt(lim.value)}; no price is known for {symbol} to value the order"
    return RiskLimitError("price", lim.name, lim.value, None, where=lim.where, text=text)


def halted(halt: Halt) -> RiskLimitError:
    text = f"{halt.where} is halted (since {utc(halt.at_ns)}, by {halt.by}): {halt.reason}"
    return RiskLimitError(
        "halt", halt.rule, halt.limit, halt.value, where=halt.where, reason=RejectReason.HALTED, text=text
    )


def utc(ns: int) -> str:
    # Formatting a given timestamp, not reading a clock.
    return datetime.fromtimestamp(ns // NS_PER_SECOND, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


__all__ = ["RiskLimitError", "halted", "over", "position_over", "unpriced"]
