"""Typed settings and file locations."""

from alphintra.config.paths import HomePaths, config_dir, config_file, data_home

__all__ = ["HomePaths", "config_dir", "config_file", "data_home"]
