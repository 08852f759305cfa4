"""`floorpulse worker`'s settings are checked before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_data_dir_that_cannot_be_created_fails_at_start_saying_what_to_fix(
    tmp_path: Path,
) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", "--data-dir", str(not_a_dir / "state")],
        env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": "127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "FLOORPULSE_DATA_DIR / --data-dir: cannot create" in result.stderr
    assert "give a directory this user may write" in result.stderr
    assert "Traceback" not in result.stderr
