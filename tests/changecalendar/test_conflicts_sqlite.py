"""The conflicts query on SQLite, the embedded default of `make run` (README): the same answer as on PostgreSQL.

conflicts._pairs_sql writes its own SQL with a branch per database (arrays on PostgreSQL, JSON on SQLite; no
column lists on subqueries, which SQLite lacks). The tests run on PostgreSQL, so this one runs Okno on a SQLite
file in a process of its own: migrate, the demo, then the conflicts of its plans, windows compared as SQLite
stores them (text). Break it by hand: put a column list back on a subquery in _pairs_sql (SQLite refuses the
query), or compare `mine.starts` with `candidate.window_end` the wrong way round (the pairs change).
"""

import json
import os
import subprocess
import sys
import textwrap

from tests.integration.conftest import ROOT

SCRIPT = textwrap.dedent("""
    import json
    import django
    django.setup()
    from django.core.management import call_command
    from changecalendar.conflicts import conflicts_for_plans
    from changeplans.models import Plan
    from demo.plans import load_demo
    from demo.change_calendar import load_calendar_demo

    call_command("migrate", verbosity=0, interactive=False)
    load_demo()
    load_calendar_demo()
    plans = list(Plan.objects.all())
    found = conflicts_for_plans(plans)
    print(json.dumps({
        plan.title: sorted(
            [other.other_title, sorted(reason.kind + ":" + reason.label for reason in other.reasons)]
            for other in found[plan.pk]
        )
        for plan in plans
    }))
""")


def test_the_demo_conflicts_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'okno.sqlite3'}",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    seed = "Установка сетевого плагина Calico в кластере Kubernetes PROD"
    tls = "Продление сертификата TLS на Инфосайте"
    # The seed plan and the TLS plan the demo puts in its window share the service and the person responsible.
    assert [tls, ["executor:Хасанов А.И.", "service:Инфосайт"]] in found[seed]
    assert [seed, ["executor:Хасанов А.И.", "service:Инфосайт"]] in found[tls]
    # Symmetric, and a plan never conflicts with itself.
    for title, others in found.items():
        assert title not in [other for other, _reasons in others]
        for other, reasons in others:
            assert [title, reasons] in found[other]
    assert any(not others for others in found.values())
