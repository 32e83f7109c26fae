"""The export as a short polars script: the whole file read into a data
frame with read_ndjson, reshaped with expressions, written with
write_ndjson, write_csv or write_parquet (polars uses every core).

    python3 alt_polars.py jsonl|csv|csv-plain|parquet INPUT OUTPUT

`csv` is the export's CSV (schema inferred, the formula guard a regex over
every text column); `csv-plain` is what a user writes without the guard:
read_ndjson with an explicit schema, explode, unnest, write_csv (issue 38's
alternative). `parquet` reads the same way and writes one row per
conversation: its id, its messages (role, content) and the metadata.
"""

import argparse

import polars as pl

TEXT_COLUMNS = [
    "conversation_id", "title", "status", "tier", "role", "content",
    "persona", "emotion", "topic", "created_at", "updated_at",
]


def approved(path, schema=None):
    return pl.read_ndjson(path, schema=schema).filter(pl.col("status") == "approved")


TURN = pl.Struct({"role": pl.String, "content": pl.String})
SCHEMA = {
    "conversation_id": pl.String, "title": pl.String, "status": pl.String, "tier": pl.String,
    "qualityScore": pl.Float64, "persona": pl.String, "emotion": pl.String, "topic": pl.String,
    "createdAt": pl.String, "updatedAt": pl.String, "turns": pl.List(TURN),
}


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
            pl.col("qualityScore").alias("quality_score"),
            pl.col("createdAt").alias("created_at"),
            pl.col("updatedAt").alias("updated_at"),
            "persona",
            "emotion",
            "topic",
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


def export_csv_plain(src, dst):
    (
        approved(src, SCHEMA)
        .with_columns(turn_number=pl.int_ranges(1, pl.col("turns").list.len() + 1))
        .explode("turns", "turn_number")
        .unnest("turns")
        .select(
            "conversation_id", "title", "status", "tier", "turn_number", "role", "content",
            quality_score="qualityScore", persona="persona", emotion="emotion", topic="topic",
            created_at="createdAt", updated_at="updatedAt",
        )
        .write_csv(dst, include_bom=True, line_terminator="\r\n")
    )


def export_parquet(src, dst):
    approved(src, SCHEMA).select(
        "conversation_id",
        messages="turns",
        title="title",
        tier="tier",
        quality_score="qualityScore",
        persona="persona",
        emotion="emotion",
        topic="topic",
        created_at="createdAt",
        updated_at="updatedAt",
    ).write_parquet(dst, compression="snappy")


EXPORTS = {"jsonl": export_jsonl, "csv": export_csv, "csv-plain": export_csv_plain,
           "parquet": export_parquet}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=list(EXPORTS))
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    EXPORTS[args.format](args.input, args.output)


if __name__ == "__main__":
    main()
