"""The README's Python API section runs as written, from a fresh directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(markdown: str, section: str) -> list[str]:
    """The ```python blocks of the ``## section`` of ``markdown``, in order."""
    start = markdown.index(f"## {section}\n")
    end = markdown.find("\n## ", start + 1)
    body = markdown[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_the_block_finder_reads_only_its_section() -> None:
    text = "## A\n```python\na = 1\n```\n## B\n```python\nb = 2\n```\n```bash\nx\n```\n"
    assert python_blocks(text, "A") == ["a = 1\n"]
    assert python_blocks(text, "B") == ["b = 2\n"]


def test_python_api_examples_run(tmp_path: Path) -> None:
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "Python API")
    assert len(blocks) >= 4, "profile, table, predictor and search examples"
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HWNAS_STORE"}  # ./hwnas.db, as written
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert (tmp_path / "hwnas.db").exists()
    assert (tmp_path / "pred-raspi4" / "meta.json").exists()
    assert (tmp_path / "search-raspi4" / "search.json").exists()
    assert "{'" in done.stdout  # the event kinds were printed by the example itself
