"""``ticket-gateway split FILE.eml [--json]`` through a real subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "gateway.cli"]

TWO_ISSUES = b"""From: Jane <jane@example.com>
To: support@example.net
Subject: two problems
Content-Type: text/plain; charset=utf-8

Hi,

Postfix rejects mail from our scanner with "Relay access denied".

Another issue: Roundcube does not remember the language setting.

On Mon, 3 Jun 2024 at 10:00, Support <support@example.net> wrote:
> 1. an old problem that fails
> 2. another old problem that fails
"""


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TICKET_GATEWAY_CONFIG", None)
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_split_json(tmp_path: Path) -> None:
    eml = tmp_path / "two.eml"
    eml.write_bytes(TWO_ISSUES)
    done = _run("split", str(eml), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"issues", "signals"}
    assert out["issues"] == [
        'Hi,\n\nPostfix rejects mail from our scanner with "Relay access denied".',
        "Another issue: Roundcube does not remember the language setting.",
    ]
    assert any(s["id"] == "marker.another-issue" and s["split"] for s in out["signals"])


def test_split_text_output_for_single_issue(tmp_path: Path) -> None:
    eml = tmp_path / "one.eml"
    eml.write_bytes(b"Subject: x\nContent-Type: text/html\n\n<p>Dovecot quota is not enforced.</p>\n")
    done = _run("split", str(eml), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1 issue(s)\n")
    assert "Dovecot quota is not enforced." in done.stdout


def test_split_missing_file_is_a_user_error(tmp_path: Path) -> None:
    done = _run("split", str(tmp_path / "absent.eml"), cwd=tmp_path)
    assert done.returncode == 65
    assert "cannot read" in done.stderr


def test_split_bad_rules_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "splitting.toml").write_text("[[signal]]\nid = 'x.bad'\nkind = 'boundary'\npattern = '('\nweight = 1\n")
    eml = tmp_path / "two.eml"
    eml.write_bytes(TWO_ISSUES)
    env_rules = {"TICKET_GATEWAY_RULES": str(tmp_path)}
    done = subprocess.run(
        [*CLI, "split", str(eml)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env_rules},
    )
    assert done.returncode == 78
    assert "x.bad" in done.stderr and "splitting.toml" in done.stderr
