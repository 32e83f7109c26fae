"""The exported lines as a trainer's reader takes them: the `trl` and
`openai` goldens rendered by a small tool-aware chat template, in the
sandboxed Jinja environment Hugging Face transformers renders chat
templates with (`apply_chat_template(messages, tools=...)`); and the token
counts of a chat template checked against transformers' own
`apply_chat_template` on the `trl` output, with a tokenizer built here
(tests/tokenizer/chat/tokenizer.json: nothing is downloaded)."""

import json

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

import lora_export
from conftest import GOLDEN, ROOT

# A Qwen/Hermes-style template: tools in the system turn, tool calls as
# JSON, tool answers in a user-side block, reasoning before the answer.
TEMPLATE = """
{%- if tools %}<|system|>Tools: {% for t in tools %}{{ t | tojson }}{% endfor %}
{% endif -%}
{%- for m in messages -%}
<|{{ m.role }}|>
{%- if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif -%}
{%- if m.content is string %}{{ m.content }}
{%- elif m.content %}{% for p in m.content %}{% if p.type == 'text' %}{{ p.text }}{% else %}<image>{% endif %}{% endfor %}
{%- endif -%}
{%- for c in m.tool_calls or [] %}<tool_call>{"name": {{ c.function.name | tojson }}, "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}
{% endfor -%}
"""


def render(line):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=False)
    return env.from_string(TEMPLATE).render(messages=line["messages"], tools=line.get("tools"))


def lines(name):
    text = (GOLDEN / "expected" / name).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_trl_lines_render_with_tools_calls_and_reasoning():
    sft = [line for line in lines("turns-trl.jsonl") if "messages" in line]
    rendered = [render(line) for line in sft]
    tools = next(r for r in rendered if "get_weather" in r and "Paris" in r)
    assert tools.startswith("<|system|>Tools: ")
    # Arguments are objects in the trl flavor: the template's tojson writes them once.
    assert '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>' in tools
    assert "<think>The user wants live data: call get_weather.</think>" in tools
    assert "<|tool|>18C, light rain" in tools
    assert "<|developer|>Answer with the tool's figures." in tools
    assert any("What is in this picture?<image>" in r for r in rendered)
    preference = [line for line in lines("turns-trl.jsonl") if "prompt" in line]
    assert all(set(p) <= {"prompt", "chosen", "rejected", "tools"} for p in preference)
    assert all(p["chosen"][0]["role"] == "assistant" for p in preference)


def test_openai_lines_carry_arguments_as_json_text():
    for line in lines("turns-openai.jsonl"):
        for message in line["messages"]:
            for call in message.get("tool_calls", []):
                assert isinstance(call["function"]["arguments"], str)
                json.loads(call["function"]["arguments"])
            assert "reasoning_content" not in message


CHAT_TOKENIZER = ROOT / "tests" / "tokenizer" / "chat" / "tokenizer.json"

# A ChatML template that uses what transformers passes: `tools`, and per
# message tool_calls (arguments as objects), tool_call_id, name,
# reasoning_content and content parts; {% generation %} marks what
# TRL's assistant_only_loss trains on (return_assistant_tokens_mask).
TOOL_TEMPLATE = """
{%- if tools %}<|im_start|>system
{% for t in tools %}{{ t | tojson }}
{% endfor %}<|im_end|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'assistant' %}<|im_start|>assistant
{% generation %}
{%- if m.reasoning_content %}<think>{{ m.reasoning_content }}</think>{% endif %}
{%- if m.content is string %}{{ m.content }}{% endif %}
{%- for c in m.tool_calls or [] %}<tool_call>{"id": {{ c.id | tojson }}, "name": {{ c.function.name | tojson }}, "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}<|im_end|>
{% endgeneration %}
{%- else %}<|im_start|>{{ m.role }}{% if m.name %} {{ m.name }}{% endif %}
{% if m.content is string %}{{ m.content }}{% else %}{% for p in m.content %}{% if p.type == 'text' %}{{ p.text }}{% else %}<image>{% endif %}{% endfor %}{% endif %}
{%- if m.tool_call_id %} [{{ m.tool_call_id }}]{% endif %}<|im_end|>
{% endif %}
{%- endfor %}"""


def transformers_tokenizer():
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(CHAT_TOKENIZER))
    tokenizer.chat_template = TOOL_TEMPLATE
    return tokenizer


def applied(tokenizer, messages, tools, **options):
    return tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True, **options)


def turns_records():
    text = (GOLDEN / "turns.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.filterwarnings("ignore:the jsonl `trl` output cannot carry:lora_export.LoraExportWarning")
def test_chat_template_counts_are_transformers_apply_chat_template_on_the_trl_output(tmp_path):
    tokenizer = transformers_tokenizer()
    counted = []
    for record in turns_records():
        if record["conversation_id"] == "turn-unanswered":
            continue  # skipped: an unanswered tool call (tests/golden/expected/turns-trl.summary.json)
        dest = tmp_path / record["conversation_id"]
        summary = lora_export.export_dataset(
            [record], dest, tokenizer=CHAT_TOKENIZER, chat_template=TOOL_TEMPLATE,
            config={"scope": "all_data", "jsonlFlavor": "trl", "includeMetadata": False},
        )
        (line,) = [json.loads(l) for f in dest.glob("*.jsonl") for l in f.read_text("utf-8").splitlines()]
        tools = line.get("tools")
        if "messages" in line:
            expected = len(applied(tokenizer, line["messages"], tools)["input_ids"])
        else:
            # A preference record: max_tokens compares the longer of prompt + chosen and prompt + rejected.
            expected = max(len(applied(tokenizer, line["prompt"] + line[side], tools)["input_ids"])
                           for side in ("chosen", "rejected"))
        assert summary.tokens["total"] == expected, record["conversation_id"]
        counted.append(record["conversation_id"])
    assert counted == ["turn-tools", "turn-parts", "turn-think", "turn-call", "pref-trl", "pref-openai"]


def test_trl_leaves_weight_out_and_says_so_as_the_assistant_mask_trains_on_every_assistant_turn(tmp_path):
    """TRL has no per-message weight: with assistant_only_loss it trains on
    every assistant turn the template marks, so the `trl` flavor leaves
    `weight` out and reports it (docs/formats.md)."""
    record = next(r for r in turns_records() if r["conversation_id"] == "turn-tools")
    with pytest.warns(lora_export.LoraExportWarning, match=r"weight \(2\)"):
        summary = lora_export.export(
            [record], tmp_path / "out.jsonl",
            config={"scope": "all_data", "jsonlFlavor": "trl", "includeMetadata": False},
        )
    assert summary.dropped_fields["weight"] == 2
    line = json.loads((tmp_path / "out.jsonl").read_text("utf-8"))
    assert all("weight" not in m for m in line["messages"])
    tokenizer = transformers_tokenizer()
    encoded = applied(tokenizer, line["messages"], line.get("tools"), return_assistant_tokens_mask=True)
    trained = [t for t, m in zip(encoded["input_ids"], encoded["assistant_masks"]) if m]
    # The byte-level BPE's tokens, joined: Ġ is its space.
    masked = "".join(tokenizer.convert_ids_to_tokens(trained)).replace("Ġ", " ")
    assert "Let me check." in masked, "the weight-0 turn is trained on by TRL's assistant mask"
    assert "Weather in Paris?" not in masked
