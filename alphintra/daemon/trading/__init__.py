"""The trading engine inside the daemon: the host that runs the node on its own thread (``host.TradingHost``),
the paper market feed, and the ``/api/v1`` routers.

Nothing is imported here: the state projection's process imports its module from this package, and importing
the host with it cost that process (and every daemon start, through the fork server) a third of a second."""
