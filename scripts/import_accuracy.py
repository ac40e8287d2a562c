"""How well plan import reads plans of the seed's family: % of cells exactly right, % of wrong cells flagged.

    .venv/bin/python scripts/import_accuracy.py                    # 60 generated plans, seed 14
    .venv/bin/python scripts/import_accuracy.py --count 200 --seed 7 --formats docx,xlsx
    .venv/bin/python scripts/import_accuracy.py --write /tmp/corpus   # also save every document for a look
    .venv/bin/python scripts/import_accuracy.py --show 004-text       # one document of that run: layout, blocks, misses

The corpus (tests/planio/corpus.py) is invented plans — DB failover, PostgreSQL upgrade, Kubernetes node upgrade,
certificate rotation, core switch replacement, mailbox move, Ceph expansion — of 3 to 25 steps, with risks,
rollback ties ("5/6/7/8", "9–13."), windows across midnight, in random layouts of the family (column order,
synonyms, merged two-row headers, split tables, extra and missing columns, Word numbering, "17-00"/"17.00",
short years) and formats (.docx, .xlsx, Word HTML, Confluence HTML, Word-pasted text). Each document goes
through planio.readers and planio.recognize (no database) and every cell is compared with what the plan says
(tests/planio/builders.py: expected, compare). A wrong cell is "flagged" when the preview marks it: the cell
has a problem, its column is an unsure guess, or the step kind is a guess.

Exit status 1 when fewer than --min-right % of cells are right or more than --max-unflagged % of the wrong
cells are not flagged (defaults: 95 and 0, the issue's bar).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import sys
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from django.utils import translation  # noqa: E402

from planio.document import Table  # noqa: E402
from planio.errors import ImportRefused  # noqa: E402
from planio.readers import read_file, read_paste  # noqa: E402
from planio.recognize import recognize  # noqa: E402
from tests.planio.builders import Miss, cell_count, compare, expected, render  # noqa: E402
from tests.planio.corpus import FORMATS, Variant, variants  # noqa: E402

TIME_ZONE = "Asia/Novosibirsk"


@dataclasses.dataclass
class Tally:
    cells: int = 0
    wrong: int = 0
    flagged: int = 0
    documents: int = 0
    failed: int = 0  # refused or crashed documents

    def add(self, cells: int, misses: list[Miss]) -> None:
        self.documents += 1
        self.cells += cells
        self.wrong += len(misses)
        self.flagged += sum(1 for miss in misses if miss.flagged)

    @property
    def right_pct(self) -> float:
        return 100.0 * (self.cells - self.wrong) / self.cells if self.cells else 100.0

    @property
    def flagged_pct(self) -> float:
        return 100.0 * self.flagged / self.wrong if self.wrong else 100.0

    @property
    def unflagged(self) -> int:
        return self.wrong - self.flagged


def features(variant: Variant) -> list[str]:
    """The layout options and content traits of a variant, for the breakdown."""
    layout, spec = variant.layout, variant.spec
    found = []
    if layout.columns and list(layout.columns)[:2] != ["position", "name"] or "position" in layout.drop_columns:
        found.append("column order")
    if layout.synonyms or layout.rename:
        found.append("synonyms")
    if layout.two_row_header:
        found.append("two-row header")
    if layout.split_at:
        found.append("split table" + ("" if layout.repeat_header else " (no header)"))
    if layout.extra_columns:
        found.append("extra columns")
    if layout.drop_columns:
        found.append("missing columns")
    if layout.auto_numbered_lists:
        found.append("auto numbering")
    if layout.time_format in ("-", "."):
        found.append(f"time 17{layout.time_format}00")
    if layout.short_years:
        found.append("short years")
    if layout.xlsx_typed:
        found.append("xlsx typed dates")
    if layout.line_breaks == "breaks":
        found.append("line breaks")
    if layout.header_as_table:
        found.append("header block as a table")
    if layout.table_title_row:
        found.append("title row above the header")
    if layout.column_numbers_row:
        found.append("column numbers row")
    if layout.empty_rows:
        found.append("empty rows at the end")
    if layout.window_style != "seed":
        found.append(f"window written {layout.window_style}")
    if layout.window_label != "Дата проведения работ":
        found.append("window label variant")
    if layout.combined_datetime:
        found.append("date and time in one column")
    if layout.position_suffix:
        found.append("positions «1.»")
    if layout.no_year_dates:
        found.append("dates without a year")
    if layout.soft_breaks:
        found.append("header lines in one paragraph")
    if layout.crlf:
        found.append("CRLF text")
    if layout.xlsx_offset:
        found.append("xlsx table from column B, merged title")
    if layout.xlsx_signoff_sheet:
        found.append("xlsx sign-off on its own sheet")
    if layout.signoff_style != "seed":
        found.append("sign-off with a date column")
    if layout.section_rows:
        found.append("section rows in the step table")
    if layout.merge_same:
        found.append("vertically merged " + "/".join(layout.merge_same))
    if layout.signoff_first:
        found.append("sign-off table first")
    if layout.drop_header:
        found.append("header lines missing")
    if not layout.announcement:
        found.append("no announcement table")
    if spec.window_end.date() != spec.window_start.date():
        found.append("across midnight")
    if any(len(numbers) > 1 for step in spec.steps for numbers, _text in step.actions):
        found.append("multi-risk ties")
    return found


def run_one(variant: Variant) -> tuple[int, list[Miss], str]:
    """(cells, misses, failure) for one document; a refused or crashed document has every cell wrong."""
    filename, data = render(variant.spec, variant.layout, variant.format)
    exp = expected(variant.spec, variant.layout)
    cells = cell_count(exp)
    try:
        document = read_file(filename, data) if filename else read_paste(data.decode())
        parsed = recognize(document, default_time_zone=TIME_ZONE)
    except ImportRefused as exc:
        # The user sees the refusal: every cell is wrong, but flagged.
        miss = Miss("document", "refused", "a plan", " ".join(exc.messages), True)
        return cells, [dataclasses.replace(miss) for _ in range(cells)], f"refused: {' '.join(exc.messages)}"
    except Exception:  # noqa: BLE001 - a crash is a finding to report, not a reason to stop the corpus
        miss = Miss("document", "crash", "a plan", traceback.format_exc(limit=3), False)
        return cells, [miss] * cells, "crashed:\n" + traceback.format_exc()
    return cells, compare(exp, parsed), ""


def _short(value: Any, limit: int = 90) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(name: str, count: int, seed: int, formats: tuple[str, ...]) -> int:
    """Print what the reader made of one document of the corpus and every cell the import got wrong."""
    variant = next((v for v in variants(count, seed=seed, formats=formats) if v.name == name), None)
    if variant is None:
        print(f"no document {name} among {count} (seed {seed}, formats {','.join(formats)})", file=sys.stderr)
        return 2
    print(variant.layout)
    filename, data = render(variant.spec, variant.layout, variant.format)
    document = read_file(filename, data) if filename else read_paste(data.decode())
    for block in document.blocks:
        if isinstance(block, Table):
            print(f"TABLE {len(block.rows)}×{block.width}: {[cell[:20] for cell in block.rows[0]]}")
        else:
            print(f"P {block.text[:100]!r}")
    _cells, misses, failure = run_one(variant)
    print(failure or "\n".join(str(miss) for miss in misses) or "every cell right")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=60, help="documents in the corpus (default 60)")
    parser.add_argument("--seed", type=int, default=14, help="random seed of the corpus (default 14)")
    parser.add_argument("--formats", default=",".join(FORMATS), help="comma-separated: " + ",".join(FORMATS))
    parser.add_argument("--min-right", type=float, default=95.0, help="%% of cells right at least (default 95)")
    parser.add_argument("--max-unflagged", type=float, default=0.0, help="%% of wrong cells unflagged at most")
    parser.add_argument("--worst", type=int, default=15, help="misread kinds listed (default 15)")
    parser.add_argument("--write", type=Path, help="save every document of the corpus in this directory")
    parser.add_argument("--show", help="print one document of the corpus (e.g. 038-text): layout, blocks, misses")
    args = parser.parse_args(argv)
    formats = tuple(name.strip() for name in args.formats.split(",") if name.strip())
    if args.show:
        return show(args.show, args.count, args.seed, formats)

    translation.activate("ru")
    by_format: dict[str, Tally] = collections.defaultdict(Tally)
    by_feature: dict[str, Tally] = collections.defaultdict(Tally)
    by_field: dict[str, Tally] = collections.defaultdict(Tally)
    overall = Tally()
    kinds: dict[tuple[bool, str, str], list[tuple[str, Miss]]] = collections.defaultdict(list)
    failures = []
    for variant in variants(args.count, seed=args.seed, formats=formats):
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            filename, data = render(variant.spec, variant.layout, variant.format)
            suffix = Path(filename).suffix or ".txt"
            (args.write / f"{variant.name}{suffix}").write_bytes(data)
        cells, misses, failure = run_one(variant)
        if failure:
            failures.append(f"{variant.name}: {failure}")
        for tally in [overall, by_format[variant.format], *(by_feature[name] for name in features(variant))]:
            tally.add(cells, misses)
        for miss in misses:
            by_field[miss.field].wrong += 1
            by_field[miss.field].flagged += miss.flagged
            kinds[(miss.flagged, miss.where.split()[0], miss.field)].append((variant.name, miss))

    print(f"# Import accuracy: {args.count} documents, seed {args.seed}\n")
    print("| format | documents | cells | right | wrong | wrong and flagged | wrong, NOT flagged |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, tally in [*sorted(by_format.items()), ("**overall**", overall)]:
        print(
            f"| {name} | {tally.documents} | {tally.cells} | {tally.right_pct:.2f} % | {tally.wrong} "
            f"| {tally.flagged_pct:.1f} % | {tally.unflagged} |"
        )
    print("\n| layout / content trait | documents | right | wrong | NOT flagged |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, tally in sorted(by_feature.items(), key=lambda item: item[1].right_pct):
        print(f"| {name} | {tally.documents} | {tally.right_pct:.2f} % | {tally.wrong} | {tally.unflagged} |")
    if by_field:
        print("\n| field | wrong | NOT flagged |")
        print("| --- | ---: | ---: |")
        for name, tally in sorted(by_field.items(), key=lambda item: -item[1].wrong):
            print(f"| {name} | {tally.wrong} | {tally.unflagged} |")
    if kinds:
        print(f"\n## Worst misreads (NOT flagged first; {args.worst} kinds, one example each)\n")
        ordered = sorted(kinds.items(), key=lambda item: (item[0][0], -len(item[1])))
        for (flagged, where, field), found in ordered[: args.worst]:
            name, miss = found[0]
            flag = "flagged" if flagged else "NOT FLAGGED"
            print(f"- {len(found)} × {where} {field} ({flag}), e.g. {name} {miss.where}:")
            print(f"  expected {_short(miss.expected)}")
            print(f"  got      {_short(miss.got)}")
            if miss.text:
                print(f"  cell     {_short(miss.text)}")
    if failures:
        print(f"\n## Documents refused or crashed ({len(failures)})\n")
        for failure in failures[:10]:
            print("- " + failure.replace("\n", "\n  "))

    unflagged_pct = 100.0 * overall.unflagged / overall.wrong if overall.wrong else 0.0
    ok = overall.right_pct >= args.min_right and unflagged_pct <= args.max_unflagged
    print(
        f"\n{'OK' if ok else 'FAIL'}: {overall.right_pct:.2f} % of {overall.cells} cells right "
        f"(bar {args.min_right} %), {overall.unflagged} of {overall.wrong} wrong cells not flagged "
        f"(bar {args.max_unflagged} %)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
