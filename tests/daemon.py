"""Start the real daemon (``ticket-gateway serve``) in a child process for socket tests."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, BinaryIO

from tests.conftest import ROOT, run_cli


@dataclass
class Served:
    config_path: Path
    smtp_port: int | None
    lmtp_port: int | None
    proc: subprocess.Popen[bytes]
    log: Path
    log_file: BinaryIO
    db: Any = None  # the test's own handle on the daemon's database

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return run_cli(self.config_path, *args, check=check)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, and the exit code (the daemon must exit within 10 s)."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(timeout=timeout)
        finally:
            self.log_file.close()

    def kill(self) -> None:
        """kill -9: no clean-up at all, as in a crash."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.log_file.close()


def wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"serve did not listen on {port}:\n{log.read_text()}")


def start_serve(config_path: Path, smtp_port: int | None, lmtp_port: int | None = None) -> Served:
    log = config_path.with_suffix(f".{time.monotonic_ns()}.log")
    fh = log.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--config", str(config_path), "serve"], stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    served = Served(config_path, smtp_port, lmtp_port, proc, log, fh)
    try:
        for port in (smtp_port, lmtp_port):
            if port:
                wait_port(port, proc, log)
    except BaseException:
        served.kill()
        raise
    return served


def wait_for(predicate, what: str, deadline: float = 30.0, served: Served | None = None):  # type: ignore[no-untyped-def]
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` at the deadline."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    extra = f"\nserve log:\n{served.log.read_text()}" if served else ""
    raise AssertionError(f"timed out waiting for {what}{extra}")


def support_message(sender: str, subject: str, msgid: str, body: str, **headers: str) -> EmailMessage:
    """A customer's plain-text message to the desk (header names: underscores for dashes)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = msgid
    for key, value in headers.items():
        msg[key.replace("_", "-")] = value
    msg.set_content(body)
    return msg
