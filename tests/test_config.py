"""Configuration errors name the file, the key and the fix (issue 2)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.rulebook.numbers import load_numbers
from tests.conftest import ROOT, config_mapping, run_cli, write_config

GOOD = """
[database]
url = "sqlite:///var/gateway.db"
[desk]
address = "support@example.com"
name = "Example Support"
technicians = ["tech@example.com"]
rules_dir = "rules"
templates_dir = "templates"
[listen]
smtp = "127.0.0.1:8025"
lmtp = "127.0.0.1:8024"
[outbound]
maildir = "var/outbox"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(text)
    return path


def test_the_issue_example_loads_and_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.desk_address == "support@example.com"
    assert cfg.database_url == f"sqlite:///{tmp_path}/var/gateway.db"
    assert cfg.outbound_maildir == tmp_path / "var" / "outbox"
    assert str(cfg.listen_lmtp) == "127.0.0.1:8024"
    # No rules/ beside this config: the shipped rules are used.
    assert cfg.rules_dir == ROOT / "rules"


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (('name = "Example Support"', 'name = "Example Support"\ncolour = "blue"'), "desk.colour", "unknown key"),
        (('address = "support@example.com"', "address = 42"), "desk.address", "expected str"),
        (('address = "support@example.com"', 'address = "not an address"'), "desk.address", "not an e-mail address"),
        (('technicians = ["tech@example.com"]', 'technicians = ["tech@"]'), "desk.technicians[0]", "not an e-mail address"),
        (('smtp = "127.0.0.1:8025"', 'smtp = "127.0.0.1"'), "listen.smtp", "host:port"),
        (('url = "sqlite:///var/gateway.db"', 'url = "mysql://x/y"'), "database.url", "unsupported database"),
        (('maildir = "var/outbox"', 'relay = "http://x"'), "outbound.relay", "not an SMTP URL"),
    ],
)
def test_a_bad_line_names_file_key_and_fix(tmp_path: Path, change: tuple[str, str], key: str, words: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == key
    assert str(path) in str(info.value) and words in str(info.value)
    assert info.value.fix


def test_imap_without_tls_is_refused_for_a_remote_host(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD + '[[imap]]\nhost = "imap.example.net"\ntls = "none"\nuser = "u"\npassword = "p"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "imap[0].tls" and "loopback" in info.value.fix


def test_cli_reports_config_errors_with_exit_78(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('name = "Example Support"', "name = 7"))
    proc = run_cli(path, "ticket", "list", check=False, child=True)
    assert proc.returncode == 78
    assert f"{path}: desk.name: expected str" in proc.stderr.decode()


def test_policy_numbers_are_validated(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text("[points]\npoints_per_incident = -1\n")
    with pytest.raises(ConfigError) as info:
        load_numbers(tmp_path)
    assert info.value.key == "points.points_per_incident"
    (tmp_path / "policy.toml").write_text("[sla]\nopens = \"9am\"\n")
    with pytest.raises(ConfigError) as info:
        load_numbers(tmp_path)
    assert "09:00" in info.value.fix


def test_quarantined_message_is_kept_with_its_reason_and_can_be_retried(db_url: str, tmp_path: Path) -> None:
    path = write_config(tmp_path / "gateway.toml", config_mapping(db_url, tmp_path))
    not_mail = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an Outlook .msg file, not RFC 5322"
    out = json.loads(run_cli(path, "ingest", "-", "--json", input=not_mail).stdout)
    assert out["outcome"] == "quarantined" and "Outlook .msg" in out["reason"]
    [row] = json.loads(run_cli(path, "inbound", "list", "--status", "quarantined", "--json").stdout)
    assert row["reason"] == out["reason"]
    assert run_cli(path, "inbound", "show", str(row["id"]), "--raw").stdout == not_mail
    again = json.loads(run_cli(path, "inbound", "retry", str(row["id"]), "--json").stdout)
    assert again["outcome"] == "quarantined"
    assert json.loads(run_cli(path, "status", "--json").stdout)["queues"]["quarantined"] == 1
