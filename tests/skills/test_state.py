import json
import os
import signal
import subprocess
import sys
import time

import pytest

from assistant.skills.state import StateError, StateStore


def test_round_trip_and_no_temp_files_left(tmp_path):
    store = StateStore(tmp_path / "state")
    assert store.load("timers", {"timers": []}) == {"timers": []}
    store.save("timers", {"timers": [1, 2]})
    assert StateStore(tmp_path / "state").load("timers", {}) == {"timers": [1, 2]}
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["timers.json"]


@pytest.mark.parametrize("content", [b'{"timers": [1, 2', b"\xff\xfe\x00garbage", b"[1, 2, 3]", b""])
def test_corrupt_file_is_set_aside_not_a_crash(tmp_path, content):
    (tmp_path / "timers.json").write_bytes(content)
    store = StateStore(tmp_path)
    assert store.load("timers", {"timers": []}) == {"timers": []}
    assert (tmp_path / "timers.json.corrupt").read_bytes() == content
    assert len(store.problems) == 1 and "timers.json" in store.problems[0]
    store.save("timers", {"timers": [3]})  # and it carries on
    assert store.load("timers", {}) == {"timers": [3]}


def test_bad_names_and_unwritable_dir(tmp_path):
    store = StateStore(tmp_path)
    with pytest.raises(ValueError):
        store.save("../escape", {})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        StateStore(blocker / "sub").save("timers", {})


_WRITER = """
import sys
from assistant.skills.state import StateStore
store = StateStore(sys.argv[1])
big = "x" * 200_000
i = 0
print("ready", flush=True)
while True:
    i += 1
    store.save("timers", {"generation": i, "padding": big})
"""


def test_killed_during_writes_leaves_a_whole_document(tmp_path):
    """A power cut mid-write: kill -9 a process that is saving as fast as it can, many times."""
    store_dir = tmp_path / "state"
    seen = 0
    for attempt in range(5):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(store_dir)], stdout=subprocess.PIPE, cwd=os.getcwd()
        )
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(0.15 + 0.05 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        store = StateStore(store_dir)
        doc = store.load("timers", {})
        assert store.problems == []
        assert doc["generation"] >= 1 and len(doc["padding"]) == 200_000
        seen = max(seen, doc["generation"])
        json.loads((store_dir / "timers.json").read_text())  # the file itself is whole JSON
    assert seen > 1
