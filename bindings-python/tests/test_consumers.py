"""The exported lines as a trainer's reader takes them: the `trl` and
`openai` goldens rendered by a small tool-aware chat template, in the
sandboxed Jinja environment Hugging Face transformers renders chat
templates with (`apply_chat_template(messages, tools=...)`)."""

import json

from jinja2.sandbox import ImmutableSandboxedEnvironment

from conftest import GOLDEN

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
