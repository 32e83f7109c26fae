"""The export as a short pandas script (CSV only): the whole file read with
read_json(lines=True), one row per turn with explode, written with to_csv.

    python3 alt_pandas.py csv INPUT OUTPUT
"""

import argparse

import pandas as pd

TEXT_COLUMNS = [
    "conversation_id", "title", "status", "tier", "role", "content",
    "persona", "emotion", "topic", "created_at", "updated_at",
]


def guard(texts):
    """A leading ' keeps a spreadsheet from running the cell as a formula."""
    return texts.str.replace(r"^([=+\-@\t\r])", r"'\1", regex=True)


def export_csv(src, dst):
    conversations = pd.read_json(src, lines=True, dtype=False)
    conversations = conversations[conversations["status"] == "approved"]
    rows = conversations.explode("turns", ignore_index=True)
    turns = pd.DataFrame(rows["turns"].tolist())
    rows = pd.DataFrame({
        "conversation_id": rows["conversation_id"],
        "title": rows["title"],
        "status": rows["status"],
        "tier": rows["tier"],
        "turn_number": rows.groupby("conversation_id").cumcount() + 1,
        "role": turns["role"],
        "content": turns["content"],
        "quality_score": rows["qualityScore"],
        "persona": rows["persona"],
        "emotion": rows["emotion"],
        "topic": rows["topic"],
        "created_at": rows["createdAt"],
        "updated_at": rows["updatedAt"],
    })
    rows[TEXT_COLUMNS] = rows[TEXT_COLUMNS].apply(guard)
    rows.to_csv(dst, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["csv"])
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    export_csv(args.input, args.output)


if __name__ == "__main__":
    main()
