"""The export CLI's destinations that are not regular files.

Run by scripts/test.sh with LORA_EXPORT_BIN pointing at the built `export`
example. A FIFO (or /dev/null, a terminal) is written in place: staging a
file beside it and renaming it over the destination would replace the
device or pipe with a regular file, and the reader would get nothing.
"""

import os
import pathlib
import stat
import subprocess
import threading

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "data" / "sample.jsonl"


def test_a_fifo_destination_is_written_in_place_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "out.jsonl"
    os.mkfifo(fifo)
    received = []

    def read():
        with open(fifo, "rb") as pipe:
            received.append(pipe.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc = subprocess.run(
        [os.environ["LORA_EXPORT_BIN"], "--input", str(SAMPLE), "--format", "jsonl",
         "--output", str(fifo)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    reader.join(timeout=30)
    to_stdout = subprocess.run(
        [os.environ["LORA_EXPORT_BIN"], "--input", str(SAMPLE), "--format", "jsonl",
         "--output", "-"],
        capture_output=True, timeout=60, check=True,
    ).stdout
    assert to_stdout.count(b"\n") > 0
    assert received == [to_stdout]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
