"""The export as a short Python script with the standard library: json and
csv, streaming one conversation at a time.

    python3 alt_stdlib.py jsonl|csv INPUT OUTPUT
"""

import argparse
import csv
import json

CSV_COLUMNS = [
    "conversation_id", "title", "status", "tier", "turn_number", "role", "content",
    "quality_score", "persona", "emotion", "topic", "created_at", "updated_at",
]
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def approved(src):
    for line in src:
        conversation = json.loads(line)
        if conversation["status"] == "approved":
            yield conversation


def export_jsonl(src, dst):
    for c in approved(src):
        record = {
            "messages": [{"role": t["role"], "content": t["content"]} for t in c["turns"]],
            "metadata": {
                "conversation_id": c["conversation_id"],
                "title": c["title"],
                "tier": c["tier"],
                "quality_score": c["qualityScore"],
                "created_at": c["createdAt"],
                "updated_at": c["updatedAt"],
                "persona": c.get("persona"),
                "emotion": c.get("emotion"),
                "topic": c.get("topic"),
            },
        }
        dst.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        dst.write("\n")


def guard(text):
    """A leading ' keeps a spreadsheet from running the cell as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def export_csv(src, dst):
    writer = csv.writer(dst, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in approved(src):
        for number, t in enumerate(c["turns"], start=1):
            texts = [c["conversation_id"], c["title"], c["status"], c["tier"]]
            writer.writerow(
                [guard(s) for s in texts]
                + [number, guard(t["role"]), guard(t["content"]), c["qualityScore"]]
                + [guard(c.get(k) or "") for k in ("persona", "emotion", "topic")]
                + [guard(c["createdAt"]), guard(c["updatedAt"])]
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["jsonl", "csv"])
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    with open(args.input, encoding="utf-8") as src:
        if args.format == "jsonl":
            with open(args.output, "w", encoding="utf-8") as dst:
                export_jsonl(src, dst)
        else:
            with open(args.output, "w", encoding="utf-8-sig", newline="") as dst:
                export_csv(src, dst)


if __name__ == "__main__":
    main()
