"""The comparison with the tools users would pick instead, in one command.

    python3 benches/compare/run.py [--count 50000] [--runs 5] [--formats jsonl,csv,json,markdown]
    python3 benches/compare/run.py --million

Builds our exporter and the dataset generator, generates the dataset into
<target>/compare/ if it is missing, installs the alternatives (a venv from
requirements.txt, npm ci for Node), then runs every (tool, format) one at a
time: one warm-up and --runs measured runs under /usr/bin/time -v, the
output deleted before each. It checks every alternative's output against
ours with equivalence.py and rewrites the results in benches/README.md
between <!-- compare:begin --> and <!-- compare:end -->.

--million measures only our exporter, once per format, at 1,000,000
conversations (an ~8 GB dataset, generated for it and deleted afterwards),
and rewrites its own block of the same README section.

--bindings measures the Python and Node bindings in process beside what a
user would write instead, on the first --bindings-count conversations of
the dataset: Python `export()` of a list of dicts, of a JSONL path, of a
pyarrow Table and of a datasets.Dataset beside a ten-line orjson script
from the same dicts, and of a pandas DataFrame (as pd.read_parquet gives
it) beside the orjson loop over its columns, with the resident set's growth
of both (bench_python.py); Node `transform()` of objects and
of a Buffer beside the seeds' design (bench_node.mjs). Each script
alternates the variants in rounds (one warm-up, then --runs), checks that
every output is byte-identical to the alternative's, and the medians, with
their ranges, go into their own block of the README section.

--dataset measures what a training set costs over one JSONL file: our
exporter (built with the `tokenizers` feature) writing the same dataset as
splits and shards, gzip- or zstd-compressed, with dedupe, and with real
token counts, each variant beside the plain file. The variants run in
rounds, A and B alternating (one warm-up round, then --runs), and the
medians go into their own block of the README section.

--tokens measures token counts in process (bench_tokens.py): Python
`export_dataset()` of the first --bindings-count conversations with the
shipped tokenizer.json beside Hugging Face `tokenizers`' `encode_batch` of
every content in one batch, and with o200k_base beside tiktoken's
`encode_ordinary_batch` with 2 threads (counting only: the texts are in
memory before the clock starts). The totals must be equal; the medians go
into their own block of the README section.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
README = ROOT / "benches" / "README.md"
SECTION_TITLE = "## Comparison with the tools users would pick instead"
TIME = "/usr/bin/time"
SEED = 7
MILLION = 1_000_000
FORMATS = ["jsonl", "csv", "json", "markdown", "parquet"]
SHAPES = ["long", "short"]
SHAPE_TEXT = {
    "long": "long turns (90–1,500 characters, `bench_dataset --shape long`)",
    "short": "short turns (40–160 characters, `bench_dataset --shape short`), where the cost "
             "per record dominates",
}
# `RangeError: …`, `polars.exceptions.ComputeError: …`, `FATAL ERROR: …`, `error: …`
ERROR_LINE = re.compile(r"[\w.]*(Error|Exception)\b|FATAL ERROR|error:")
FORMAT_NAMES = {"jsonl": "JSONL", "csv": "CSV", "json": "JSON", "markdown": "Markdown",
                "parquet": "Parquet"}


@dataclass
class Tool:
    key: str
    label: str
    formats: tuple
    command: Callable[[str, Path, Path], list]
    # How equivalence.py compares its output of a format with ours, when
    # not by the format's own name.
    check_as: dict = field(default_factory=dict)


@dataclass
class Measured:
    wall: float
    rss_kib: int
    # User + system CPU seconds of the process and its threads.
    cpu: float = 0.0


@dataclass
class Cell:
    """One (tool, format): its medians, or why it failed, and for an
    alternative what the equivalence check said."""

    measured: Optional[Measured] = None
    low: Optional[float] = None
    high: Optional[float] = None
    failure: Optional[str] = None
    equivalence: Optional[str] = None
    equivalent: Optional[bool] = None


class ToolFailed(Exception):
    pass


def main():
    args = parse_args()
    if not Path(TIME).exists():
        sys.exit(f"run.py needs GNU time at {TIME} (Debian, Ubuntu: apt-get install time)")
    binaries, compare_dir = build(tokenizers=args.dataset)
    if args.bindings:
        run_bindings(args, binaries, compare_dir)
    elif args.tokens:
        run_tokens(args, binaries, compare_dir)
    elif args.million:
        run_million(binaries, compare_dir)
    elif args.dataset:
        run_dataset(args, binaries, compare_dir)
    else:
        run_comparison(args, binaries, compare_dir)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="conversations in the dataset")
    parser.add_argument("--runs", type=int, default=5, help="measured runs after the warm-up")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated")
    parser.add_argument("--shape", choices=SHAPES, default="long",
                        help="the dataset's turns: long (90-1,500 characters) or short "
                             "(40-160, where the cost per record dominates)")
    parser.add_argument(
        "--dataset",
        action="store_true",
        help="training-set options (splits, shards, compression, tokens) vs one JSONL file",
    )
    parser.add_argument(
        "--bindings",
        action="store_true",
        help="the Python and Node bindings in process vs orjson and the seeds' Node design",
    )
    parser.add_argument(
        "--tokens",
        action="store_true",
        help="token counts of export_dataset vs tokenizers' encode_batch and tiktoken's",
    )
    parser.add_argument("--bindings-count", type=int, default=20_000,
                        help="conversations the --bindings and --tokens comparisons export")
    parser.add_argument(
        "--million",
        action="store_true",
        help="only our exporter's wall time and peak RSS at 1,000,000 conversations",
    )
    args = parser.parse_args()
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(args.formats) - set(FORMATS))
    if unknown or not args.formats:
        parser.error(f"--formats takes some of {','.join(FORMATS)}")
    if args.count < 1 or args.runs < 1:
        parser.error("--count and --runs must be at least 1")
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


# Setup ---------------------------------------------------------------------


def build(tokenizers=False):
    """Builds the lora-export command and bench_dataset; returns the folder
    of the examples (the command is in its parent) and the comparison's
    working folder, both under the target directory cargo uses."""
    log("building lora-export and bench_dataset (release)")
    cargo = ["cargo", "build", "--release", "-p", "lora-export-cli", "-p", "lora-export",
             "--bin", "lora-export", "--example", "bench_dataset"]
    if tokenizers:
        cargo += ["--features", "lora-export-cli/tokenizers,lora-export/tokenizers"]
    subprocess.run(cargo, cwd=ROOT, check=True, stdout=sys.stderr)
    metadata = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    target = Path(json.loads(metadata.stdout)["target_directory"])
    compare_dir = target / "compare"
    compare_dir.mkdir(parents=True, exist_ok=True)
    return target / "release" / "examples", compare_dir


def dataset(binaries, compare_dir, count, shape="long"):
    name = f"dataset-{count}" if shape == "long" else f"dataset-{shape}-{count}"
    path = compare_dir / f"{name}-seed{SEED}.jsonl"
    if not path.exists():
        log(f"generating {count:,} conversations ({shape} turns) into {path}")
        partial = path.with_suffix(".partial")
        subprocess.run(
            [binaries / "bench_dataset", "--count", str(count), "--seed", str(SEED),
             "--shape", shape, "--output", partial],
            check=True, stdout=sys.stderr,
        )
        partial.rename(path)
    return path


def python_venv(compare_dir):
    venv = compare_dir / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log("installing benches/compare/requirements.txt")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", HERE / "requirements.txt"],
        check=True, stdout=sys.stderr,
    )
    return python


def node_modules():
    log("installing benches/compare/package.json (npm ci)")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True,
                   stdout=sys.stderr)


def our_exporter(binaries, *flags):
    def command(fmt, src, dst):
        return [binaries.parent / "lora-export", "--input", src, "--format", fmt, "--output", dst, *flags]

    return Tool("ours", "lora-export (ours)", tuple(FORMATS), command)


def our_exporter_unsynced(binaries):
    """Ours without the fsync before the rename, as the alternatives write."""
    tool = our_exporter(binaries, "--no-sync")
    return Tool("ours-nosync", "lora-export (ours, --no-sync: no fsync, like the others)",
                ("jsonl", "csv", "parquet"), tool.command)


def tools(binaries, python):
    """Ours first (the reference), then the alternatives."""

    def script(name):
        interpreter = "node" if name.endswith(".mjs") else python
        return lambda fmt, src, dst: [interpreter, HERE / name, fmt, src, dst]

    return [
        our_exporter(binaries),
        our_exporter_unsynced(binaries),
        Tool("node", "the seeds' design in Node (JSON.stringify per conversation + join; "
             "csv-stringify)", ("jsonl", "csv"), script("alt_node.mjs")),
        Tool("stdlib", "Python json / csv, streaming", ("jsonl", "csv"), script("alt_stdlib.py")),
        Tool("orjson", "orjson, streaming", ("jsonl",), script("alt_orjson.py")),
        Tool("polars", "polars (in memory, every core)", ("jsonl", "csv", "parquet"),
             script("alt_polars.py")),
        Tool("polars-plain", "polars, plain (explicit schema, explode, unnest, write_csv; "
             "no formula guard)", ("csv",),
             lambda fmt, src, dst: [python, HERE / "alt_polars.py", "csv-plain", src, dst],
             check_as={"csv": "csv-plain"}),
        Tool("pandas", "pandas (in memory)", ("csv",), script("alt_pandas.py")),
    ]


# Measuring -----------------------------------------------------------------


def measure_once(command, output):
    """One run under /usr/bin/time -v; raises ToolFailed when it fails."""
    if output is not None:
        output.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        proc = subprocess.run(
            [TIME, "-v", "-o", report.name, *map(str, command)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        text = report.read()
    if proc.returncode != 0:
        raise ToolFailed(failure_reason(proc.stderr.decode("utf-8", "replace"), text))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): (\S+)", text).group(1))
              for kind in ("User", "System"))
    return Measured(wall=seconds(wall), rss_kib=int(rss), cpu=cpu)


def seconds(clock):
    """`1:02:03.45` or `2:03.45` as seconds."""
    total = 0.0
    for part in clock.split(":"):
        total = total * 60 + float(part)
    return total


def failure_reason(stderr, time_report):
    """The line that says why: the first that names an error, else the last
    one the tool printed, else how it ended."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    ended = re.search(r"Command (terminated by signal \d+|exited with non-zero status \d+)",
                      time_report)
    if errors:
        reason = errors[0]
    elif lines:
        reason = lines[-1]
    else:
        reason = ended.group(1) if ended else "no reason given"
    return reason if len(reason) <= 120 else reason[:117] + "…"


def measure(label, command, output, runs):
    """One warm-up, then `runs` measured runs; the medians, or the failure."""
    try:
        measure_once(command, output)
        samples = [measure_once(command, output) for _ in range(runs)]
    except ToolFailed as e:
        log(f"  {label}: failed: {e}")
        return Cell(failure=str(e))
    return summarised(label, samples)


def summarised(label, samples):
    """The cell of `samples`: medians, and the range of the wall times."""
    result = Measured(
        wall=statistics.median(s.wall for s in samples),
        rss_kib=int(statistics.median(s.rss_kib for s in samples)),
        cpu=statistics.median(s.cpu for s in samples),
    )
    walls = " ".join(f"{s.wall:.2f}" for s in samples)
    log(f"  {label}: {result.wall:.2f} s, {mib(result.rss_kib)} (runs: {walls})")
    return Cell(measured=result, low=min(s.wall for s in samples),
                high=max(s.wall for s in samples))


def check_equivalence(python, cell, fmt, ours, theirs):
    """Runs equivalence.py (in the venv: Parquet is read by polars); an
    alternative whose output differs keeps its row, marked. A passing
    output is deleted to save disk space."""
    proc = subprocess.run(
        [python, HERE / "equivalence.py", fmt, ours, theirs],
        capture_output=True, text=True,
    )
    cell.equivalent = proc.returncode == 0
    cell.equivalence = (proc.stdout or proc.stderr).strip().splitlines()[-1]
    log(f"    equivalence: {cell.equivalence}")
    if cell.equivalent:
        theirs.unlink()


def output_path(out_dir, tool, fmt):
    extension = "md" if fmt == "markdown" else fmt
    return out_dir / f"{tool}.{extension}"


def run_comparison(args, binaries, compare_dir):
    data = dataset(binaries, compare_dir, args.count, args.shape)
    python = python_venv(compare_dir)
    node_modules()
    out_dir = compare_dir / "out"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    all_tools = tools(binaries, python)
    ours = all_tools[0]
    pairs = [(tool, fmt) for fmt in args.formats for tool in all_tools if fmt in tool.formats]
    table = {(tool.key, fmt): Cell() for tool, fmt in pairs}
    log("warm-up round: every tool and format once, each alternative's output checked "
        "against ours")
    for tool, fmt in pairs:
        cell = table[(tool.key, fmt)]
        dst = output_path(out_dir, tool.key, fmt)
        try:
            measure_once(tool.command(fmt, data, dst), dst)
        except ToolFailed as e:
            log(f"  {tool.key} {fmt}: failed: {e}")
            cell.failure = str(e)
            continue
        if tool is not ours:
            if table[(ours.key, fmt)].failure is None:
                check_equivalence(python, cell, tool.check_as.get(fmt, fmt),
                                  output_path(out_dir, ours.key, fmt), dst)
            else:
                cell.equivalence = "our export failed"
    for path in out_dir.iterdir():
        path.unlink()
    log(f"{args.runs} measured rounds: each round runs every tool once per format, in turn")
    samples = {key: [] for key in table}
    for round_no in range(1, args.runs + 1):
        for tool, fmt in pairs:
            key = (tool.key, fmt)
            if table[key].failure:
                continue
            dst = output_path(out_dir, tool.key, fmt)
            try:
                samples[key].append(measure_once(tool.command(fmt, data, dst), dst))
            except ToolFailed as e:
                log(f"  {tool.key} {fmt}: failed in round {round_no}: {e}")
                table[key].failure = str(e)
            dst.unlink(missing_ok=True)
        log(f"  round {round_no} done, load {os.getloadavg()[0]:.2f}")
    for (key, fmt), cell in table.items():
        if not cell.failure:
            measured = summarised(f"{key} {fmt}", samples[(key, fmt)])
            cell.measured, cell.low, cell.high = measured.measured, measured.low, measured.high
    floor = measure("cat (I/O floor)", ["cat", data], None, args.runs)
    load_after = os.getloadavg()[0]
    command = (f"python3 benches/compare/run.py --shape {args.shape} --count {args.count} "
               f"--runs {args.runs} --formats {','.join(args.formats)}")
    report = render_comparison(
        command=command, started=started, load=load, load_after=load_after, python=python,
        data=data, count=args.count, shape=args.shape, runs=args.runs, formats=args.formats,
        tools=all_tools, table=table, floor=floor,
    )
    write_block("compare" if args.shape == "long" else f"compare-{args.shape}", report)
    print(report)


def run_million(binaries, compare_dir):
    data = dataset(binaries, compare_dir, MILLION)
    out_dir = compare_dir / "out"
    out_dir.mkdir(exist_ok=True)
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    ours = our_exporter(binaries)
    rows = {}
    try:
        size = data.stat().st_size
        log(f"measuring our exporter at {MILLION:,} conversations, one run per format")
        for fmt in FORMATS:
            dst = output_path(out_dir, "million", fmt)
            try:
                rows[fmt] = measure_once(ours.command(fmt, data, dst), dst)
                log(f"  {fmt}: {rows[fmt].wall:.2f} s, {mib(rows[fmt].rss_kib)}")
            except ToolFailed as e:
                rows[fmt] = f"failed: {e}"
                log(f"  {fmt}: failed: {e}")
            finally:
                dst.unlink(missing_ok=True)
    finally:
        data.unlink()
    report = render_million(started=started, load=load, size=size, rows=rows)
    write_block("compare-million", report)
    print(report)


# The bindings ------------------------------------------------------------------


def bindings_python(compare_dir):
    """A venv with the binding's test requirements (pyarrow, datasets), orjson
    and the wheel maturin builds from this checkout."""
    venv = compare_dir / "venv-bindings"
    python = venv / "bin" / "python"
    if not python.exists():
        log(f"creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    log("installing bindings-python/tests/requirements.txt and orjson")
    orjson = next(line for line in (HERE / "requirements.txt").read_text().splitlines()
                  if line.startswith("orjson=="))
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", ROOT / "bindings-python" / "tests" / "requirements.txt", orjson],
        check=True, stdout=sys.stderr,
    )
    wheels = compare_dir / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)
    log("building the Python binding (maturin, release)")
    # The host's triple, as scripts/test-python.sh builds it: the release
    # build napi makes of the Node module is reused.
    host = subprocess.run(["rustc", "--print", "host-tuple"], check=True, capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(
        [venv / "bin" / "maturin", "build", "--release", "--strip", "--manifest-path",
         ROOT / "bindings-python" / "Cargo.toml", "--out", wheels],
        check=True, stdout=sys.stderr, env={**os.environ, "CARGO_BUILD_TARGET": host},
    )
    wheel = next(wheels.glob("lora_export-*.whl"))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                    wheel], check=True, stdout=sys.stderr)
    return python


def bindings_node():
    """The Node module, built (release) from this checkout; its path."""
    node_dir = ROOT / "bindings-node"
    log("building the Node binding (napi build --release)")
    # `npm install`, as scripts/test-node.sh: the lockfile leaves out the
    # optional per-platform packages, which `npm ci` refuses.
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                   cwd=node_dir, check=True, stdout=sys.stderr)
    subprocess.run(["npx", "napi", "build", "--platform", "--release"], cwd=node_dir,
                   check=True, stdout=sys.stderr)
    return node_dir / "index.js"


def run_bindings(args, binaries, compare_dir):
    data = dataset(binaries, compare_dir, args.count, args.shape)
    python = bindings_python(compare_dir)
    node_modules()
    module = bindings_node()
    out = compare_dir / "bindings-out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    count, runs = str(args.bindings_count), str(args.runs)
    log(f"Python: {args.bindings_count:,} conversations, one warm-up round and {runs} rounds")
    py = json.loads(subprocess.run([python, HERE / "bench_python.py", data, count, runs, out],
                                   check=True, capture_output=True, text=True).stdout)
    log(f"Node: {args.bindings_count:,} conversations, one warm-up round and {runs} rounds")
    node = json.loads(subprocess.run(["node", "--expose-gc", HERE / "bench_node.mjs", data, count,
                                      runs, out, module],
                                     check=True, capture_output=True, text=True).stdout)
    shutil.rmtree(out, ignore_errors=True)
    load_after = os.getloadavg()[0]
    command = (f"python3 benches/compare/run.py --bindings --shape {args.shape} "
               f"--bindings-count {count} --runs {runs}")
    report = render_bindings(command=command, started=started, load=load, load_after=load_after,
                             py=py, node=node, runs=args.runs, shape=args.shape)
    write_block("compare-bindings" if args.shape == "long" else f"compare-bindings-{args.shape}",
                report)
    print(report)


def run_tokens(args, binaries, compare_dir):
    data = dataset(binaries, compare_dir, args.count, args.shape)
    python = bindings_python(compare_dir)
    tiktoken = next(line for line in (HERE / "requirements.txt").read_text().splitlines()
                    if line.startswith("tiktoken=="))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    tiktoken], check=True, stdout=sys.stderr)
    out = compare_dir / "tokens-out"
    shutil.rmtree(out, ignore_errors=True)
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    count, runs = str(args.bindings_count), str(args.runs)
    log(f"token counts: {args.bindings_count:,} conversations, one warm-up round and {runs} rounds")
    result = json.loads(subprocess.run(
        [python, HERE / "bench_tokens.py", data, count, runs, out,
         ROOT / "tests" / "tokenizer" / "tokenizer.json"],
        check=True, capture_output=True, text=True).stdout)
    shutil.rmtree(out, ignore_errors=True)
    load_after = os.getloadavg()[0]
    command = (f"python3 benches/compare/run.py --tokens --shape {args.shape} "
               f"--bindings-count {count} --runs {runs}")
    report = render_tokens(command=command, started=started, load=load, load_after=load_after,
                           result=result, runs=args.runs, shape=args.shape)
    write_block("compare-tokens" if args.shape == "long" else f"compare-tokens-{args.shape}",
                report)
    print(report)


def render_tokens(*, command, started, load, load_after, result, runs, shape):
    versions = result["versions"]
    lines = provenance(command, started, load) + [
        f"- Load average (1 min) when it ended: {load_after:.2f}.",
        f"- Dataset shape: {SHAPE_TEXT[shape]}.",
        f"- Python {versions['python']}, tokenizers {versions['tokenizers']}, tiktoken "
        f"{versions['tiktoken']}: {result['conversations']:,} conversations "
        f"({result['input_bytes']:,} bytes of JSONL, {result['messages']:,} messages, "
        f"{result['content_bytes']:,} bytes of content). Ours is the whole `export_dataset()` "
        "from the JSONL path (read, count on every core, write the dataset, full contents, no "
        "system prompt); the alternatives count only, the texts in memory before the clock "
        f"starts. Rounds A/B alternating, one warm-up, then {runs}; medians with the range.",
        "",
        "| work | ours (min–max) | the alternative (min–max) | ratio | same total |",
        "|---|---|---|---|---|",
    ]

    def figure(samples):
        return (f"{statistics.median(samples):.3f} s "
                f"({min(samples):.3f}–{max(samples):.3f})")

    seconds, totals = result["seconds"], result["totals"]
    for ours, alternative, label in [
        ("export_dataset(tokenizer.json)", "tokenizers encode_batch",
         "the shipped tokenizer.json"),
        ("export_dataset(o200k_base)", "tiktoken encode_ordinary_batch", "o200k_base"),
    ]:
        ratio = statistics.median(seconds[ours]) / statistics.median(seconds[alternative])
        same = "yes" if totals[ours] == totals[alternative] else "**NO**"
        lines.append(f"| {label}: `{ours}` | {figure(seconds[ours])} | {alternative}: "
                     f"{figure(seconds[alternative])} | {ratio:.2f}× | {same} "
                     f"({totals[ours]:,} tokens) |")
    return "\n".join(lines)


def render_bindings(*, command, started, load, load_after, py, node, runs, shape):
    lines = provenance(command, started, load) + [
        f"- Load average (1 min) when it ended: {load_after:.2f}.",
        f"- Dataset shape: {SHAPE_TEXT[shape]}.",
        f"- Python {py['versions']['python']} (orjson {py['versions']['orjson']}), "
        f"Node {node['node']}: {py['count']:,} conversations in, {py['output_bytes']:,} bytes "
        "of OpenAI-chat JSONL out, in process, the input loaded before the clock starts, "
        "each variant timed around the call and its file write (in Node after `gc()`, so that "
        "no variant is charged with collecting what the one before it left); rounds A/B "
        f"alternating, one "
        f"warm-up, then {runs}; medians with the range. Our Python export writes with "
        "`sync=False` (no fsync, as the alternatives).",
        "",
        "| work | ours (min–max) | the alternative (min–max) | ratio | same output |",
        "|---|---|---|---|---|",
    ]

    def figure(samples):
        return (f"{statistics.median(samples):.3f} s "
                f"({min(samples):.3f}–{max(samples):.3f})")

    def rows(result, alternatives, label, same_what):
        for name, samples in result["seconds"].items():
            if name in alternatives.values():
                continue
            alternative = next((alt for key, alt in alternatives.items() if key in name),
                               alternatives[""])
            base = result["seconds"][alternative]
            ratio = statistics.median(samples) / statistics.median(base)
            same = ("yes" if result["identical"][name] else "**NO**") + f" ({same_what})"
            lines.append(f"| {label} `{name}` | {figure(samples)} | {alternative}: "
                         f"{figure(base)} | {ratio:.2f}× | {same} |")

    rows(py, {"DataFrame": "orjson loop (pandas DataFrame)",
              "JSONL path": "orjson script (JSONL path)", "": "orjson script (dicts)"},
         "Python", "bytes")
    rows(node, {"": "seeds' design (objects)"}, "Node", "records; JSON.stringify writes 7.0 as 7")
    cores = os.cpu_count()
    lines.append("")
    for name, samples in py.get("cpu_seconds", {}).items():
        if not name.startswith("export("):
            continue
        alternative = next(alt for key, alt in {
            "DataFrame": "orjson loop (pandas DataFrame)",
            "JSONL path": "orjson script (JSONL path)", "": "orjson script (dicts)"}.items()
            if key in name)
        used = statistics.median(samples)
        base = statistics.median(py["seconds"][alternative])
        lines.append(f"- CPU of Python `{name}` (user + system, every thread, median): "
                     f"{used:.3f} s; on {cores} cores no call takes less than "
                     f"{used / cores:.3f} s, {used / cores / base:.2f}× {alternative}.")
    seeds = statistics.median(node["seconds"]["seeds' design (objects)"])
    for name, samples in node["cpu_seconds"].items():
        if not name.startswith("transform("):
            continue
        used = statistics.median(samples)
        lines.append(f"- CPU of Node `{name}` (user + system, every thread, median): "
                     f"{used:.3f} s; on {cores} cores no call takes less than "
                     f"{used / cores:.3f} s, {used / cores / seeds:.2f}× the seeds' design.")
    stringified = statistics.median(node["stringify_seconds"])
    lines.append(f"- V8's `JSON.stringify` of every element alone, which `transform(objects)` runs "
                 f"on the JavaScript thread before anything else: {figure(node['stringify_seconds'])}, "
                 f"{stringified / seeds:.2f}× the seeds' design.")
    floor = statistics.median(py["sha256_seconds"])
    orjson = statistics.median(py["seconds"]["orjson script (dicts)"])
    ticks = py["thread_ticks_per_second"]
    lags = node["lag_max_ms_buffer"]
    lag_max = statistics.median(lags)
    growth = {name: statistics.median(mb) for name, mb in py.get("rss_growth_mb", {}).items()}
    lines += [""] + [
        f"- Resident set growth during `{name}` (highest of 2 ms samples minus the start, "
        f"median of the rounds): {mb:.0f} MB." for name, mb in growth.items()
    ]
    lines += [
        f"- SHA-256 of the {py['output_bytes']:,} output bytes alone, in memory (Python's "
        f"`hashlib`, OpenSSL): {figure(py['sha256_seconds'])}, {floor / orjson:.2f}× the orjson "
        "script. Every export of ours reports its file's SHA-256 (the audit log's), a pass that "
        "cannot be split across cores: no ratio to the orjson script can be below this one.",
        f"- A Python thread sleeping 1 ms in a loop ran {statistics.median(ticks):.0f} times a "
        "second (median of the rounds) while `export(list of dicts)` ran: the GIL is released "
        "while Rust formats and writes.",
        f"- Node event-loop lag (worst delay of a 1 ms timer) while `transform(Buffer)` exported "
        f"{node['lag_conversations']:,} conversations: median {lag_max:.1f} ms "
        f"({min(lags):.1f}–{max(lags):.1f}) over {len(lags)} exports, 99th percentile "
        f"{node['lag_p99_ms_buffer']:.1f} ms; the same timer idle: {node['lag_idle_max_ms']:.1f} ms. "
        "Each export starts after `gc()`: V8 first collects what the script allocated. The "
        "first export, started without it, as a route that just built the Buffer meets it: "
        f"{node['lag_max_ms_buffer_owed_gc']:.1f} ms.",
    ]
    return "\n".join(lines)


# Training sets ---------------------------------------------------------------

SPLIT = ["--split", "train=0.9,validation=0.1", "--seed", "42", "--shard-records", "10000"]
DATASET_VARIANTS = [
    ("one JSONL file (reference)", []),
    ("2 splits, shards of 10,000", SPLIT),
    ("… + gzip", SPLIT + ["--compress", "gzip"]),
    ("… + zstd", SPLIT + ["--compress", "zstd"]),
    ("… + dedupe", SPLIT + ["--dedupe"]),
    ("… + o200k_base token counts", SPLIT + ["--tokenizer", "o200k_base"]),
    ("… + zstd + dedupe + o200k_base", SPLIT + ["--compress", "zstd", "--dedupe",
                                                 "--tokenizer", "o200k_base"]),
]


def run_dataset(args, binaries, compare_dir):
    data = dataset(binaries, compare_dir, args.count)
    out = compare_dir / "dataset-out"
    started = datetime.now(timezone.utc)
    load = os.getloadavg()[0]
    samples = {label: [] for label, _ in DATASET_VARIANTS}
    written = {}
    log(f"measuring {len(DATASET_VARIANTS)} variants in rounds: one warm-up, {args.runs} runs")
    for round_ in range(args.runs + 1):
        for label, flags in DATASET_VARIANTS:
            shutil.rmtree(out, ignore_errors=True)
            target = out / "train.jsonl" if not flags else out
            out.mkdir(parents=True)
            command = [binaries.parent / "lora-export", "--input", data, "--format", "jsonl",
                       "--output", target, *flags]
            measured = measure_once(command, None)
            written[label] = sum(f.stat().st_size for f in out.iterdir())
            if round_ > 0:
                samples[label].append(measured)
            log(f"  round {round_} {label}: {measured.wall:.2f} s, {mib(measured.rss_kib)}")
    shutil.rmtree(out, ignore_errors=True)
    load_after = os.getloadavg()[0]
    command = f"python3 benches/compare/run.py --dataset --count {args.count} --runs {args.runs}"
    report = render_dataset(command=command, started=started, load=load, load_after=load_after,
                            data=data, count=args.count, runs=args.runs, samples=samples,
                            written=written)
    write_block("compare-dataset", report)
    print(report)


def render_dataset(*, command, started, load, load_after, data, count, runs, samples, written):
    size = data.stat().st_size
    lines = provenance(command, started, load) + [
        f"- Load average (1 min) when it ended: {load_after:.2f}.",
        f"- Dataset: {count:,} conversations, {size:,} bytes of canonical JSONL "
        f"(`bench_dataset --count {count} --seed {SEED}`), exported as JSONL.",
        f"- Our exporter (`--features tokenizers`), file → directory; the variants ran in "
        f"rounds (A and B alternating), one warm-up round, then {runs}; each figure is the "
        "median, with the range; every file fsynced, as the plain export does.",
        "",
        "| export | wall (min–max) | MB/s of input | peak RSS | vs one file | bytes written |",
        "|---|---|---|---|---|---|",
    ]
    reference = statistics.median(m.wall for m in samples[DATASET_VARIANTS[0][0]])
    for label, _ in DATASET_VARIANTS:
        runs_ = samples[label]
        wall = statistics.median(m.wall for m in runs_)
        rss = int(statistics.median(m.rss_kib for m in runs_))
        spread = f"{min(m.wall for m in runs_):.2f}–{max(m.wall for m in runs_):.2f}"
        lines.append(f"| {label} | {wall:.2f} s ({spread}) | {speed(size, wall)} | {mib(rss)} "
                     f"| {wall / reference:.2f}× | {written[label]:,} |")
    return "\n".join(lines)


# The README ----------------------------------------------------------------


def mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib < 1024 * 1024 else f"{kib / 1024 / 1024:.2f} GiB"


def machine(python=None):
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text()).group(1)
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kib / 1024 / 1024:.1f} GiB of memory, "
            f"{os_name}, Linux {platform.release()}; {versions(python)}")


def versions(python):
    """rustc's version, and with the venv's python the alternatives' too."""

    def out(*command):
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()

    parts = [out("rustc", "--version")]
    if python is not None:
        libraries = out(python, "-c", "import importlib.metadata as m; print(', '.join("
                        "f'{p} {m.version(p)}' for p in ('orjson', 'polars', 'pandas')))")
        stringify = json.loads((HERE / "node_modules/csv-stringify/package.json").read_text())
        parts += [f"{out(python, '--version')} ({libraries})",
                  f"Node {out('node', '--version')} (csv-stringify {stringify['version']})"]
    return ", ".join(parts)


def provenance(command, started, load, python=None):
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    # The README this run writes its figures into does not count.
    dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":!benches/README.md"],
                           cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [
        f"Measured by `{command}` on {started:%Y-%m-%d %H:%M} UTC, at commit {commit}"
        + (" with uncommitted changes." if dirty else "."),
        "",
        f"- Machine: {machine(python)}.",
        f"- Load average (1 min) when the run started: {load:.2f}.",
    ]


def cells(values):
    return " / ".join(values)


def speed(size, wall):
    """MB/s of input; a dash when the run was too short to time."""
    return f"{size / 1e6 / wall:,.0f}" if wall else "—"


def cell_figures(cell, reference, size):
    """Wall time, peak RSS, MB/s and ratio vs ours of one (tool, format)."""
    if cell is None:
        return "—", "—", "—", "—"
    if cell.failure:
        return f"failed: {cell.failure.replace('|', '/')}", "—", "—", "—"
    m = cell.measured
    ours = reference.measured.wall if reference and reference.measured else 0
    ratio = f"{m.wall / ours:.2f}×" if ours else "—"
    spread = f" ({cell.low:.2f}–{cell.high:.2f})" if cell.low is not None else ""
    return f"{m.wall:.2f} s{spread}", mib(m.rss_kib), speed(size, m.wall), ratio


def render_comparison(*, command, started, load, load_after, python, data, count, shape, runs,
                      formats, tools, table, floor):
    size = data.stat().st_size
    names = [FORMAT_NAMES[f] for f in formats]
    lines = provenance(command, started, load, python) + [
        f"- Load average (1 min) when it ended: {load_after:.2f}.",
        f"- Dataset: {count:,} conversations, {size:,} bytes of canonical JSONL, "
        f"{SHAPE_TEXT[shape]} (`--count {count} --seed {SEED}`).",
        f"- Each figure is the median of {runs} run(s) after one warm-up round, whole process, "
        "file → file. The runs go in rounds: each round runs every tool once per format, in "
        "turn, so a change in the machine's load falls on all of them alike. Wall time and "
        "peak RSS from `/usr/bin/time -v`, the wall time's min–max beside it. MB/s is of "
        "input (10^6 bytes); the ratio is the tool's wall time divided by ours.",
        "",
        "| tool | " + " | ".join(f"{n} wall" for n in names)
        + f" | peak RSS ({cells(names)}) | MB/s of input ({cells(names)})"
        + f" | ratio vs ours ({cells(names)}) | same records as ours |",
        "|---" * (len(formats) + 5) + "|",
    ]
    notes = []
    for tool in tools:
        figures, checks = [], []
        for fmt in formats:
            cell = table.get((tool.key, fmt))
            figures.append(cell_figures(cell, table.get(("ours", fmt)), size))
            if cell and cell.equivalence is not None:
                if cell.equivalent is None:
                    mark = f"not checked ({cell.equivalence})"
                elif cell.equivalent:
                    mark = "yes"
                else:
                    notes.append(f"{tool.label}, {FORMAT_NAMES[fmt]}: {cell.equivalence}")
                    mark = f"**NO** (note {len(notes)})"
                checks.append(f"{FORMAT_NAMES[fmt]} {mark}")
        walls, rss, speeds, ratios = zip(*figures, strict=True)
        same = "(reference)" if tool.key == "ours" else ", ".join(checks) or "—"
        lines.append(f"| {tool.label} | " + " | ".join(walls)
                     + f" | {cells(rss)} | {cells(speeds)} | {cells(ratios)} | {same} |")
    lines += [""] + goal_lines(table) + [""]
    if floor.measured:
        m = floor.measured
        lines.append(f"I/O floor: `cat` of the dataset to /dev/null took {m.wall:.2f} s "
                     f"({speed(size, m.wall)} MB/s), peak RSS {mib(m.rss_kib)}.")
    else:
        lines.append(f"I/O floor: `cat` of the dataset failed: {floor.failure}.")
    for i, note in enumerate(notes, start=1):
        lines += ["", f"Note {i}: {note}"]
    return "\n".join(lines)


GOALS = [
    ("JSONL: ours (`--no-sync`) ÷ orjson", ("ours-nosync", "jsonl"), ("orjson", "jsonl"), 0.25),
    ("CSV: ours (`--no-sync`) ÷ polars, plain", ("ours-nosync", "csv"), ("polars-plain", "csv"),
     0.3),
    ("CSV: ours (`--no-sync`) ÷ polars with the guard", ("ours-nosync", "csv"), ("polars", "csv"),
     0.3),
    ("Parquet: ours (`--no-sync`) ÷ polars `write_parquet`", ("ours-nosync", "parquet"),
     ("polars", "parquet"), 0.8),
    ("JSON ÷ JSONL, ours", ("ours", "json"), ("ours", "jsonl"), 1.2),
    ("Markdown ÷ JSONL, ours", ("ours", "markdown"), ("ours", "jsonl"), 1.2),
]
RSS_GOAL_MIB = 64


def goal_lines(table):
    """The goals, each ratio of medians from this run beside its bound."""
    lines = ["Against the goals (issue 38's ratios, issue 15's JSON and Markdown; ratios of the "
             "medians above):", ""]
    for label, a, b, bound in GOALS:
        ca, cb = table.get(a), table.get(b)
        if not (ca and cb and ca.measured and cb.measured):
            lines.append(f"- {label}: not measured in this run (goal ≤ {bound}×).")
            continue
        ratio = ca.measured.wall / cb.measured.wall
        verdict = "met" if ratio <= bound else "**not met**"
        # What bounds it: the CPU ours used, spread over every core.
        cores = os.cpu_count()
        floor = ca.measured.cpu / cores / cb.measured.wall
        lines.append(f"- {label}: {ratio:.2f}× (goal ≤ {bound}×: {verdict}); ours used "
                     f"{ca.measured.cpu:.2f} s of CPU (user + system, median): on {cores} cores "
                     f"no run of it takes less than {ca.measured.cpu / cores:.2f} s, "
                     f"{floor:.2f}× the alternative.")
    ours = [c.measured.rss_kib for (key, _), c in table.items()
            if key.startswith("ours") and c.measured]
    if ours:
        peak = max(ours) / 1024
        verdict = "met" if peak <= RSS_GOAL_MIB else "**not met**"
        lines.append(f"- Our peak RSS, the largest of any format: {peak:.0f} MiB "
                     f"(goal ≤ {RSS_GOAL_MIB} MiB: {verdict}).")
    return lines


def render_million(*, started, load, size, rows):
    lines = provenance("python3 benches/compare/run.py --million", started, load) + [
        f"- Dataset: {MILLION:,} conversations, {size:,} bytes of canonical JSONL "
        f"(`bench_dataset --count {MILLION} --seed {SEED}`), deleted afterwards.",
        "- Our exporter only, one run per format, file → file; wall time and peak RSS from "
        "`/usr/bin/time -v`.",
        "",
        f"| our exporter at {MILLION:,} conversations | wall | MB/s of input | peak RSS |",
        "|---|---|---|---|",
    ]
    for fmt, m in rows.items():
        if isinstance(m, Measured):
            lines.append(f"| {FORMAT_NAMES[fmt]} | {m.wall:.2f} s | {speed(size, m.wall)} "
                         f"| {mib(m.rss_kib)} |")
        else:
            lines.append(f"| {FORMAT_NAMES[fmt]} | {m.replace('|', '/')} | — | — |")
    return "\n".join(lines)


def write_block(name, body):
    """Replaces the text between <!-- name:begin --> and <!-- name:end --> in
    benches/README.md; creates the section, and the markers at its end, if
    absent."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = README.read_text()
    if SECTION_TITLE not in text:
        text = text.rstrip("\n") + (
            f"\n\n{SECTION_TITLE}\n\n"
            "Written by `benches/compare/run.py` (see `benches/compare/README.md`); each run "
            "replaces what is between its markers.\n"
        )
    if begin not in text:
        start = text.index(SECTION_TITLE) + len(SECTION_TITLE)
        next_section = text.find("\n## ", start)
        section_end = len(text) if next_section < 0 else next_section
        text = (text[:section_end].rstrip("\n") + f"\n\n{begin}\n{end}\n"
                + text[section_end:])
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    README.write_text(f"{head}{begin}\n{body}\n{end}{tail}")


if __name__ == "__main__":
    main()
