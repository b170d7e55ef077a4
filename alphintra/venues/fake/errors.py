"""Binance's error answers: ``{"code": -2010, "msg": "..."}`` with the HTTP status Binance gives them."""

from __future__ import annotations


class BinanceError(Exception):
    """An error answer. ``status`` is the HTTP status (400 for request errors, 401 for key errors, ...)."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


def missing(name: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def bad_param(name: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}(\\.[0-9]{{1,20}})?$'."
    )


INSUFFICIENT = "Account has insufficient balance for requested action."
DUPLICATE = "Duplicate order sent."
WOULD_TAKE = "Order would immediately match and take."
UNKNOWN_ORDER = "Unknown order sent."
NO_SUCH_ORDER = "Order does not exist."
BAD_SIGNATURE = "Signature for this request is not valid."
BAD_KEY = "Invalid API-key, IP, or permissions for action."
KEY_FORMAT = "API-key format invalid."
INVALID_SYMBOL = "Invalid symbol."
