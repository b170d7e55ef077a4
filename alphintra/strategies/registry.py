"""Strategies by name: the built-ins, third-party packages (entry point group ``alphintra.strategies``) and
``*.py`` files in the user's strategies folder (``$ALPHINTRA_HOME/strategies``).

The user's strategies belong to their home: they are looked up in the current home's folder, and read again when
a file there is added or changed, so a strategy written while the process runs (``strategy new``, an editor) is
found on its next use, and one home's strategies never show up in another's.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
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
# By user folder: the files read (path -> modification time) and the strategies they defined.
_USER: dict[Path, tuple[dict[Path, int], dict[str, type[Strategy]]]] = {}
# While a user's file is read, what it registers goes here instead of the shared registry.
_capture: dict[str, type[Strategy]] | None = None


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its ``name``."""
    if not cls.name:
        raise ValidationError("name", "a strategy class needs a non-empty name", cls.__name__)
    (_REGISTRY if _capture is None else _capture)[cls.name] = cls
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


def user_folder() -> Path:
    """Where the current home keeps its strategy files."""
    from alphintra.config.paths import data_home

    return data_home() / "strategies"


def _user_strategies() -> dict[str, type[Strategy]]:
    folder = user_folder()
    files = {p: p.stat().st_mtime_ns for p in sorted(folder.glob("*.py"))} if folder.is_dir() else {}
    known = _USER.get(folder)
    if known is None or known[0] != files:
        found: dict[str, type[Strategy]] = {}
        for path in files:
            found.update(_load_file(path))
        _USER[folder] = (files, found)
    return _USER[folder][1]


def _load_file(path: Path) -> dict[str, type[Strategy]]:
    global _capture
    spec = importlib.util.spec_from_file_location(f"alphintra_user_strategy_{path.stem}", path)
    if spec is None or spec.loader is None:
        return {}
    module = importlib.util.module_from_spec(spec)
    found: dict[str, type[Strategy]] = {}
    _capture = found
    # In sys.modules while it runs, as an import would be: pydantic resolves the annotations of a parameters
    # model (postponed by `from __future__ import annotations`) through the module's entry there.
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(spec.name, None)
        _log.warning("user strategy %s failed to load: %s", path, exc)
        return {}
    finally:
        _capture = None
    for obj in vars(module).values():
        if isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy and obj.name:
            found.setdefault(obj.name, obj)
    return found


def available() -> dict[str, type[Strategy]]:
    _load_all()
    return dict(sorted({**_REGISTRY, **_user_strategies()}.items()))


def get(name: str) -> type[Strategy]:
    known = available()
    cls = known.get(name)
    if cls is None:
        raise UnknownNameError(f"unknown strategy {name!r} (known: {', '.join(known) or 'none'})")
    return cls


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


__all__ = ["available", "describe", "get", "params_problem", "register", "user_folder"]
