"""The failures the fake exchange can inject, from ``--faults SPEC`` at start or ``POST /admin/faults`` at runtime.

A SPEC is a comma-separated list of ``KIND[=N[:ARG]][@[METHOD/]PATH]``; N is how many requests (or orders) it
hits, ARG its parameter, PATH limits it to one REST endpoint (``order``, ``POST/order``, ``depth``...):

=================  ===================================================================================
``429=N[:S]``      the next N requests answer HTTP 429 with ``Retry-After: S`` (default 1) and -1003
``418=N[:S]``      the same with HTTP 418 (an IP ban)
``5xx=N[:CODE]``   the next N requests answer HTTP CODE (default 503) with a plain-text body, not executed
``reject=N``       the next N orders placed are refused with -2010 (insufficient balance), not executed
``timeout=N[:MS]`` the next N requests are executed, then answered only after MS ms (default 15000)
``lost=N``         the next N requests (default: POST order) are executed, then the connection is dropped
                   without an answer: "placed but the response is lost"
``unknown=N[:MS]`` the next N orders placed answer -2013 to GET order for MS ms (default 1000)
``partial=N[:MS]`` the next N orders that would trade fill half now; the rest MS ms later (default 500)
``skew=MS``        the exchange's clock runs MS ms off (negative: behind), so signed requests get -1021
``fee_base``       commissions in the base asset, sells included
``drop_stream``    close every stream connection now
``silent_stream[=MS]``  stream connections stay open but send nothing for MS ms (default: until cleared)
=================  ===================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from alphintra.errors import ValidationError

_COUNTED = {"429": 1, "418": 1, "5xx": 503, "reject": 0, "timeout": 15_000, "lost": 0, "unknown": 1_000, "partial": 500}
_ONE_SHOT = {"skew", "fee_base", "drop_stream", "silent_stream"}
_METHODS = {"GET", "POST", "DELETE", "PUT"}
KINDS = sorted({*_COUNTED, *_ONE_SHOT})


@dataclass
class Fault:
    kind: str
    count: int  # occurrences left (counted kinds)
    arg: int
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path == path)

    def describe(self) -> dict[str, object]:
        return {"kind": self.kind, "left": self.count, "arg": self.arg, "method": self.method, "path": self.path}


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValidationError("faults", f"{what} must be an integer (got {text!r})") from None


def parse_spec(spec: str) -> list[Fault]:
    """Parse a SPEC; a bad one raises ``ValidationError`` naming the item and the rule."""
    out: list[Fault] = []
    for raw in (item.strip() for item in spec.split(",")):
        if not raw:
            continue
        item, _, where = raw.partition("@")
        kind, has_args, args = item.partition("=")
        if kind not in _COUNTED and kind not in _ONE_SHOT:
            raise ValidationError("faults", f"unknown fault {kind!r} (known: {', '.join(KINDS)})")
        method = path = None
        if where:
            head, slash, rest = where.partition("/")
            if slash and head.upper() in _METHODS:
                method, path = head.upper(), rest
            else:
                path = where
        if kind in _COUNTED:
            first, _, second = args.partition(":")
            count = _int(first, f"{kind}: N") if has_args and first else 1
            arg = _int(second, f"{kind}: the parameter") if second else _COUNTED[kind]
            if count < 1 or arg < 0:
                raise ValidationError("faults", f"{raw!r}: N must be >= 1 and the parameter >= 0")
            if kind == "5xx" and not 500 <= arg <= 599:
                raise ValidationError("faults", f"{raw!r}: the status must be 500..599")
            if kind in ("lost", "reject") and path is None:
                method, path = "POST", "order"
            out.append(Fault(kind, count, arg, method, path))
        else:
            if kind in ("fee_base", "drop_stream") and has_args:
                raise ValidationError("faults", f"{raw!r}: {kind} takes no value")
            if kind == "skew" and not has_args:
                raise ValidationError("faults", "skew needs a value in ms, e.g. skew=-5000")
            out.append(Fault(kind, 1, _int(args, f"{kind}: the value") if has_args else 0, method, path))
    return out


class FaultBook:
    """The counted faults still armed; ``take`` consumes one occurrence of a matching fault."""

    def __init__(self) -> None:
        self.armed: list[Fault] = []

    def arm(self, faults: list[Fault]) -> None:
        self.armed.extend(f for f in faults if f.kind in _COUNTED)

    def take(self, kind: str, method: str, path: str) -> Fault | None:
        for fault in self.armed:
            if fault.kind == kind and fault.matches(method, path):
                fault.count -= 1
                if fault.count <= 0:
                    self.armed.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.armed.clear()
