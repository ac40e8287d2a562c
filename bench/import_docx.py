"""Import of a 100-step .docx plan against python-docx merely opening it and reading every cell (issue 14).

    make bench-import
    .venv/bin/python bench/import_docx.py --runs 21

No database: readers and recognizer are pure. The document is made by tests/planio/builders.py (the seed's
layout, 15 columns, 100 steps of the Kubernetes upgrade plan of tests/planio/corpus.py, with its announcement
and sign-off tables). Four things are timed on the same bytes, interleaved (ABCDDCBA), --runs of each:

- **floor**: `docx.Document(BytesIO(data))` and `cell.text` of every cell of every table (rows × cells as
  python-docx gives them) — the least any .docx import has to do;
- **import**: `planio.readers.read_file` + `planio.recognize.recognize` — what the upload costs before the
  preview (safety checks, reading paragraphs, numbering and merged cells, recognizing header, columns, steps,
  risks, ties and sign-off);
- **read**: `read_file` alone (the reader's share);
- **recognize**: `recognize` alone on the Document read once beforehand.

Prints a Markdown table of medians (wall and CPU) and ratios to the floor; writes bench/results/import_docx.json.
Exit status 1 when the import does not give 100 steps.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "import_docx.json"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

import docx  # noqa: E402

from planio.readers import read_file  # noqa: E402
from planio.recognize import recognize  # noqa: E402
from tests.planio.builders import Layout, to_docx  # noqa: E402
from tests.planio.corpus import large_spec  # noqa: E402

TIME_ZONE = "Asia/Novosibirsk"


def floor(data: bytes) -> int:
    """python-docx opening the file and reading every table cell's text; returns the characters read."""
    document = docx.Document(io.BytesIO(data))
    read = 0
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                read += len(cell.text)
    return read


def import_plan(data: bytes) -> int:
    return len(recognize(read_file("plan.docx", data), default_time_zone=TIME_ZONE).steps)


def _timed(function: Callable[[], Any], wall: list[float], cpu: list[float]) -> None:
    gc.collect()
    started, started_cpu = time.perf_counter(), time.process_time()
    function()
    cpu.append((time.process_time() - started_cpu) * 1000)
    wall.append((time.perf_counter() - started) * 1000)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
        return out.stdout.strip() + (" (working tree with changes)" if dirty.strip() else "")
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="timed runs of each (default 21)")
    parser.add_argument("--steps", type=int, default=100, help="steps of the plan (default 100)")
    args = parser.parse_args(argv)

    spec = large_spec(args.steps)
    data = to_docx(spec, Layout())
    document = read_file("plan.docx", data)
    # warm up (imports, regexes, gettext catalogues) and check
    steps = import_plan(data)
    characters = floor(data)
    if steps != args.steps:
        print(f"the import gave {steps} steps, not {args.steps}", file=sys.stderr)
        return 1

    samples: dict[str, dict[str, list[float]]] = {
        name: {"wall": [], "cpu": []} for name in ("floor", "import", "read", "recognize")
    }
    subjects: dict[str, Callable[[], Any]] = {
        "floor": lambda: floor(data),
        "import": lambda: import_plan(data),
        "read": lambda: read_file("plan.docx", data),
        "recognize": lambda: recognize(document, default_time_zone=TIME_ZONE),
    }
    order = ["floor", "import", "read", "recognize"]
    for run in range(args.runs):
        for name in order if run % 2 == 0 else reversed(order):
            _timed(subjects[name], samples[name]["wall"], samples[name]["cpu"])

    medians = {
        name: {kind: statistics.median(values) for kind, values in sample.items()} for name, sample in samples.items()
    }
    base_wall, base_cpu = medians["floor"]["wall"], medians["floor"]["cpu"]
    rows = {
        "floor": "python-docx: open + every cell's text (floor)",
        "import": "read_file + recognize",
        "read": "read_file only",
        "recognize": "recognize only",
    }
    print(
        f"# Import of a {args.steps}-step .docx ({len(data) // 1024} KiB, {document.cell_count()} cells, "
        f"{characters} characters), {args.runs} runs each\n"
    )
    print("| what | median wall | median CPU | ratio to floor (wall) | ratio (CPU) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, label in rows.items():
        wall, cpu = medians[name]["wall"], medians[name]["cpu"]
        print(f"| {label} | {wall:.1f} ms | {cpu:.1f} ms | {wall / base_wall:.2f}× | {cpu / base_cpu:.2f}× |")

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "commit": _commit(),
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load": os.getloadavg()},
                "steps": args.steps,
                "bytes": len(data),
                "cells": document.cell_count(),
                "runs": args.runs,
                "medians_ms": medians,
                "samples_ms": samples,
            },
            indent=1,
        )
    )
    print(f"\nload average {os.getloadavg()[0]:.2f}; samples in {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
