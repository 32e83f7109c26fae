"""The export as a short Python script with orjson, streaming one
conversation at a time (JSONL only).

    python3 alt_orjson.py jsonl INPUT OUTPUT
"""

import argparse

import orjson


def write_jsonl(conversations, dst):
    """The approved conversations as OpenAI chat JSONL with metadata."""
    for c in conversations:
        if c["status"] != "approved":
            continue
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
        dst.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))


def export_jsonl(src, dst):
    write_jsonl((orjson.loads(line) for line in src), dst)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("format", choices=["jsonl"])
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args()
    with open(args.input, "rb") as src, open(args.output, "wb") as dst:
        export_jsonl(src, dst)


if __name__ == "__main__":
    main()
