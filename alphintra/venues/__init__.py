"""Venues outside the engine: exchange adapters and the local fake exchange they are tested against."""
