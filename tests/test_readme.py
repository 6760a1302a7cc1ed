"""The README is the manual: every example, pasted in the order printed on a fresh
machine, prints what the README shows (docs/replay.py runs each one as a process)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_every_readme_example_reproduces_in_the_order_printed():
    proc = subprocess.run([sys.executable, str(ROOT / "docs" / "replay.py")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_the_replay_reports_an_example_whose_output_differs(tmp_path):
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import replay
    finally:
        sys.path.pop(0)
    text = "```text\n$ pager --now 2026-11-23T09:00Z oncall\nnot what it prints\n```\n"
    found = replay.examples(text)
    assert found == [(8, "pager --now 2026-11-23T09:00Z oncall", ["not what it prints"])]
    fixed = replay.fix(text, {8: ["what it prints", "", "more"]})
    assert fixed == "```text\n$ pager --now 2026-11-23T09:00Z oncall\nwhat it prints\n\nmore\n```\n"
