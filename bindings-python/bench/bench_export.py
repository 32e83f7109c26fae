"""Export throughput from Python: lora_export for a list of dicts and for a
JSONL path, next to the same export written with Python's json and csv
modules, on the same machine. Not run by CI (it measures, asserts nothing).

    python bindings-python/bench/bench_export.py [--count 100000] [--repeat 3]

MB/s is output bytes (MiB) per second of wall time, best of --repeat runs;
the input is built (or written) before the clock starts.
"""

import argparse
import csv
import io
import json
import pathlib
import sys
import tempfile
import time

import lora_export

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import conversation  # noqa: E402

CONFIG = {"csvFormulaGuard": False}


def openai_line(c):
    """The OpenAI-flavor JSONL line the export writes (messages + metadata)."""
    return {
        "messages": [{"role": t["role"], "content": t["content"]} for t in c["turns"]],
        "metadata": {
            "conversation_id": c["conversation_id"],
            "title": c["title"],
            "tier": c["tier"],
            "quality_score": c["qualityScore"],
            "created_at": c["createdAt"],
            "updated_at": c["updatedAt"],
            "persona": c["persona"],
            "emotion": c["emotion"],
            "topic": c["topic"],
        },
    }


def json_module(records, dest):
    with open(dest, "w", encoding="utf-8") as f:
        for c in records:
            f.write(json.dumps(openai_line(c), ensure_ascii=False, separators=(",", ":")) + "\n")


def json_module_from_path(path, dest):
    with open(path, encoding="utf-8") as src:
        json_module((json.loads(line) for line in src), dest)


def csv_module(records, dest, header):
    fields = {
        "conversation_id": lambda c, n, t: c["conversation_id"],
        "title": lambda c, n, t: c["title"],
        "tier": lambda c, n, t: c["tier"],
        "status": lambda c, n, t: c["status"],
        "quality_score": lambda c, n, t: c["qualityScore"],
        "turn_number": lambda c, n, t: n,
        "role": lambda c, n, t: t["role"],
        "content": lambda c, n, t: t["content"],
        "persona": lambda c, n, t: c["persona"],
        "emotion": lambda c, n, t: c["emotion"],
        "topic": lambda c, n, t: c["topic"],
        "created_at": lambda c, n, t: c["createdAt"],
        "updated_at": lambda c, n, t: c["updatedAt"],
    }
    getters = [fields.get(name, lambda c, n, t: "") for name in header]
    with open(dest, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for c in records:
            for n, t in enumerate(c["turns"], 1):
                writer.writerow([g(c, n, t) for g in getters])


def best(repeat, run, dest):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    size = pathlib.Path(dest).stat().st_size
    return min(times), size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    records = [conversation(i, turns=4, filler=200) for i in range(args.count)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        source = tmp / "input.jsonl"
        with open(source, "w", encoding="utf-8") as f:
            for c in records:
                f.write(json.dumps(c, ensure_ascii=False) + "\n")
        header = next(csv.reader(io.StringIO(lora_export.to_string(records[:1], format="csv", config=CONFIG).lstrip("\ufeff"))))
        out = tmp / "out"
        runs = [
            ("jsonl", "lora_export, list of dicts", lambda: lora_export.export(records, out)),
            ("jsonl", "lora_export, JSONL path", lambda: lora_export.export(source, out)),
            ("jsonl", "json module, list of dicts", lambda: json_module(records, out)),
            ("jsonl", "json module, JSONL path", lambda: json_module_from_path(source, out)),
            ("csv", "lora_export, list of dicts", lambda: lora_export.export(records, out, format="csv", config=CONFIG)),
            ("csv", "lora_export, JSONL path", lambda: lora_export.export(source, out, format="csv", config=CONFIG)),
            ("csv", "csv module, list of dicts", lambda: csv_module(records, out, header)),
        ]
        print(f"{args.count} conversations of 4 turns, input {source.stat().st_size / 2**20:.1f} MiB, best of {args.repeat}")
        print(f"| format | writer | seconds | output MiB | MiB/s |\n|---|---|---:|---:|---:|")
        for fmt, name, run in runs:
            seconds, size = best(args.repeat, run, out)
            print(f"| {fmt} | {name} | {seconds:.2f} | {size / 2**20:.1f} | {size / 2**20 / seconds:.0f} |")


if __name__ == "__main__":
    main()
