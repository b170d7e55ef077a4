"""The one codec of the journal's typed records: order events, risk and control records, the node's own records.

A record is a frozen dataclass; it serialises to a flat, JSON-ready dict ``{"type": <class name>, "v": <schema
version>, ...fields}`` and reads back into an equal record. A family of records (:class:`RecordCodec`) has its own
registry: type name -> class, the schema version each type is written at, and the upgraders that turn an older
version's dict into the next one's, so that journals written by older code still replay.

Values: ``Decimal`` is a plain decimal string (exact, never a float), ``int`` (nanosecond times, counters) a JSON
integer, enums their value, ``tuple[str, ...]`` and other tuples JSON lists, ``Mapping[str, Any]`` a JSON object.
Decoding checks each value's type and names the bad field (``Type.field``) in a :class:`ValidationError`.

Per type, how each field is read and written is worked out once at registration: replay decodes every journaled
record through these tables, so this is the hot path of a restart.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Generic, TypeVar

from alphintra.engine.core.errors import ValidationError

T = TypeVar("T")
Decoder = Callable[[str, object], object]
Encoder = Callable[[Any], object]
Upgrader = Callable[[dict[str, Any]], dict[str, Any]]
# (field name, "Type.field" for messages, decoder, may be null, has a default)
_Spec = tuple[str, str, Decoder, bool, bool]


def _decimal_decoder(ints: bool) -> Decoder:
    accepted: type | types.UnionType = str | int if ints else str

    def decode(name: str, raw: object) -> Decimal:
        if isinstance(raw, accepted) and not isinstance(raw, bool):
            try:
                value = Decimal(raw)  # type: ignore[arg-type]
            except InvalidOperation:
                raise ValidationError(name, "must be a decimal string", raw) from None
            if value.is_finite():
                return value
        raise ValidationError(name, "must be a finite decimal string", raw)

    return decode


def _decode_int(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise ValidationError(name, "must be an integer", raw)


def _decode_str(name: str, raw: object) -> str:
    if isinstance(raw, str):
        return raw
    raise ValidationError(name, "must be a string", raw)


def _decode_bool(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    raise ValidationError(name, "must be true or false", raw)


def _decode_str_tuple(name: str, raw: object) -> tuple[str, ...]:
    if isinstance(raw, list | tuple) and all(isinstance(x, str) for x in raw):
        return tuple(raw)
    raise ValidationError(name, "must be a list of strings", raw)


def _decode_object(name: str, raw: object) -> Mapping[str, Any]:
    if isinstance(raw, Mapping) and all(isinstance(k, str) for k in raw):
        return types.MappingProxyType(dict(raw))  # frozen like the record that holds it
    raise ValidationError(name, "must be a JSON object", raw)


def _enum_decoder(enum_cls: type[Enum]) -> Decoder:
    members = {m.value: m for m in enum_cls}  # a dict lookup costs a fraction of calling the enum class

    def decode(name: str, raw: object) -> object:
        try:
            return members[raw]
        except (KeyError, TypeError):  # TypeError: an unhashable value (a list) in a damaged record
            allowed = ", ".join(str(m.value) for m in enum_cls)
            raise ValidationError(name, f"must be one of {allowed}", raw) from None

    return decode


def _enum_value(member: Enum) -> object:
    return member.value


def _tuple_codec(annotation: object, ints: bool) -> tuple[Decoder, Encoder]:
    """``tuple[X, ...]`` (a list of X) or ``tuple[X, Y]`` (a list of exactly those), elements not null."""
    args = typing.get_args(annotation)
    repeated = len(args) == 2 and args[1] is Ellipsis
    parts = [_value_codec(a, ints) for a in (args[:1] if repeated else args)]

    def decode(name: str, raw: object) -> tuple[Any, ...]:
        if not isinstance(raw, list | tuple) or (not repeated and len(raw) != len(parts)):
            shape = "a list" if repeated else f"a list of {len(parts)} values"
            raise ValidationError(name, f"must be {shape}", raw)
        out = []
        for i, item in enumerate(raw):
            decoder = parts[0][0] if repeated else parts[i][0]
            if item is None:
                raise ValidationError(f"{name}[{i}]", "must not be null")
            out.append(decoder(f"{name}[{i}]", item))
        return tuple(out)

    def encode(value: tuple[Any, ...]) -> list[object]:
        out: list[object] = []
        for i, item in enumerate(value):
            encoder = parts[0][1] if repeated else parts[i][1]
            out.append(item if encoder is None else encoder(item))
        return out

    return decode, encode


def _value_codec(annotation: object, ints: bool) -> tuple[Decoder, Encoder | None]:
    if annotation is Decimal:
        return _decimal_decoder(ints), str
    if annotation is bool:
        return _decode_bool, None
    if annotation is int:
        return _decode_int, None
    if annotation is str:
        return _decode_str, None
    if typing.get_origin(annotation) is tuple:
        if typing.get_args(annotation) == (str, ...):
            return _decode_str_tuple, list  # the common case, without a call per element
        return _tuple_codec(annotation, ints)
    if typing.get_origin(annotation) is Mapping:
        return _decode_object, dict
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum_decoder(annotation), _enum_value
    raise TypeError(f"unsupported record field type {annotation!r}")


def _field_codec(annotation: object, ints: bool) -> tuple[Decoder, Encoder | None, bool]:
    """How a field of this type is read back and written (None writes the value as it is: ints, strings, bools),
    and whether ``None`` is allowed."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported record field type {annotation!r}")
        annotation = args[0]
    decoder, encoder = _value_codec(annotation, ints)
    return decoder, encoder, optional


def _compile_encoder(
    name: str, version: int, encoders: list[tuple[str, Encoder | None]]
) -> Callable[[Any], dict[str, Any]]:
    """One function per record type that builds its dict in a single expression: every journaled event goes
    through it on the order path, where a loop of ``getattr`` and per-field calls cost several times as much.

    Same output as the loop it replaces: ``type``, ``v``, then the fields in order; a field with an encoder
    writes ``None`` as null and anything else encoded; a field without one is written as it is.
    """
    namespace: dict[str, Any] = {}
    parts = [f"'type': {name!r}", f"'v': {version!r}"]
    for index, (field_name, encode) in enumerate(encoders):
        value = f"r.{field_name}"
        if encode is None:
            parts.append(f"{field_name!r}: {value}")
            continue
        if encode is str:
            expression = f"str({value})"
        elif encode is _enum_value:
            expression = f"{value}.value"
        elif encode is list:
            expression = f"list({value})"
        elif encode is dict:
            expression = f"dict({value})"
        else:
            namespace[f"encode_{index}"] = encode
            expression = f"encode_{index}({value})"
        parts.append(f"{field_name!r}: None if {value} is None else {expression}")
    source = "def to_dict(r):\n    return {" + ", ".join(parts) + "}\n"
    exec(compile(source, f"<codec {name}>", "exec"), namespace)  # built from identifiers (field names) only
    function: Callable[[Any], dict[str, Any]] = namespace["to_dict"]
    return function


class RecordCodec(Generic[T]):
    """One family of typed records: its registry, schema versions and upgraders.

    ``version``: the schema version new types are written at (a type may be registered at a later one).
    ``unversioned``: the version a dict without ``"v"`` is (None: such a dict is refused) -- the records journaled
    as loose dicts before they were typed are version 0. ``renamed``: old type names -> the type they are now.
    ``decimal_ints``: whether a JSON integer is read as a Decimal too (hand-written and loose records had some).
    ``what`` names the family in messages ("order event").
    """

    def __init__(
        self,
        what: str,
        *,
        version: int = 1,
        unversioned: int | None = None,
        renamed: Mapping[str, str] | None = None,
        decimal_ints: bool = False,
    ) -> None:
        self.what = what
        self.noun = what.rsplit(" ", 1)[-1]
        self.version = version
        self.unversioned = unversioned
        self.oldest = version if unversioned is None else unversioned
        self.renamed: Mapping[str, str] = dict(renamed or {})
        self.decimal_ints = decimal_ints
        self._registry: dict[str, type[T]] = {}
        # type name -> (class, version written, the keys it may have, its fields' specs)
        self._decoding: dict[str, tuple[type[T], int, frozenset[str], tuple[_Spec, ...]]] = {}
        self._encoders: dict[type, Callable[[Any], dict[str, Any]]] = {}
        self._upgraders: dict[tuple[str, int], Upgrader] = {}
        self.types: Mapping[str, type[T]] = types.MappingProxyType(self._registry)

    def register(self, cls: type[T], *, version: int | None = None) -> type[T]:
        """Make a record class (de)serialisable under its class name, written at ``version`` (default: the
        family's). Field types must be ones the codec knows."""
        name = cls.__name__
        if name in self._registry and self._registry[name] is not cls:
            raise ValueError(f"{self.noun} type {name!r} is already registered")
        hints = typing.get_type_hints(cls)
        specs = []
        encoders = []
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in ("type", "v"):
                raise TypeError(f"{name}.{f.name}: field name is reserved by the codec")
            decoder, encoder, optional = _field_codec(hints[f.name], self.decimal_ints)
            has_default = f.default is not MISSING or f.default_factory is not MISSING
            specs.append((f.name, f"{name}.{f.name}", decoder, optional, has_default))
            encoders.append((f.name, encoder))
        written = self.version if version is None else version
        self._registry[name] = cls
        known = frozenset(spec[0] for spec in specs) | {"type", "v"}
        self._decoding[name] = (cls, written, known, tuple(specs))
        self._encoders[cls] = _compile_encoder(name, written, encoders)
        return cls

    def register_upgrader(self, type_name: str, from_version: int, upgrade: Upgrader) -> None:
        """``upgrade`` turns a version ``from_version`` dict of ``type_name`` into a version ``from_version + 1``
        dict (it gets a copy it may change)."""
        self._upgraders[(type_name, from_version)] = upgrade

    def knows(self, data: Mapping[str, Any]) -> bool:
        """Whether a journal record is one of this family's (cheap: replay asks it of every record)."""
        kind = data.get("type")
        return isinstance(kind, str) and (kind in self._registry or kind in self.renamed)

    def version_of(self, type_name: str) -> int:
        return self._decoding[type_name][1]

    def to_dict(self, record: T) -> dict[str, Any]:
        encode = self._encoders.get(type(record))
        if encode is None:
            raise TypeError(f"{self.noun} type {type(record).__name__!r} is not registered")
        return encode(record)

    def from_dict(self, data: Mapping[str, Any]) -> T:
        """Read back what :meth:`to_dict` wrote, or an older version of it; ``ValidationError`` names a bad field."""
        # Replay reads every journaled record through here: one table lookup for the type, and a record of the
        # current version (nearly all) goes straight to its fields.
        written = data.get("type")
        entry = self._decoding.get(written) if isinstance(written, str) else None
        version = data.get("v", self.unversioned)
        if entry is None or type(version) is not int or version != entry[1]:
            return self._from_older(data)
        cls, _, known, specs = entry
        if not known.issuperset(data):
            unknown = sorted(set(data) - known)
            raise ValidationError(f"{written}.{unknown[0]}", f"is not a field of this {self.noun}")
        kwargs: dict[str, Any] = {}
        for field_name, where, decoder, optional, has_default in specs:
            if field_name not in data:
                if has_default:
                    continue
                raise ValidationError(where, "is required")
            raw = data[field_name]
            if raw is None:
                if not optional:
                    raise ValidationError(where, "must not be null")
                kwargs[field_name] = None
            else:
                kwargs[field_name] = decoder(where, raw)
        return cls(**kwargs)

    def _from_older(self, data: Mapping[str, Any]) -> T:
        """A record of an older version or an old type name (upgraded first), or a bad one."""
        written = data.get("type")
        name = self.renamed.get(written, written) if isinstance(written, str) else written
        if not isinstance(name, str) or name not in self._decoding:
            raise ValidationError("type", f"must name a registered {self.what}", written)
        current = self._decoding[name][1]
        version = data.get("v", self.unversioned)
        if not isinstance(version, int) or isinstance(version, bool) or not self.oldest <= version <= current:
            raise ValidationError(f"{name}.v", f"must be a schema version between {self.oldest} and {current}", version)
        upgraded = {**data, "type": name}  # upgraders rewrite a copy, never the caller's record
        while version < current:
            upgrade = self._upgraders.get((name, version))
            if upgrade is not None:
                upgraded = upgrade(upgraded)
            version += 1
        upgraded["v"] = current
        return self.from_dict(upgraded)


__all__ = ["Decoder", "Encoder", "RecordCodec", "Upgrader"]
