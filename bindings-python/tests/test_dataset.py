"""export_dataset: a list of dicts, a DataFrame or a JSONL path becomes a
Hugging Face dataset directory that `datasets.load_dataset` loads — splits by
a seeded hash of the id (stable when data grows), dedupe, shards,
compression — and bad arguments raise typed errors, leaving no files."""

import json
import os
import re

import pandas as pd
import pytest

import lora_export

from conftest import ROOT, SAMPLE, conversation


def load(path):
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets

    return datasets.load_dataset(str(path), cache_dir=str(path.parent / "hf-cache"))


def ids(split):
    return {row["metadata"]["conversation_id"] for row in split}


def test_dicts_become_splits_that_stay_put_when_data_grows(tmp_path):
    records = [conversation(i) for i in range(200)]
    first = lora_export.export_dataset(records[:120], tmp_path / "a",
                                       split={"train": 0.8, "validation": 0.2}, seed=3,
                                       max_records_per_shard=25, compression="gzip")
    assert [s["name"] for s in first["splits"]] == ["train", "validation"]
    assert sum(s["conversations"] for s in first["splits"]) == 120
    assert len(first["splits"][0]["files"]) == -(-first["splits"][0]["conversations"] // 25)
    grown = lora_export.export_dataset(records[::-1], tmp_path / "b",
                                       split="train=0.8,validation=0.2", seed=3)
    a, b = load(tmp_path / "a"), load(tmp_path / "b")
    assert a["train"].num_rows == first["splits"][0]["conversations"]
    assert ids(a["train"]) <= ids(b["train"]) and ids(a["validation"]) <= ids(b["validation"])
    assert not ids(b["train"]) & ids(b["validation"])
    assert grown["seed"] == 3


def test_dedupe_and_other_inputs(tmp_path):
    records = [conversation(i) for i in range(20)]
    copy = dict(records[0], conversation_id="copy-of-0")
    frame = pd.DataFrame(records + [copy])
    summary = lora_export.export_dataset(frame, tmp_path / "df", dedupe=True)
    assert summary["duplicates_dropped"] == 1
    skipped = summary["export"]["skipped"][0]
    assert (skipped["conversation_id"], skipped["reason"]) == (
        "copy-of-0", "duplicate content: the same turns as record 1")
    from_path = lora_export.export_dataset(SAMPLE, tmp_path / "path", format="csv", compression="zstd")
    assert from_path["splits"][0]["files"][0]["name"] == "train-00000-of-00001.csv.zst"
    assert from_path["export"]["skipped_total"] == 4, "the sample's malformed lines are listed"


def test_bad_arguments_raise_typed_errors_and_leave_nothing(tmp_path):
    records = [conversation(i) for i in range(3)]
    with pytest.raises(lora_export.ValidationError) as bad:
        lora_export.export_dataset(records, tmp_path / "x", split={"train": 0.9, "test": 0.2})
    assert bad.value.issues[0]["code"] == "bad_sum"
    with pytest.raises(TypeError):
        lora_export.export_dataset(records, tmp_path / "x", split=0.9)
    with pytest.raises(lora_export.ConfigError):
        lora_export.export_dataset(records, tmp_path / "x", compression="brotli")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "train-00000-of-00002.jsonl").write_text("old")
    with pytest.raises(lora_export.ConfigError, match="not empty"):
        lora_export.export_dataset(records, tmp_path / "used")
    with pytest.raises(lora_export.TooManySkippedError):
        lora_export.export_dataset([{"conversation_id": "a"}], tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


def test_token_counts_match_hugging_face_tokenizers_and_max_tokens_skips(tmp_path):
    from tokenizers import Tokenizer

    path = ROOT / "tests" / "tokenizer" / "tokenizer.json"
    reference = Tokenizer.from_file(str(path))
    summary = lora_export.export_dataset(SAMPLE, tmp_path / "a", tokenizer=path, config={"scope": "all_data"})
    lines = [json.loads(l) for f in sorted((tmp_path / "a").glob("*.jsonl")) for l in f.read_text("utf-8").splitlines()]
    for line in lines:
        count = sum(len(reference.encode(m["content"], add_special_tokens=False).ids) for m in line["messages"])
        assert line["metadata"]["token_count"] == count
    tokens = summary["export"]["tokens"]
    assert (tokens["total"], tokens["conversations"]) == (sum(l["metadata"]["token_count"] for l in lines), len(lines))

    limit = tokens["p50"]
    kept = lora_export.export_dataset(
        SAMPLE, tmp_path / "b", tokenizer="o200k_base", max_tokens=limit, config={"scope": "all_data"}
    )
    over = kept["export"]["tokens"]["over_max_tokens"]
    assert over > 0 and kept["export"]["conversations"] + over == len(lines)
    assert sum(1 for s in kept["export"]["skipped"] if "max_tokens" in s["reason"]) == over
    with pytest.raises(lora_export.ConfigError, match="maxTokens needs a tokenizer"):
        lora_export.export_dataset(SAMPLE, tmp_path / "c", max_tokens=10)
    with pytest.raises(lora_export.ConfigError, match="tokenizer.json"):
        lora_export.export_dataset(SAMPLE, tmp_path / "d", tokenizer=tmp_path / "missing.json")
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_a_chat_template_is_rendered_before_counting(tmp_path):
    from tokenizers import Tokenizer

    path = ROOT / "tests" / "tokenizer" / "chat" / "tokenizer.json"
    reference = Tokenizer.from_file(str(path))
    template = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    summary = lora_export.export_dataset(SAMPLE, tmp_path / "a", tokenizer=path, chat_template=template)
    lines = [json.loads(l) for f in sorted((tmp_path / "a").glob("*.jsonl")) for l in f.read_text("utf-8").splitlines()]
    for line in lines:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in line["messages"])
        assert line["metadata"]["token_count"] == len(reference.encode(text, add_special_tokens=False).ids)
    assert summary["export"]["tokens"]["chat_template"] == "inline chat template"

    refusing = "{% for m in messages %}{% if m.role == 'assistant' %}{{ raise_exception('no assistant turns here') }}{% endif %}{% endfor %}"
    with pytest.raises(lora_export.TooManySkippedError, match="no assistant turns here"):
        lora_export.export_dataset(SAMPLE, tmp_path / "b", tokenizer=path, chat_template=refusing)
    with pytest.raises(lora_export.ConfigError, match="needs a Hugging Face tokenizer.json"):
        lora_export.export_dataset(SAMPLE, tmp_path / "c", tokenizer="o200k_base", chat_template=template)
    with pytest.raises(lora_export.ConfigError, match="chat template `.*missing_config.json`"):
        lora_export.export_dataset(SAMPLE, tmp_path / "d", tokenizer=path, chat_template=tmp_path / "missing_config.json")


def test_progress_is_called_per_batch_and_an_exception_in_it_stops_the_export(tmp_path):
    records = [conversation(i) for i in range(2500)]
    calls = []
    summary = lora_export.export_dataset(records, tmp_path / "a",
                                         progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1024, 2500), (2048, 2500), (2500, 2500)], "once per batch of 1,024"
    assert summary.conversations == 2500

    def boom(done, total):
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        lora_export.export_dataset(records, tmp_path / "b", progress=boom)
    assert list((tmp_path / "b").iterdir()) == [], "no file left behind"
    with pytest.raises(TypeError, match="progress"):
        lora_export.export_dataset(records, tmp_path / "c", progress="yes")


def test_overwrite_replaces_a_used_directory_and_its_absence_names_path_and_option(tmp_path):
    dest = tmp_path / "ds"
    lora_export.export_dataset([conversation(i) for i in range(30)], dest,
                               split={"train": 0.5, "test": 0.5})
    with pytest.raises(lora_export.ConfigError, match=f"{dest}.*overwrite"):
        lora_export.export_dataset([conversation(i) for i in range(10)], dest)
    summary = lora_export.export_dataset([conversation(i) for i in range(10)], dest, overwrite=True)
    assert sorted(p.name for p in dest.iterdir()) == ["README.md", "train-00000-of-00001.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"], "no staging directory left"
    assert len(load(dest)["train"]) == summary.conversations == 10


def test_the_summary_is_a_typed_object_that_still_reads_as_a_dict(tmp_path):
    summary = lora_export.export_dataset(SAMPLE, tmp_path / "a", split="train=0.5,validation=0.5",
                                         tokenizer="o200k_base", config={"scope": "all_data"})
    assert isinstance(summary, lora_export.DatasetSummary)
    assert isinstance(summary.export, lora_export.ExportSummary)
    assert [s["name"] for s in summary.splits] == ["train", "validation"]
    assert summary.conversations == sum(s["conversations"] for s in summary.splits) == summary.export.conversations
    assert (summary.seed, summary.duplicates_dropped, summary.card["name"]) == (0, 0, "README.md")
    assert summary.tokens["tokenizer"] == "o200k_base" and "chat_template" not in summary.tokens
    as_dict = summary.to_dict()
    assert summary["splits"] == as_dict["splits"] and summary["export"]["tokens"] == summary.tokens
    assert json.loads(json.dumps(as_dict)) == as_dict
    with pytest.raises(KeyError):
        summary["nope"]
    assert repr(summary).startswith("DatasetSummary(splits=[train=")


def chat(i, answer="Hello"):
    return {"messages": [{"role": "user", "content": f"Question {i}"}, {"role": "assistant", "content": answer}]}


def test_a_dataset_dict_exports_each_split_as_given(tmp_path):
    import datasets

    dd = datasets.DatasetDict({
        "train": datasets.Dataset.from_list([dict(chat(i), conversation_id=f"t{i}") for i in range(30)]),
        "test": datasets.Dataset.from_list([dict(chat(i), conversation_id=f"e{i}") for i in range(100, 110)]),
    })
    calls = []
    summary = lora_export.export_dataset(dd, tmp_path / "dd", progress=lambda done, total: calls.append((done, total)))
    assert summary.split_by == "given" and summary.leaks == 0
    assert [(s["name"], s["conversations"], s["skipped_total"], s["leaks"]) for s in summary.splits] == [
        ("train", 30, 0, 0), ("test", 10, 0, 0)]
    assert sorted(p.name for p in (tmp_path / "dd").iterdir()) == [
        "README.md", "test-00000-of-00001.jsonl", "train-00000-of-00001.jsonl"]
    loaded = load(tmp_path / "dd")
    assert ids(loaded["train"]) == {f"t{i}" for i in range(30)}, "no hashing: the user's assignment"
    assert ids(loaded["test"]) == {f"e{i}" for i in range(100, 110)}
    assert calls[-1] == (40, 40) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert "the splits as the input gave them" in (tmp_path / "dd" / "README.md").read_text("utf-8")

    with pytest.raises(lora_export.ConfigError, match=r"`split` \(train=0.5,test=0.5\) and the input's own splits \(train, test\)"):
        lora_export.export_dataset(dd, tmp_path / "both", split="train=0.5,test=0.5")
    with pytest.raises(TypeError, match=r'dd\["train"\], or export_dataset\(dd, out_dir\) for every split'):
        lora_export.export(dd, tmp_path / "one.jsonl")


def test_a_dict_of_dataframes_keeps_its_splits_shards_them_and_reports_skips_and_leaks(tmp_path):
    train = pd.DataFrame([dict(chat(i), conversation_id=f"t{i}") for i in range(25)])
    test = pd.DataFrame([dict(chat(i), conversation_id=f"e{i}") for i in range(100, 104)]
                        + [dict(chat(3), conversation_id="copy-of-t3"),  # the turns of train's t3
                           {"conversation_id": "broken", "messages": [{"role": "robot", "content": "?"}]}])
    with pytest.warns(lora_export.LoraExportWarning, match=r"split `test`: 1 conversations repeat .* \(train: 1\) .* written as given"):
        summary = lora_export.export_dataset({"train": train, "test": test}, tmp_path / "kept", max_records_per_shard=10)
    train_s, test_s = summary.splits
    assert [f["name"] for f in train_s["files"]] == [f"train-0000{i}-of-00003.jsonl" for i in range(3)]
    assert (train_s["conversations"], test_s["conversations"]) == (25, 5), "the leak is written, as given"
    assert (summary.leaks, test_s["leaks"], train_s["leaks"]) == (1, 1, 0)
    assert (test_s["skipped_total"], test_s["skipped"][0]["location"]["record"], test_s["skipped"][0]["conversation_id"]) == (
        1, 6, "broken"), "located within its split"
    assert summary.export.skipped_total == 1 and any("split `test`" in w for w in summary.export.warnings)

    with pytest.warns(lora_export.LoraExportWarning, match=r"left out of it \(dedupe"):
        deduped = lora_export.export_dataset({"train": train, "test": test}, tmp_path / "deduped", dedupe=True)
    assert [s["conversations"] for s in deduped.splits] == [25, 4] and deduped.leaks == 1
    reasons = [s["reason"] for s in deduped.splits[1]["skipped"]]
    assert "duplicate content: the same turns as record 4 of split `train`" in reasons


def test_hostile_split_names_are_refused_by_name_and_nothing_is_written(tmp_path):
    rows = [conversation(i) for i in range(3)]
    for name in ["../escape", "a/b", "..", "", "x" * 65, "train-clean", ".hidden", "ok\n"]:
        dest = tmp_path / "out"
        with pytest.raises(lora_export.ValidationError, match=re.escape(json.dumps(name[:80]))):
            lora_export.export_dataset({"train": rows, name: rows}, dest)
        assert not dest.exists() or list(dest.iterdir()) == [], name
    assert not (tmp_path / "escape").exists()
    with pytest.raises(lora_export.ValidationError, match="given twice"):
        lora_export.export_dataset({"train": rows, "TRAIN": rows}, tmp_path / "twice")
    with pytest.raises(lora_export.ValidationError, match="at most 16"):
        lora_export.export_dataset({f"s{i}": rows for i in range(17)}, tmp_path / "many")
    with pytest.raises(lora_export.ValidationError, match="`messages` of a conversation"):
        lora_export.export_dataset(chat(1), tmp_path / "record")
    with pytest.raises(TypeError, match="split names"):
        lora_export.export_dataset({1: rows}, tmp_path / "int")


def test_split_names_yaml_would_misread_load_by_name(tmp_path):
    rows = [conversation(i) for i in range(4)]
    lora_export.export_dataset({"null": rows[:2], "2024": rows[2:]}, tmp_path / "odd")
    loaded = load(tmp_path / "odd")
    assert sorted(loaded) == ["2024", "null"] and loaded["null"].num_rows == 2
