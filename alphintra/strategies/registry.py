"""Strategies by name: the built-ins, third-party packages (entry point group ``alphintra.strategies``) and
``*.py`` files in the user's strategies folder (``$ALPHINTRA_HOME/strategies``)."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from alphintra.errors import UnknownNameError, ValidationError
from alphintra.strategies.base import Strategy
from alphintra.strategies.builtins import ELSEWHERE as _BUILTIN_ELSEWHERE
from alphintra.strategies.builtins import NAMES as _BUILTIN_MODULES

_log = logging.getLogger("alphintra.strategies")
_REGISTRY: dict[str, type[Strategy]] = {}
_loaded = False


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its ``name``."""
    if not cls.name:
        raise ValidationError("name", "a strategy class needs a non-empty name", cls.__name__)
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        try:
            importlib.import_module(f"alphintra.strategies.builtins.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"alphintra.strategies.builtins.{module}":
                raise
    for dotted in _BUILTIN_ELSEWHERE.values():
        importlib.import_module(dotted)
    for ep in entry_points(group="alphintra.strategies"):
        try:
            obj = ep.load()
            if isinstance(obj, type) and issubclass(obj, Strategy):
                register(obj)
        except Exception as exc:  # a broken plug-in must not break the CLI
            _log.warning("strategy entry point %s failed to load: %s", ep.name, exc)
    from alphintra.config.paths import data_home

    folder = data_home() / "strategies"
    if folder.is_dir():
        for path in sorted(folder.glob("*.py")):
            _load_file(path)


def _load_file(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(f"alphintra_user_strategy_{path.stem}", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        _log.warning("user strategy %s failed to load: %s", path, exc)
        return
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy and obj.name:
            register(obj)


def get(name: str) -> type[Strategy]:
    _load_all()
    cls = _REGISTRY.get(name)
    if cls is None:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownNameError(f"unknown strategy {name!r} (known: {known})")
    return cls


def available() -> dict[str, type[Strategy]]:
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def params_problem(cls: type[Strategy], params: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first rule ``params`` break in ``cls.Params`` (a field's bounds or a declared cross-field validator,
    such as sma_cross's fast below slow) as ``(field, rule)``; the field is "" for a rule on several fields.
    None when the parameters are valid."""
    from pydantic import ValidationError as PydanticError

    try:
        cls.Params.model_validate(dict(params))
    except PydanticError as exc:
        err = exc.errors()[0]
        return ".".join(str(p) for p in err["loc"]), str(err["msg"]).removeprefix("Value error, ")
    return None


def describe(cls: type[Strategy]) -> dict[str, Any]:
    schema = cls.Params.model_json_schema()
    params = []
    for key, prop in schema.get("properties", {}).items():
        params.append(
            {
                "name": key,
                "type": prop.get("type") or (prop.get("anyOf") and "/".join(p.get("type", "?") for p in prop["anyOf"])),
                "default": prop.get("default"),
                "description": prop.get("description", ""),
                "constraints": {
                    k: v
                    for k, v in prop.items()
                    if k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum")
                },
            }
        )
    return {
        "name": cls.name,
        # A user's strategy may have neither a description nor a docstring.
        "description": cls.description or next(iter((cls.__doc__ or "").strip().splitlines()), ""),
        "symbols_required": cls.symbols_required,
        "params": params,
    }


__all__ = ["available", "describe", "get", "params_problem", "register"]
