"""A queue_log followed as it grows, is rotated and truncated, and resumed from a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from producers.asterisk import checkpoint
from producers.asterisk.follow import Position, QueueLogFile
from producers.asterisk.state import State


def lines(file: QueueLogFile) -> list[bytes]:
    return [read.raw for read in file.read()]


def every_line(file: QueueLogFile) -> list[bytes]:
    """What a whole file gives, read after read until there is no more."""
    out: list[bytes] = []
    while batch := lines(file):
        out += batch
    file.close()
    return out


def write(path: Path, text: str, mode: str = "a") -> None:
    with path.open(mode + "b") as out:
        out.write(text.encode())


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "queue_log"
    write(path, "1|NONE|NONE|NONE|QUEUESTART|\n2|a|q|NONE|ENTERQUEUE||1|1\n", "w")
    return path


def test_following_gives_whole_lines_as_they_come(log: Path) -> None:
    file = QueueLogFile(log, follow=True)
    assert lines(file) == [b"1|NONE|NONE|NONE|QUEUESTART|\n", b"2|a|q|NONE|ENTERQUEUE||1|1\n"]
    write(log, "3|a|q|x|CON")
    assert lines(file) == []  # half a line: Asterisk is still writing it
    write(log, "NECT|1|b|1\n")
    (read,) = file.read()
    assert (read.raw, read.offset, read.number) == (b"3|a|q|x|CONNECT|1|b|1\n", 56, 3)
    assert file.position == Position(
        log.stat().st_dev, log.stat().st_ino, read.file_id, log.stat().st_size, 3
    )
    file.close()


def test_a_whole_file_ends_with_its_last_line_even_without_a_line_end(log: Path) -> None:
    write(log, "3|a|q|x|CONNECT|1|b|1")
    assert every_line(QueueLogFile(log, follow=False))[-1] == b"3|a|q|x|CONNECT|1|b|1"


def test_a_rotated_file_is_read_to_its_end_then_the_new_one(log: Path) -> None:
    file = QueueLogFile(log, follow=True)
    first = file.read()
    write(log, "3|a|q|x|CONNECT|1|b|1\n")
    log.rename(log.with_name("queue_log.1"))
    write(log, "9|NONE|NONE|NONE|QUEUESTART|\n", "w")
    later = file.read()
    assert [r.raw[:2] for r in first + later] == [b"1|", b"2|", b"3|"]
    (new,) = file.read()
    assert (new.raw, new.offset) == (b"9|NONE|NONE|NONE|QUEUESTART|\n", 0)
    assert new.file_id != first[0].file_id
    file.close()


def test_a_truncated_file_is_read_again_from_its_start(log: Path) -> None:
    file = QueueLogFile(log, follow=True)
    assert len(lines(file)) == 2
    write(
        log,
        "5|NONE|NONE|NONE|QUEUESTART|\n6|c|q|NONE|ENTERQUEUE||1|1\n7|d|q|NONE|ENTERQUEUE||1|1\n",
        "w",
    )
    assert [raw[:2] for raw in every_line(file)] == [b"5|", b"6|", b"7|"]
    assert file.notes == [f"{log} was truncated: reading it again from its start"]


def test_a_checkpoint_resumes_where_reading_stopped_even_in_a_rotated_file(log: Path) -> None:
    file = QueueLogFile(log, follow=True)
    file.read()
    stopped = file.position
    file.close()
    write(log, "3|a|q|x|CONNECT|1|b|1\n")
    log.rename(log.with_name("queue_log.1"))
    write(log, "9|NONE|NONE|NONE|QUEUESTART|\n", "w")
    resumed = QueueLogFile(log, stopped, follow=True)
    assert [raw[:2] for raw in lines(resumed)] == [b"3|"]
    assert [raw[:2] for raw in lines(resumed)] == [b"9|"]
    resumed.close()
    assert resumed.notes == [
        f"resuming in {log.with_name('queue_log.1')}, the file {log} was rotated to"
    ]


def test_a_checkpoint_whose_file_is_gone_says_so(log: Path) -> None:
    stopped = Position(1, 2, "000000000000", 57, 2)
    resumed = QueueLogFile(log, stopped, follow=True)
    assert len(every_line(resumed)) == 2
    assert resumed.notes == [
        f"the file the checkpoint points into is gone: lines after line 2 of it were not read; "
        f"reading {log} from its start"
    ]


def test_a_checkpoint_is_saved_whole_and_checked(log: Path, tmp_path: Path) -> None:
    kept = tmp_path / "cp" / "asterisk.json"
    assert checkpoint.load(kept, log) is None
    position = Position(1, 2, "abc", 57, 2)
    checkpoint.save(kept, checkpoint.Checkpoint(str(log), position, State(clock=5)))
    found = checkpoint.load(kept, log)
    assert found is not None and found.position == position and found.state.clock == 5
    assert not kept.with_name("asterisk.json.part").exists()
    with pytest.raises(checkpoint.CheckpointError, match="belongs to"):
        checkpoint.load(kept, tmp_path / "other_log")
    kept.write_text("{")
    with pytest.raises(checkpoint.CheckpointError, match="is damaged"):
        checkpoint.load(kept, log)
    assert checkpoint.default_path(log).parent == Path(".floorpulse/checkpoints")
