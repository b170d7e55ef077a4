"""A local fake of the Binance spot REST API and its streams, for testing the real ccxt client offline.

``alphintra venue fake`` runs it as a separate process (``server.serve``); ``testing.running_fake`` starts one
for a test. The matching is the project's own engine (``engine.core.matching``) in integer ticks and lots;
balances and fees are exact Decimals (``state``); ``faults`` holds the failures it can inject.
"""
