"""Our Python binding beside the orjson script a notebook user would write,
in one process, on the same conversations (run by `run.py --bindings`).

    python bench_python.py DATASET.jsonl COUNT RUNS OUT_DIR

Loads the first COUNT conversations of DATASET as dicts (orjson), then in
rounds — one warm-up, then RUNS — alternates, each timed with
perf_counter around the call alone:

- ``export(list of dicts)`` → JSONL, and the orjson script from the same dicts;
- ``export(JSONL path)`` (the COUNT lines, written beforehand), and the
  orjson script reading that file;
- ``export(pyarrow.Table)`` and ``export(datasets.Dataset)`` of the same rows;
- ``export(pandas DataFrame)`` of the rows as ``pd.read_parquet`` gives them
  (cells of NumPy arrays of dicts), and the orjson loop a notebook user
  writes over that frame's columns; for these two, the growth of the
  process's resident set during the call (sampled every 2 ms) as well.

Every output must be byte-identical to the orjson script's (our JSONL is
canonical JSON with the keys in the order the script writes them). Each
round also times ``hashlib.sha256`` (OpenSSL) over those output bytes in
memory: the least time any export that reports its file's SHA-256, as ours
does for the audit log, spends on one core. Prints one JSON object: each
variant's seconds per round, its CPU seconds (user + system, all threads), the SHA-256 floor's, and whether a thread's
counter advanced while ours ran (the GIL is released while Rust works).
"""

import hashlib
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

import orjson

import lora_export
from alt_orjson import write_jsonl


def orjson_script(conversations, dst):
    """The ten lines a user writes instead (alt_orjson.py's, from the dicts)."""
    with open(dst, "wb") as out:
        write_jsonl(conversations, out)


def orjson_file(path, dst):
    """alt_orjson.py's script: the JSONL file read line by line."""
    with open(path, "rb") as src, open(dst, "wb") as out:
        write_jsonl((orjson.loads(line) for line in src), out)


def ours(source, dst):
    lora_export.export(source, dst, format="jsonl", sync=False)


def orjson_frame(df, dst):
    """The orjson loop over a DataFrame's columns (cells as pd.read_parquet
    gives them: NumPy arrays of dicts)."""
    columns = zip(df["status"], df["turns"], df["conversation_id"], df["title"], df["tier"],
                  df["qualityScore"], df["createdAt"], df["updatedAt"], df["persona"],
                  df["emotion"], df["topic"])
    with open(dst, "wb") as out:
        for status, turns, cid, title, tier, score, created, updated, persona, emotion, topic in columns:
            if status != "approved":
                continue
            record = {
                "messages": [{"role": t["role"], "content": t["content"]} for t in turns],
                "metadata": {
                    "conversation_id": cid, "title": title, "tier": tier, "quality_score": score,
                    "created_at": created, "updated_at": updated,
                    "persona": persona, "emotion": emotion, "topic": topic,
                },
            }
            out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


PAGE = os.sysconf("SC_PAGE_SIZE")


class RssSampler:
    """The highest resident set seen every 2 ms while the main thread works."""

    def __init__(self):
        self.start = rss_mb()
        self.peak = self.start
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.002)

    def stop(self):
        self.running = False
        self.thread.join()
        return max(self.peak, rss_mb()) - self.start


def timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def cpu_seconds():
    """User + system CPU of this process, every thread's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Ticker:
    """A thread that counts while the main thread is inside our call."""

    def __init__(self):
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            self.count += 1
            time.sleep(0.001)

    def stop(self):
        self.running = False
        self.thread.join()


def main():
    dataset, count, runs, out_dir = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    with open(dataset, "rb") as src:
        for line in src:
            lines.append(line)
            if len(lines) == count:
                break
    conversations = [orjson.loads(line) for line in lines]
    jsonl_path = out_dir / "input.jsonl"
    jsonl_path.write_bytes(b"".join(lines))
    del lines
    variants = {
        "orjson script (dicts)": (orjson_script, conversations),
        "export(list of dicts)": (ours, conversations),
        "orjson script (JSONL path)": (orjson_file, str(jsonl_path)),
        "export(JSONL path)": (ours, str(jsonl_path)),
    }
    try:
        import pyarrow as pa

        # pa.array infers the struct type from every row (Table.from_pylist
        # only from the first one, dropping keys it lacks).
        table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(conversations))])
        variants["export(pyarrow.Table)"] = (ours, table)
        try:
            import pandas as pd
            import pyarrow.parquet as pq

            parquet = out_dir / "input.parquet"
            pq.write_table(table, parquet)
            frame = pd.read_parquet(parquet)
            variants["orjson loop (pandas DataFrame)"] = (orjson_frame, frame)
            variants["export(pandas DataFrame)"] = (ours, frame)
        except ImportError:
            pass
        try:
            import datasets

            variants["export(datasets.Dataset)"] = (
                ours, datasets.Dataset(table))
        except ImportError:
            pass
    except ImportError:
        pass

    reference = out_dir / "orjson.jsonl"
    orjson_script(conversations, reference)
    expected = reference.read_bytes()
    identical = {}
    seconds = {name: [] for name in variants}
    cpu = {name: [] for name in variants}
    sha256_floor = []
    ticks = []
    rss_growth = {}
    for round_ in range(runs + 1):
        for i, (name, (fn, source)) in enumerate(variants.items()):
            dst = out_dir / f"variant-{i}.jsonl"
            dst.unlink(missing_ok=True)
            ticker = Ticker() if fn is ours else None
            sampler = RssSampler() if "DataFrame" in name else None
            cpu_before = cpu_seconds()
            took = timed(fn, source, dst)
            used = cpu_seconds() - cpu_before
            if sampler:
                growth = sampler.stop()
                if round_ > 0:
                    rss_growth.setdefault(name, []).append(growth)
            if ticker:
                ticker.stop()
                if name == "export(list of dicts)":
                    ticks.append(ticker.count / took)
            if round_ == 0:
                identical[name] = dst.read_bytes() == expected
            else:
                seconds[name].append(took)
                cpu[name].append(used)
            dst.unlink()
        took = timed(lambda: hashlib.sha256(expected).digest())
        if round_ > 0:
            sha256_floor.append(took)
    print(json.dumps({
        "count": len(conversations),
        "output_bytes": len(expected),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "sha256_seconds": sha256_floor,
        "identical": identical,
        "thread_ticks_per_second": ticks,
        "rss_growth_mb": rss_growth,
        "versions": {"orjson": orjson.__version__, "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
