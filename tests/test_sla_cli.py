"""``ticket-gateway sla``: the deadline, batch and calendar commands (POLICY.md P3).

The batch command runs in a subprocess from an empty folder, as an admin would run it:
no configuration file, the shipped ``rules/policy.toml``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ENTRY = "import sys; from gateway.cli import main; sys.exit(main())"


def run_cli(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKET_GATEWAY_")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        input=stdin, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )


def test_deadline_prints_utc_iso(tmp_path: Path) -> None:
    # Tuesday 1 December 2026, 07:30 UTC = 08:30 CET: the clock starts at 09:00, due 13:00 CET.
    done = run_cli(["sla", "deadline", "--logged-at", "2026-12-01T07:30:00Z", "--tz", "Europe/Berlin", "--country", "DE"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2026-12-01T12:00:00Z\n"


def test_deadline_refuses_a_time_without_offset(tmp_path: Path) -> None:
    done = run_cli(["sla", "deadline", "--logged-at", "2026-12-01T07:30:00", "--tz", "Europe/Berlin", "--country", "DE"], tmp_path)
    assert done.returncode == 65
    assert "offset" in done.stderr and done.stdout == ""


def test_batch_keeps_rows_aligned_and_names_the_bad_line(tmp_path: Path) -> None:
    rows = [
        "logged_at_utc,tz,country,subdiv,note",
        "2026-12-01T07:30:00Z,Europe/Berlin,DE,,first",
        "yesterday,Europe/Berlin,DE,,bad time",
        "2026-01-06T08:00:00Z,Europe/Berlin,DE,BY,Epiphany in Bavaria",
        "2026-01-06T08:00:00Z,Europe/Berlin,DE,BE,no holiday in Berlin",
        "2026-01-06T08:00:00Z,Atlantis/Lost,DE,,bad zone",
    ]
    done = run_cli(["sla", "deadline", "--batch"], tmp_path, stdin="\n".join(rows) + "\n")
    assert done.returncode == 65
    assert done.stdout.splitlines() == [
        "2026-12-01T12:00:00Z",
        "ERROR",
        "2026-01-07T12:00:00Z",
        "2026-01-06T12:00:00Z",
        "ERROR",
    ]
    assert "line 3:" in done.stderr and "line 6:" in done.stderr
    assert "line 2:" not in done.stderr


def test_batch_without_the_needed_columns_fails(tmp_path: Path) -> None:
    done = run_cli(["sla", "deadline", "--batch"], tmp_path, stdin="when,zone\n2026-12-01T07:30:00Z,UTC\n")
    assert done.returncode == 65
    assert "logged_at_utc" in done.stderr


def test_calendar_json_lists_windows_and_closures(tmp_path: Path) -> None:
    done = run_cli(
        ["sla", "calendar", "--tz", "Europe/Berlin", "--country", "DE", "--subdiv", "BY", "--from", "2026-12-24", "--days", "4", "--json"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    days = json.loads(done.stdout)["days"]
    assert [d["date"] for d in days] == ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-27"]
    assert days[0]["open"] and days[0]["windows"] == [
        {
            "local_start": "2026-12-24T09:00:00+01:00",
            "local_end": "2026-12-24T17:00:00+01:00",
            "utc_start": "2026-12-24T08:00:00Z",
            "utc_end": "2026-12-24T16:00:00Z",
        }
    ]
    assert days[1]["closed"] == "holiday" and days[1]["holiday"] == "Christmas Day"
    assert days[2]["closed"] == "weekend" and days[2]["holiday"] is not None
    assert days[3]["closed"] == "weekend" and days[3]["holiday"] is None


def test_calendar_text(tmp_path: Path) -> None:
    done = run_cli(["sla", "calendar", "--tz", "America/New_York", "--country", "US", "--from", "2026-11-26", "--days", "2"], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "2026-11-26 Thu  closed: holiday (Thanksgiving Day)"
    assert lines[2].startswith("2026-11-27 Fri  open 09:00-17:00 EST")


@pytest.mark.parametrize("flags", [["--tz", "Nowhere/Town", "--country", "DE"], ["--tz", "UTC", "--country", "ZZ"]])
def test_calendar_rejects_unknown_zone_or_country(tmp_path: Path, flags: list[str]) -> None:
    done = run_cli(["sla", "calendar", *flags, "--from", "2026-01-01", "--days", "1"], tmp_path)
    assert done.returncode == 65
    assert done.stdout == ""


def test_batch_accepts_a_byte_order_mark_and_no_subdiv_column(tmp_path: Path) -> None:
    done = run_cli(["sla", "deadline", "--batch"], tmp_path, stdin="\ufefflogged_at_utc,tz,country\n2026-12-01T07:30:00Z,Europe/Berlin,DE\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2026-12-01T12:00:00Z\n"
