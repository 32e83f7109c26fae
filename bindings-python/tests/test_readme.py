"""The README's Python snippet runs as written."""

import re
import shutil
import subprocess
import sys

from conftest import ROOT, SAMPLE


def test_the_readme_python_snippet_runs(tmp_path):
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    (tmp_path / "data").mkdir()
    shutil.copy(SAMPLE, tmp_path / "data" / "sample.jsonl")
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith("written; 4 malformed records listed")
    assert lines[1].startswith("\ufeffconversation_id,")
    assert lines[-1].startswith("400 [{'path': 'filters.qualityRange.max', 'code': 'out_of_range'")
    assert (tmp_path / "train.jsonl").stat().st_size > 0
