"""The engine daemon: a FastAPI app served on a unix socket (and TCP with JWTs), and its client.

Modules (import what you need; nothing heavy is imported here):

- ``app``: ``create_app(host, ...)``, ``include_api_router(app, router)``, ``DaemonInfo``
- ``lifecycle``: ``EngineHost`` protocol, ``LifecycleHost``
- ``auth``: ``require_role``, ``issue_token``, ``verify_token``, ``parse_ttl``, ``Role``
- ``metrics``: ``EngineMetrics``
- ``ws``: ``WebSocketHub`` and ``WsMessage``
- ``server``: ``run_daemon`` (``python -m alphintra.daemon``)
- ``control``: ``spawn_daemon``, ``stop_daemon``, log reading
- ``client``: ``EngineClient``, ``AsyncEngineClient``
- ``protocol``: the error wire format and the daemon-specific errors
"""

__all__: list[str] = []
