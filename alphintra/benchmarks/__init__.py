"""Importable benchmarks: pure computation plus timing, shared by ``bench/*.py`` scripts and ``alphintra bench``."""
