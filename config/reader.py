"""The one settings reader: defaults, then ``<home>/config.json`` (one section), then ``TDS_*`` environment.

Every package keeps its settings as a frozen dataclass (``ChainSettings``, ``GatewaySettings``,
``NotarySettings``, ``AuditSettings``) whose first field is ``home``; :func:`read` fills the rest
through pydantic-settings, which validates and coerces each value to the field's type (``"8700"``
-> 8700, ``"true"`` -> True, ``"null"`` -> None) and names the culprit when one is wrong:

    read(GatewaySettings, "gateway", "TDS_GATEWAY_", home)   # TDS_GATEWAY_PORT=8701 over {"gateway": {"port": ...}}

Precedence, highest first: the environment (``<prefix><FIELD>``, case-insensitive; empty values
are ignored), the config.json section, the dataclass defaults. Unknown keys in config.json are
ignored (a file may carry other tools' sections). The home itself is ``home``, else ``TDS_HOME``,
else ``.tds``. A process hands its settings to a child through the same variables (:func:`to_env`),
so the child reads them with the same reader.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from pydantic import ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULT_HOME = ".tds"
HOME_ENV = "TDS_HOME"
NONE = "null"
"""How an environment variable says None (a setting whose default is something else)."""

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value of the wrong kind (in config.json or the environment)."""


def home_of(home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The TDS home: ``home``, else ``TDS_HOME``, else ``.tds``."""
    env = os.environ if env is None else env
    return Path(home or env.get(HOME_ENV) or DEFAULT_HOME)


def config_section(home: Path, section: str) -> dict[str, Any]:
    """One section of ``<home>/config.json`` ({} when the file or the section is absent)."""
    path = home / "config.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise SettingsError(f"{path} is not valid JSON ({exc}): fix or remove it") from exc
    value = data.get(section, {}) if isinstance(data, dict) else {}
    return value if isinstance(value, dict) else {}


class _Env(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (the process environment by default)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str], prefix: str) -> None:
        self._environ = environ
        super().__init__(settings_cls, case_sensitive=False, env_prefix=prefix, env_ignore_empty=True,
                         env_parse_none_str=NONE)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): (None if v == NONE else v) for k, v in self._environ.items() if v != ""}


def _fields(cls: type[Any]) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(cls) if f.name != "home"]


def read(cls: type[T], section: str, prefix: str, home: str | os.PathLike[str] | None = None,
         env: Mapping[str, str] | None = None) -> T:
    """``cls(home=..., **values)`` with each value from the environment, else config.json, else the default."""
    env = os.environ if env is None else env
    home_path = home_of(home, env)
    hints = get_type_hints(cls)
    specs: dict[str, Any] = {}
    for f in _fields(cls):
        if f.default is not dataclasses.MISSING:
            specs[f.name] = (hints[f.name], f.default)
        elif f.default_factory is not dataclasses.MISSING:
            specs[f.name] = (hints[f.name], f.default_factory())
        else:
            specs[f.name] = (hints[f.name], ...)
    from_file = config_section(home_path, section)

    class Base(BaseSettings):
        model_config = SettingsConfigDict(extra="ignore", coerce_numbers_to_str=True, frozen=True)

        @classmethod
        def settings_customise_sources(cls, settings_cls: type[BaseSettings], **_: PydanticBaseSettingsSource
                                       ) -> tuple[PydanticBaseSettingsSource, ...]:
            return _Env(settings_cls, env, prefix), InitSettingsSource(settings_cls, init_kwargs=from_file)

    model = create_model(f"{cls.__name__}Reader", __base__=Base, **specs)
    try:
        values = model()
    except ValidationError as exc:
        problems = "; ".join(_problem(e, section, prefix, home_path) for e in exc.errors())
        raise SettingsError(problems) from None
    return cls(home=home_path, **{f.name: getattr(values, f.name) for f in _fields(cls)})  # type: ignore[call-arg]


def _problem(error: Any, section: str, prefix: str, home: Path) -> str:
    name = ".".join(map(str, error["loc"]))
    return (f"bad setting {section}.{name} ({prefix}{name.upper()} or \"{name}\" in the \"{section}\" section of "
            f"{home / 'config.json'}): {error['msg']}")


def to_env(settings: Any, prefix: str) -> dict[str, str]:
    """The environment variables :func:`read` turns back into ``settings`` (for a child process)."""
    out = {HOME_ENV: str(settings.home)}
    for f in _fields(type(settings)):
        value = getattr(settings, f.name)
        out[f"{prefix}{f.name.upper()}"] = NONE if value is None else str(value).lower() if isinstance(
            value, bool) else str(value)
    return out
