"""The export as a short polars script: the whole file read into a data
frame with read_ndjson, reshaped with expressions, written with
write_ndjson or write_csv (polars uses every core).

    python3 alt_polars.py jsonl|csv INPUT OUTPUT
"""

import argparse

import polars as pl

TEXT_COLUMNS = [
    "conversation_id", "title", "status", "tier", "role", "content",
    "persona", "emotion", "topic", "created_at", "updated_at",
]


def approved(path):
    return pl.read_ndjson(path).filter(pl.col("status") == "approved")


def export_jsonl(src, dst):
    turn = pl.element().struct
    approved(src).select(
        messages=pl.col("turns").list.eval(
            pl.struct(turn.field("role"), turn.field("content"))
        ),
        metadata=pl.struct(
            "conversation_id",
            "title",
            "tier",
            quality_score="qualityScore",
            created_at="createdAt",
            updated_at="updatedAt",
            persona=pl.col("persona").fill_null(""),
            emotion=pl.col("emotion").fill_null(""),
            topic=pl.col("topic").fill_null(""),
        ),
    ).write_ndjson(dst)


def guard(column):
    """A leading ' keeps a spreadsheet from running the cell as a formula."""
    return pl.col(column).str.replace(r"^([=+\-@\t\r])", "'$1")


def export_csv(src, dst):
    (
        approved(src)
        .with_columns(turn_number=pl.int_ranges(1, pl.col("turns").list.len() + 1))
        .explode("turns", "turn_number")
        .select(
            "conversation_id",
            "title",
            "status",
            "tier",
            "turn_number",
            pl.col("turns").struct.field("role", "content"),
            quality_score="qualityScore",
            persona="persona",
            emotion="emotion",
            topic="topic",
            created_at="createdAt",
            updated_at="updatedAt",
        )
        .with_columns(guard(column) for column in TEXT_COLUMNS)
        .write_csv(dst, include_bom=True, line_terminator="\r\n")
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["jsonl", "csv"])
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    export = export_jsonl if args.format == "jsonl" else export_csv
    export(args.input, args.output)


if __name__ == "__main__":
    main()
