"""Stopping a child process: politely first, for good after a grace period."""

from __future__ import annotations

import signal
import subprocess
from typing import Any


def terminate(
    process: subprocess.Popen[Any], sig: signal.Signals = signal.SIGTERM, grace_s: float = 60
) -> None:
    """Send `sig` and wait up to `grace_s`; SIGKILL a process that is still running then."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
