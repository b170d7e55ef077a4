"""The model registry: trained models under ``$ALPHINTRA_HOME/models``, versioned, promoted and rolled back.

Layout::

    models/<name>/v0001/model.txt       LightGBM's text format
    models/<name>/v0001/reference.json  training distributions, for drift monitoring
    models/<name>/v0001/meta.json       written last: a version exists once its meta does
    models/<name>/registry.json         which version is promoted, and the promotion history

Every file is written to a temporary file in the same folder, fsynced, renamed over its target and the folder
fsynced, so a crash leaves the old file or the new one, never half of one; files are 0600 like the rest of the
home. A version number is taken by creating its folder (``mkdir`` fails if another process took it) and never
reused. ``meta.json`` records the feature set (name, version, fingerprint and full definition), the label, the
data range and its hash, the parameters, the metrics and the library versions; :func:`load` refuses a model
whose file hash does not match, or whose feature set as defined today has a different fingerprint.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphintra.errors import ConflictError, NotFoundError, UnknownNameError, ValidationError
from alphintra.ml.featureset import FeatureSet

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_VERSION_DIR = re.compile(r"^v(\d{4,})$")


def models_root() -> Path:
    from alphintra.config.paths import HomePaths

    return HomePaths().models


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name == "featuresets":
        raise ValidationError(
            "model name", "must be 1-64 letters, digits, . _ - (starting with a letter or digit)", name
        )
    return name


def model_name(symbol: str, timeframe: str, feature_set: str) -> str:
    """The default name of a model: ``<symbol>-<timeframe>-<feature set>`` with unsafe characters dashed."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{symbol}-{timeframe}-{feature_set}").strip(".-")[:64]


def private_dir(folder: Path) -> Path:
    """``folder`` and any missing parent created owner-only (0700), whatever the process umask."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        with contextlib.suppress(FileExistsError):
            candidate.mkdir(mode=0o700)
            os.chmod(candidate, 0o700)
    return folder


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` durably and atomically, owner-only (0600)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()


def now_iso() -> str:
    """The wall-clock time as the project writes times (ISO-8601 UTC): when a version was made or promoted."""
    import time

    from alphintra.formatting import iso_ns

    return str(iso_ns(time.time_ns() // 1_000_000_000 * 1_000_000_000))


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    folder: Path
    meta: dict[str, Any]

    @property
    def model_file(self) -> Path:
        return self.folder / "model.txt"

    @property
    def reference_file(self) -> Path:
        return self.folder / "reference.json"

    def summary(self, promoted: int | None = None) -> dict[str, Any]:
        metrics = self.meta.get("metrics", {})
        return {
            "name": self.name,
            "version": self.version,
            "promoted": self.version == promoted,
            "created_at": self.meta.get("created_at"),
            "task": self.meta.get("task"),
            "feature_set": f"{self.meta['feature_set']['name']}@{self.meta['feature_set']['version']}",
            "symbol": self.meta.get("data", {}).get("symbol"),
            "timeframe": self.meta.get("data", {}).get("timeframe"),
            "rows": self.meta.get("data", {}).get("rows"),
            "auc": metrics.get("auc"),
            "hit_rate": metrics.get("hit_rate"),
            "ic": metrics.get("ic"),
        }


class Registry:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or models_root()

    # -- reading ---------------------------------------------------------------------------------------------------

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and ((p / "registry.json").exists() or any(p.glob("v*/meta.json")))
        )

    def versions(self, name: str) -> list[ModelVersion]:
        folder = self.root / check_name(name)
        found = []
        if folder.is_dir():
            for child in sorted(folder.iterdir()):
                match = _VERSION_DIR.match(child.name)
                meta = child / "meta.json"
                if match and meta.is_file():  # a folder without meta is a training that did not finish
                    found.append(ModelVersion(name, int(match.group(1)), child, json.loads(meta.read_text())))
        return found

    def state(self, name: str) -> dict[str, Any]:
        path = self.root / check_name(name) / "registry.json"
        if not path.is_file():
            return {"promoted": None, "history": [], "events": []}
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        """Version ``version`` of model ``name``, or the promoted one."""
        versions = {v.version: v for v in self.versions(name)}
        if not versions:
            known = ", ".join(self.names()) or "none"
            raise UnknownNameError(f"unknown model {name!r} (known: {known})")
        if version is None:
            version = self.state(name)["promoted"]
            if version is None:
                raise NotFoundError(
                    f"model {name!r} has no promoted version: run `alphintra ml promote {name} VERSION`"
                )
        found = versions.get(version)
        if found is None:
            raise UnknownNameError(
                f"model {name!r} has no version {version} (versions: {', '.join(str(v) for v in sorted(versions))})"
            )
        return found

    # -- writing ---------------------------------------------------------------------------------------------------

    def _new_version_folder(self, name: str) -> tuple[int, Path]:
        folder = private_dir(self.root / check_name(name))
        taken = [int(m.group(1)) for p in folder.iterdir() if (m := _VERSION_DIR.match(p.name))]
        version = max(taken, default=0) + 1
        while True:
            target = folder / f"v{version:04d}"
            try:
                target.mkdir(mode=0o700)  # atomic: a concurrent training gets the next number
                os.chmod(target, 0o700)
                return version, target
            except FileExistsError:
                version += 1

    def save(self, name: str, model_text: str, meta: dict[str, Any], reference: dict[str, Any]) -> ModelVersion:
        version, folder = self._new_version_folder(name)
        body = model_text.encode()
        write_atomic(folder / "model.txt", body)
        write_atomic(folder / "reference.json", _json_bytes(reference))
        full = {**meta, "name": name, "version": version, "model_sha256": hashlib.sha256(body).hexdigest()}
        write_atomic(folder / "meta.json", _json_bytes(full))
        return ModelVersion(name, version, folder, full)

    def _write_state(self, name: str, state: dict[str, Any]) -> None:
        write_atomic(self.root / name / "registry.json", _json_bytes(state))

    @contextlib.contextmanager
    def _locked(self, name: str) -> Iterator[None]:
        """Promotions read, change and write registry.json: one at a time per model (an exclusive flock, waited
        for), so two at once cannot lose one of them."""
        import fcntl

        folder = private_dir(self.root / check_name(name))
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def promote(self, name: str, version: int) -> dict[str, Any]:
        self.get(name, version)  # exists, complete
        with self._locked(name):
            return self._promote(name, version)

    def _promote(self, name: str, version: int) -> dict[str, Any]:
        state = self.state(name)
        if state["promoted"] == version:
            return state
        if state["promoted"] is not None:
            state["history"].append(state["promoted"])
        state["promoted"] = version
        state["events"].append({"action": "promote", "version": version, "at": now_iso()})
        self._write_state(name, state)
        return state

    def rollback(self, name: str) -> dict[str, Any]:
        if not self.versions(name):
            raise UnknownNameError(f"unknown model {name!r} (known: {', '.join(self.names()) or 'none'})")
        with self._locked(name):
            return self._rollback(name)

    def _rollback(self, name: str) -> dict[str, Any]:
        state = self.state(name)
        if not state["history"]:
            raise ConflictError(f"model {name!r} has no earlier promoted version to roll back to")
        previous = state["history"].pop()
        self.get(name, previous)
        state["events"].append({"action": "rollback", "version": previous, "from": state["promoted"], "at": now_iso()})
        state["promoted"] = previous
        self._write_state(name, state)
        return state


@dataclass(frozen=True, slots=True)
class LoadedModel:
    version: ModelVersion
    feature_set: FeatureSet
    model_text: str

    @property
    def task(self) -> str:
        return str(self.version.meta["task"])

    def booster(self) -> Any:
        import lightgbm as lgb

        return lgb.Booster(model_str=self.model_text)

    def reference(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.version.reference_file.read_text())
        return data


def current_feature_set(meta: dict[str, Any]) -> FeatureSet:
    """The feature set a model names, as defined today: the catalogue's if it has that name, else the stored
    definition (a set trained from a TOML file outside the home)."""
    from alphintra.ml.featureset import available

    stored = meta["feature_set"]
    catalogue = available()
    if stored["name"] in catalogue:
        return catalogue[stored["name"]]
    return FeatureSet.from_dict(stored["definition"])


def load(
    name: str, version: int | None = None, *, expected: FeatureSet | None = None, registry: Registry | None = None
) -> LoadedModel:
    """A model ready to serve; refused when its file changed or its feature set does not match."""
    chosen = (registry or Registry()).get(name, version)
    text = chosen.model_file.read_bytes()
    if hashlib.sha256(text).hexdigest() != chosen.meta.get("model_sha256"):
        raise ConflictError(f"model {name} v{chosen.version}: model.txt does not match the hash in its meta.json")
    stored = chosen.meta["feature_set"]
    current = expected or current_feature_set(chosen.meta)
    if current.fingerprint != stored["fingerprint"]:
        raise ValidationError(
            "feature set",
            f"does not match model {name} v{chosen.version}: it was trained on {stored['name']}@{stored['version']} "
            f"(fingerprint {stored['fingerprint'][:12]}), the set now is {current.label} "
            f"(fingerprint {current.fingerprint[:12]})",
            current.label,
        )
    return LoadedModel(chosen, current, text.decode())


__all__ = ["LoadedModel", "ModelVersion", "Registry", "check_name", "load", "model_name", "models_root", "write_atomic"]
