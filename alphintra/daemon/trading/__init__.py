"""The trading engine inside the daemon: the host that runs the node on its own thread, the paper market feed,
and the ``/api/v1`` routers."""

from alphintra.daemon.trading.host import TradingHost

__all__ = ["TradingHost"]
