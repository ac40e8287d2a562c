"""Drafting from the keyboard: the seed plan's 7 steps typed into an empty draft, counting the actions.

    make bench-drafting
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/okno .venv/bin/python bench/drafting.py

Drops and recreates the PostgreSQL database "okno_bench_drafting", loads the demo (users, parties), makes an
empty draft with the seed's header for the author (khasanov), starts `manage.py runserver` on a free port and
drives Debian's chromium with Playwright: it signs in and types the seed's steps (demo/plans.py DEMO_STEPS) into
the step table with the keyboard only, the way the user guide's "Keyboard" section describes (static/okno/grid.js).

What is counted: every key that is not text (Tab, Enter, Shift+Tab, Ctrl+Enter, arrows) and every click is an
action; the text itself is counted as characters (a line break inside a text is a character). Cells filled are
the cells of the seed's table that get a value (kind included when it is not "work"; a date already right,
because a new step takes the date of the step above, is not counted as filled). The risks of step 5 and its
rollback actions are one cell each, as in the seed; the figure per value is printed too.

After typing, the database is compared with the seed; the exit status is 1 if anything differs. Writes
bench/results/drafting.json. Sign-in and opening the page are not counted.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "drafting.json"
sys.path.insert(0, str(ROOT))
from bench.common import free_port, fresh_database, stop, wait_for_port  # noqa: E402

DB_NAME = "okno_bench_drafting"
CHROMIUM = os.environ.get("OKNO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=1440, help="browser window width (px)")
    parser.add_argument("--keep-db", action="store_true", help="keep the database for a look")
    return parser.parse_args()


def start_server(port, log):
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return wait_for_port(process, port, log.name, seconds=60)


def drop_database(url):
    import dj_database_url
    import psycopg
    from django.db import connections

    connections.close_all()
    config = dj_database_url.parse(url)
    with psycopg.connect(
        host=config["HOST"], port=config["PORT"] or 5432, user=config["USER"], dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def seed_cells(spec):
    """field → what the seed's row holds, as typed (None: nothing to type)."""
    from django.utils import translation

    from changeplans.choices import StepKind

    with translation.override("ru"):
        kind = str(StepKind(spec["kind"]).label) if spec["kind"] != StepKind.WORK else None
    if spec["rollback"] is None:
        rollback = "нет"
    else:
        lines = []
        for numbers, text in spec["rollback"]:
            label = "/".join(str(n) for n in numbers)
            lines.append(f"{label}. {text}" if label else text)
        rollback = "\n".join(lines)
    risks = "\n".join(spec["risks"]) if spec["risks"] else None  # one line a risk: typed on the risks cell
    return {
        "kind": kind,
        "name": spec["name"],
        "description": spec["description"],
        "expected_result": spec["expected_result"],
        "risks": risks,
        "risk_mitigation": spec["risk_mitigation"] or None,
        "affected_systems": spec["affected_systems"] or None,
        "planned_downtime": spec["planned_downtime"] or None,
        "executor": spec["executor"],
        "planned_date": spec["planned_date"].strftime("%d.%m.%Y"),
        "planned_time": spec["planned_time"].strftime("%H:%M") if spec["planned_time"] else None,
        "duration_text": spec["duration"],
        "rollback": rollback,
        "jira_key": spec["jira_key"] or None,
    }


def draft(page, plan_id, steps):
    """Type `steps` (DEMO_STEPS) into the empty plan; returns the keyboard (its counts) and the cells filled."""
    from playwright.sync_api import expect

    from tests.browser.keyboard import Keyboard

    page.goto(f"/plans/{plan_id}/")
    expect(page.locator("#steps-body")).to_be_visible()
    kb = Keyboard(page)
    filled = values = 0
    kb.press("Control+Enter")  # the first step; its name is selected
    expect(page.locator("#steps-body tr.okno-step")).to_have_count(1)
    order = page.eval_on_selector_all(
        "#steps-body tr.okno-step td.okno-cell[data-field]",
        "cells => cells.filter(c => c.offsetParent !== null).map(c => c.dataset.field)",
    )
    for _ in range(order.index("name")):
        kb.press("Shift+Tab")  # start the row at its first column: every next row starts there
    for number, spec in enumerate(steps, start=1):
        row = page.locator("#steps-body tr.okno-step").nth(number - 1)
        expect(page.locator("#steps-body tr.okno-step")).to_have_count(number)
        expect(row.locator(f"td[data-field={order[0]}]")).to_be_focused()
        shown = row.evaluate(
            "r => Object.fromEntries(Array.from(r.querySelectorAll('td.okno-cell[data-field]'))"
            ".map(c => [c.dataset.field, c.innerText.trim()]))"
        )
        wanted = seed_cells(spec)
        to_type = {
            field: value
            for field, value in wanted.items()
            if field in order and value and not (field in ("planned_date", "kind") and shown.get(field) == value)
        }
        last = max(order.index(field) for field in to_type)
        for index, field in enumerate(order[: last + 1]):
            value = to_type.get(field)
            if value:
                kb.text(value)
                filled += 1
                values += value.count("\n") + 1 if field in ("risks", "rollback") else 1
            if index < last:
                kb.press("Tab")  # saves (when typed) and moves right
            elif number < len(steps):
                kb.press("Enter")  # saves; the next row (added at the end) in the column where the Tabs began
            else:
                kb.press("Control+Enter")  # saves and stays
    # Keys typed ahead are replayed as the saves come back: the last cell saved means everything was.
    last_cell = page.locator("#steps-body tr.okno-step").last.locator(f"td[data-field={order[last]}]")
    first_line = to_type[order[last]].split("\n")[0]
    expect(last_cell).to_contain_text(first_line.split(". ", 1)[-1] if order[last] == "rollback" else first_line)
    expect(page.locator(".okno-cell-form, .okno-risks-form")).to_have_count(0)
    expect(last_cell).to_be_focused()
    return kb, filled, values


def compare(plan, steps):
    """Differences between the plan typed and the seed's rows."""
    problems = []
    typed = list(plan.steps.order_by("position").prefetch_related("risks", "rollback_actions__risks"))
    if len(typed) != len(steps):
        return [f"{len(typed)} steps instead of {len(steps)}"]
    for step, spec in zip(typed, steps, strict=True):
        expected = {
            "kind": spec["kind"],
            "name": spec["name"],
            "description": spec["description"],
            "expected_result": spec["expected_result"],
            "risk_mitigation": spec["risk_mitigation"],
            "affected_systems": spec["affected_systems"],
            "planned_downtime": spec["planned_downtime"],
            "executor": spec["executor"],
            "planned_date": spec["planned_date"],
            "planned_time": spec["planned_time"],
            "duration_text": spec["duration"],
            "jira_key": spec["jira_key"],
            "no_rollback_needed": spec["rollback"] is None,
            "risks": list(spec["risks"]),
            "rollback": [(list(numbers), text) for numbers, text in spec["rollback"] or ()],
        }
        actual = {
            **{field: getattr(step, field) for field in expected if hasattr(step, field)},
            "executor": step.executor.name if step.executor else None,
            "risks": [risk.description for risk in step.risks.all()],
            "rollback": [
                (sorted(risk.number for risk in action.risks.all()), action.text)
                for action in step.rollback_actions.all()
            ],
        }
        for field, value in expected.items():
            if actual.get(field) != value:
                problems.append(f"step {spec['position']} {field}: {actual.get(field)!r} instead of {value!r}")
    return problems


def main():
    args = parse_args()
    url = fresh_database(DB_NAME, "bench/drafting.py")
    os.environ.update(
        {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.test", "DJANGO_ALLOW_ASYNC_UNSAFE": "true"}
    )
    import django

    django.setup()
    from django.core.management import call_command

    from changeplans.models import Plan
    from demo.plans import DEMO_PASSWORD, DEMO_STEPS, DEMO_TITLE, load_demo, save_copy_of_seed

    call_command("migrate", verbosity=0)
    seed = load_demo()
    plan = save_copy_of_seed(
        seed,
        title=f"Черновик с клавиатуры: {DEMO_TITLE}",
        window_start=seed.window_start,
        window_end=seed.window_end,
    )

    from playwright.sync_api import expect, sync_playwright

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(RESULTS.with_name("drafting-server.log"), "ab") as log:
        server = start_server(port, log)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    base_url=f"http://127.0.0.1:{port}", viewport={"width": args.width, "height": 900}, locale="ru-RU"
                )
                context.set_default_timeout(60_000)
                expect.set_options(timeout=60_000)
                page = context.new_page()
                errors = []
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.on(
                    "response",
                    lambda r: r.status >= 400 and errors.append(f"{r.request.method} {r.url} answered {r.status}"),
                )
                page.goto("/login/")
                page.fill("#id_username", seed.author.username)
                page.fill("#id_password", DEMO_PASSWORD)
                with page.expect_navigation():
                    page.locator("main form button[type=submit]").click()
                started = time.monotonic()
                kb, filled, values = draft(page, plan.pk, DEMO_STEPS)
                seconds = time.monotonic() - started
                browser.close()
        finally:
            stop(server)

    plan = Plan.objects.get(pk=plan.pk)
    problems = compare(plan, DEMO_STEPS) + [f"JavaScript error: {error}" for error in errors]
    result = {
        "steps": len(DEMO_STEPS),
        "cells_filled": filled,
        "values_filled": values,
        "actions": kb.actions,
        "clicks": 0,
        "characters": kb.chars,
        "actions_per_cell": round(kb.actions / filled, 2),
        "actions_per_value": round(kb.actions / values, 2),
        "seconds": round(seconds, 1),
        "width": args.width,
        "keys": {key: kb.log.count(key) for key in sorted(set(kb.log))},
        "problems": problems,
    }
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2))
    print(f"| seed plan, {len(DEMO_STEPS)} steps, keyboard only | figure |")
    print("| --- | --- |")
    print(f"| cells filled (risks and rollback of a step: one cell each) | {filled} |")
    print(f"| values filled (each risk and each rollback action counted) | {values} |")
    print(f"| actions besides text (keys; clicks: 0) | {kb.actions} |")
    print(f"| characters typed | {kb.chars} |")
    print(f"| **actions per cell filled** (floor 1.0, goal ≤ 1.2) | **{result['actions_per_cell']}** |")
    print(f"| actions per value filled | {result['actions_per_value']} |")
    print(f"| keys | {', '.join(f'{key} × {n}' for key, n in result['keys'].items())} |")
    print(f"| wall time (the bench types without pauses) | {result['seconds']} s |")
    if not args.keep_db:
        drop_database(url)
    if problems:
        print("\nThe plan typed differs from the seed:\n- " + "\n- ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
