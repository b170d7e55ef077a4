"""The Textual trading workstation (`alphintra tui`); it talks to the engine only through the daemon client.

Start with ``alphintra.tui.app.AlphintraApp`` over a ``DataSource`` (``source.EngineDataSource`` for a daemon,
``recorded.RecordedDataSource`` for a recording). Nothing is imported here so that importing the package stays cheap.
"""
