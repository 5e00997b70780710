"""The daemon's configuration: one TOML file, validated completely at start-up.

Read by the faces (CLI, daemon) and handed to the parts as plain dataclasses. A wrong
key, type or address is a :class:`~gateway.errors.ConfigError` that names the file, the
key and what is expected, so the admin can fix the line without reading code.
"""
from __future__ import annotations

import ipaddress
import sys
import tomllib
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.errors import HeaderParseError
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.errors import ConfigError

# Where the shipped rules/ and templates/ live in a source checkout or editable install.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shipped(name: str) -> Path | None:
    """The shipped ``rules`` or ``templates`` folder: in the checkout, else installed data."""
    for candidate in (PROJECT_ROOT / name, Path(sys.prefix) / "share" / "ticket-gateway" / name):
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class ImapConfig:
    """One ``[[imap]]`` mailbox the gateway reads."""

    name: str
    host: str
    port: int
    tls: str
    user: str
    password: str
    folder: str
    processed_folder: str
    quarantine_folder: str
    idle_renew_seconds: int
    resync_seconds: int


@dataclass(frozen=True)
class Config:
    path: Path
    database_url: str
    desk_address: str
    desk_name: str
    technicians: tuple[str, ...]
    queue_address: str | None
    billing_address: str | None
    services_contact: str
    buy_points_url: str
    default_country: str
    default_subdiv: str | None
    rules_dir: Path
    templates_dir: Path
    listen_smtp: HostPort | None
    listen_lmtp: HostPort | None
    outbound_maildir: Path | None
    outbound_relay: str | None
    authserv_ids: tuple[str, ...]
    imap: tuple[ImapConfig, ...] = field(default=())

    @property
    def desk_domain(self) -> str:
        return self.desk_address.rpartition("@")[2].lower()

    def is_technician(self, address: str) -> bool:
        return address.lower() in self.technicians


# key -> (type, required, default); nested tables are listed by name.
_SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool, Any]]] = {
    "database": {"url": (str, False, "sqlite:///var/gateway.db")},
    "desk": {
        "address": (str, True, None),
        "name": (str, False, "Support"),
        "technicians": (list, False, []),
        "queue_address": (str, False, None),
        "billing_address": (str, False, None),
        "services_contact": (str, False, "Professional Services <services@example.com>"),
        "buy_points_url": (str, False, "https://example.com/support/points"),
        "default_country": (str, False, "US"),
        "default_subdiv": (str, False, None),
        "rules_dir": (str, False, "rules"),
        "templates_dir": (str, False, "templates"),
    },
    "listen": {"smtp": (str, False, None), "lmtp": (str, False, None)},
    "outbound": {"maildir": (str, False, None), "relay": (str, False, None)},
    "trust": {"authserv_ids": (list, False, [])},
}
_IMAP_SCHEMA: dict[str, tuple[type | tuple[type, ...], bool, Any]] = {
    "name": (str, False, None),
    "host": (str, True, None),
    "port": (int, False, None),
    "tls": (str, False, "tls"),
    "user": (str, True, None),
    "password": (str, False, None),
    "password_file": (str, False, None),
    "folder": (str, False, "INBOX"),
    "processed_folder": (str, False, "Processed"),
    "quarantine_folder": (str, False, "Quarantine"),
    "idle_renew_seconds": (int, False, 540),
    "resync_seconds": (int, False, 60),
}


def _table(file: str, name: str, raw: dict[str, Any], schema: dict[str, tuple[Any, bool, Any]]) -> dict[str, Any]:
    unknown = sorted(set(raw) - set(schema))
    if unknown:
        raise ConfigError(file, f"{name}.{unknown[0]}", "unknown key", "expected one of: " + ", ".join(sorted(schema)))
    out: dict[str, Any] = {}
    for key, (typ, required, default) in schema.items():
        if key not in raw:
            if required:
                raise ConfigError(file, f"{name}.{key}", "missing", f"add `{key} = ...` to [{name}]")
            out[key] = default
            continue
        value = raw[key]
        if not isinstance(value, typ) or isinstance(value, bool) and typ is int:
            expected = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
            raise ConfigError(file, f"{name}.{key}", f"expected {expected}, got {type(value).__name__}", f"write e.g. {key} = {_example(typ)}")
        out[key] = value
    return out


def _example(typ: Any) -> str:
    return {str: '"text"', int: "10", list: '["a@example.com"]', bool: "true"}.get(typ, "...")


def check_address(file: str, key: str, value: str) -> str:
    """Return the bare, lower-cased address or raise naming the key."""
    try:
        addr = Address(addr_spec=value.strip())
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise ConfigError(file, key, f"{value!r} is not an e-mail address ({exc})", 'write e.g. "support@example.com"') from None
    if not addr.username or not addr.domain or "." not in addr.domain and addr.domain != "localhost":
        raise ConfigError(file, key, f"{value!r} is not an e-mail address", 'write e.g. "support@example.com"')
    return addr.addr_spec.lower()


def _host_port(file: str, key: str, value: str | None) -> HostPort | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(file, key, f"{value!r} is not host:port", 'write e.g. "127.0.0.1:8025"')
    return HostPort(host, int(port))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve(base: Path, value: str, name: str) -> Path:
    """Paths are relative to the config file; fall back to the shipped folder of that name."""
    path = Path(value)
    if not path.is_absolute():
        path = base / path
    fallback = shipped(name)
    if not path.exists() and Path(value).name == name and fallback is not None:
        return fallback
    return path


def load_config(path: str | Path) -> Config:
    """Read and validate ``path``; every problem is a ConfigError naming file and key."""
    path = Path(path)
    file = str(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(file, "-", "file not found", "pass --config FILE or set TICKET_GATEWAY_CONFIG") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "-", f"not valid TOML: {exc}", "fix the syntax on that line") from None
    return config_from_mapping(raw, path)


def config_from_mapping(raw: dict[str, Any], path: Path) -> Config:
    file = str(path)
    allowed = set(_SCHEMA) | {"imap"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(file, unknown[0], "unknown table", "expected one of: " + ", ".join(sorted(allowed)))
    t = {name: _table(file, name, raw.get(name, {}) if isinstance(raw.get(name, {}), dict) else _not_table(file, name), schema) for name, schema in _SCHEMA.items()}
    desk = t["desk"]
    address = check_address(file, "desk.address", desk["address"])
    techs = []
    for i, tech in enumerate(desk["technicians"]):
        if not isinstance(tech, str):
            raise ConfigError(file, f"desk.technicians[{i}]", "expected a string address", 'write e.g. ["tech@example.com"]')
        techs.append(check_address(file, f"desk.technicians[{i}]", tech))
    for key in ("queue_address", "billing_address"):
        if desk[key] is not None:
            desk[key] = check_address(file, f"desk.{key}", desk[key])
    url = t["database"]["url"]
    scheme = urlsplit(url).scheme
    if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
        raise ConfigError(file, "database.url", f"unsupported database {scheme!r}", 'use "sqlite:///var/gateway.db" or "postgresql+psycopg://user@host/db"')
    if scheme.startswith("sqlite") and url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        # A relative SQLite path is relative to the config file, like every other path.
        url = "sqlite:///" + str(path.parent.resolve() / url[len("sqlite:///"):])
    base = path.parent.resolve()
    out = t["outbound"]
    if out["maildir"] is None and out["relay"] is None:
        raise ConfigError(file, "outbound", "no destination for outgoing mail", 'set maildir = "var/outbox" or relay = "smtp://127.0.0.1:25"')
    if out["maildir"] is not None and out["relay"] is not None:
        raise ConfigError(file, "outbound", "both maildir and relay are set", "keep one of them")
    if out["relay"] is not None:
        parts = urlsplit(out["relay"])
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError(file, "outbound.relay", f"{out['relay']!r} is not an SMTP URL", 'write e.g. "smtp://127.0.0.1:25"')
    listen = t["listen"]
    smtp = _host_port(file, "listen.smtp", listen["smtp"])
    lmtp = _host_port(file, "listen.lmtp", listen["lmtp"])
    trust = []
    for i, ident in enumerate(t["trust"]["authserv_ids"]):
        if not isinstance(ident, str) or not ident:
            raise ConfigError(file, f"trust.authserv_ids[{i}]", "expected a host name", 'write e.g. ["mx.example.com"]')
        trust.append(ident.lower())
    imap_raw = raw.get("imap", [])
    if not isinstance(imap_raw, list):
        raise ConfigError(file, "imap", "expected [[imap]] tables", "write one [[imap]] table per mailbox")
    return Config(
        path=path,
        database_url=url,
        desk_address=address,
        desk_name=desk["name"],
        technicians=tuple(techs),
        queue_address=desk["queue_address"],
        billing_address=desk["billing_address"],
        services_contact=desk["services_contact"],
        buy_points_url=desk["buy_points_url"],
        default_country=desk["default_country"].upper(),
        default_subdiv=desk["default_subdiv"],
        rules_dir=_resolve(base, desk["rules_dir"], "rules"),
        templates_dir=_resolve(base, desk["templates_dir"], "templates"),
        listen_smtp=smtp,
        listen_lmtp=lmtp,
        outbound_maildir=(base / out["maildir"]) if out["maildir"] is not None else None,
        outbound_relay=out["relay"],
        authserv_ids=tuple(trust),
        imap=tuple(_imap(file, i, m, base) for i, m in enumerate(imap_raw)),
    )


def _not_table(file: str, name: str) -> dict[str, Any]:
    raise ConfigError(file, name, "expected a table", f"write [{name}] on its own line")


def _imap(file: str, index: int, raw: Any, base: Path) -> ImapConfig:
    name = f"imap[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(file, name, "expected a table", "write [[imap]] followed by its keys")
    m = _table(file, name, raw, _IMAP_SCHEMA)
    if m["tls"] not in ("tls", "starttls", "none"):
        raise ConfigError(file, f"{name}.tls", f"{m['tls']!r} is not a TLS mode", 'use "tls", "starttls" or "none"')
    if m["tls"] == "none" and not _is_loopback(m["host"]):
        raise ConfigError(file, f"{name}.tls", f'"none" sends the password in clear to {m["host"]}', 'use "tls" or "starttls"; "none" is allowed only for loopback hosts')
    if (m["password"] is None) == (m["password_file"] is None):
        raise ConfigError(file, f"{name}.password", "give exactly one of password and password_file", 'write password_file = "/etc/ticket-gateway/imap.secret"')
    password = m["password"]
    if password is None:
        secret = Path(m["password_file"])
        secret = secret if secret.is_absolute() else base / secret
        try:
            password = secret.read_text().strip()
        except OSError as exc:
            raise ConfigError(file, f"{name}.password_file", f"cannot read {secret}: {exc.strerror}", "point it at a readable file") from None
    port = m["port"] if m["port"] is not None else (993 if m["tls"] == "tls" else 143)
    return ImapConfig(
        name=m["name"] or f"{m['user']}@{m['host']}/{m['folder']}",
        host=m["host"],
        port=port,
        tls=m["tls"],
        user=m["user"],
        password=password,
        folder=m["folder"],
        processed_folder=m["processed_folder"],
        quarantine_folder=m["quarantine_folder"],
        idle_renew_seconds=min(m["idle_renew_seconds"], 600),
        resync_seconds=m["resync_seconds"],
    )
