"""Checks that two exports parse to the same records: JSONL line by line
(json.loads, dict equality, so 9 and 9.0 are the same number), CSV row by row
(csv after utf-8-sig; turn_number and quality_score compared as numbers;
`csv-plain`: the actual output has no formula guard, so its cells are
compared as the guard would write them), Parquet row by row
(polars: conversation_id and each message's role and content).
Prints the first difference with its line and exits 1.

    python3 equivalence.py jsonl|csv|csv-plain|parquet EXPECTED ACTUAL
"""

import argparse
import csv
import itertools
import json
import sys

NUMERIC_COLUMNS = {"turn_number", "quality_score"}
FORMULA = ("=", "+", "-", "@", "\t", "\r")


class Difference(Exception):
    pass


def jsonl_records(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                yield number, json.loads(line)


def compare_jsonl(expected, actual):
    count = 0
    pairs = itertools.zip_longest(jsonl_records(expected), jsonl_records(actual))
    for want, got in pairs:
        if want is None or got is None:
            missing, line = ("actual", want[0]) if got is None else ("expected", got[0])
            raise Difference(f"line {line}: {missing} output ends here")
        if want[1] != got[1]:
            raise Difference(f"line {got[0]}: {first_difference(want[1], got[1])}")
        count += 1
    return count


def first_difference(want, got, path="$"):
    """Where two parsed JSON values first differ, as a JSON path."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in sorted(want.keys() | got.keys()):
            if want.get(key, Ellipsis) != got.get(key, Ellipsis):
                if key not in want or key not in got:
                    return f"{path}.{key}: only in {'expected' if key in want else 'actual'}"
                return first_difference(want[key], got[key], f"{path}.{key}")
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            if w != g:
                return first_difference(w, g, f"{path}[{i}]")
    return f"{path}: expected {clip(want)}, got {clip(got)}"


def clip(value, limit=80):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


def compare_csv(expected, actual, guarded=True):
    with open(expected, encoding="utf-8-sig", newline="") as e, \
            open(actual, encoding="utf-8-sig", newline="") as a:
        want_rows, got_rows = csv.reader(e), csv.reader(a)
        header = next(want_rows, None)
        if next(got_rows, None) != header:
            raise Difference(f"line 1: header differs, expected {header}")
        count = 0
        for want, got in itertools.zip_longest(want_rows, got_rows):
            if want is None or got is None:
                missing = "actual" if got is None else "expected"
                raise Difference(f"line {got_rows.line_num}: {missing} output ends here")
            for column, w, g in itertools.zip_longest(header, want, got):
                if not guarded and g and g[0] in FORMULA:
                    g = "'" + g  # the guard, as ours applies it
                if not same_cell(column, w, g):
                    raise Difference(
                        f"line {got_rows.line_num}, column {column}: "
                        f"expected {clip(w)}, got {clip(g)}"
                    )
            count += 1
    return count


def same_cell(column, want, got):
    if column in NUMERIC_COLUMNS and want and got:
        try:
            return float(want) == float(got)
        except ValueError:
            return False
    return want == got


def compare_parquet(expected, actual):
    import polars as pl

    def rows(path):
        frame = pl.read_parquet(path, columns=["conversation_id", "messages"])
        turn = pl.element().struct
        return frame.select(
            "conversation_id",
            pl.col("messages").list.eval(pl.struct(turn.field("role"), turn.field("content"))),
        ).iter_rows()

    count = 0
    for number, (want, got) in enumerate(itertools.zip_longest(rows(expected), rows(actual)), 1):
        if want is None or got is None:
            raise Difference(f"row {number}: {'actual' if got is None else 'expected'} output ends here")
        if want != got:
            raise Difference(f"row {number}: expected {clip(want)}, got {clip(got)}")
        count += 1
    return count


COMPARE = {"jsonl": compare_jsonl, "csv": compare_csv,
           "csv-plain": lambda e, a: compare_csv(e, a, guarded=False), "parquet": compare_parquet}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=list(COMPARE))
    parser.add_argument("expected")
    parser.add_argument("actual")
    args = parser.parse_args()
    compare = COMPARE[args.format]
    try:
        count = compare(args.expected, args.actual)
    except (Difference, ValueError) as e:
        print(f"differs: {e}")
        sys.exit(1)
    print(f"same {count} records")


if __name__ == "__main__":
    main()
