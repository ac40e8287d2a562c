"""The archive PDF's appendix "Automation": commands and logs of production runs, never a secret."""

import base64
import datetime
import io
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.translation import gettext
from pypdf import PdfReader

from changeplans.pdf import render_plan_html, render_plan_pdf
from runbooks import pdf as runbook_pdf
from runbooks.choices import RunMode, RunStatus
from runbooks.models import AutomationRun, Cluster, Secret
from tests.factories import PlanFactory, StepFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

UTC = datetime.UTC
SECRET_VALUE = "Zq8-registry-PASSWORD-41d9"
KUBE_TOKEN = "kube-token-from-the-kubeconfig-77aa"
KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: prod, cluster: {{server: "https://10.0.0.1:6443"}}}}]
users: [{{name: admin, user: {{token: {KUBE_TOKEN}}}}}]
contexts: [{{name: prod, context: {{cluster: prod, user: admin}}}}]
current-context: prod
"""


@pytest.fixture(autouse=True)
def registered():
    runbook_pdf.register()


def squash(text):
    return re.sub(r"\s+", " ", text)


def pdf_text(pdf):
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def plan_with_runs():
    operator = UserFactory(username="operator", last_name="Петров", first_name="П.П.", roles=["operator"])
    plan = PlanFactory(title="Обслуживание узлов")
    drain = StepFactory(plan=plan, position=1, name="Вывести узел worker-1")
    update = StepFactory(plan=plan, position=2, name="Обновить пакеты")
    Secret.objects.create(name="registry", value=SECRET_VALUE)
    Cluster.objects.create(name="prod-1", kubeconfig=KUBECONFIG)
    start = datetime.datetime(2025, 3, 20, 13, 2, 5, tzinfo=UTC)  # 20:02:05 in Novosibirsk
    # Created out of order: the appendix follows the steps.
    AutomationRun.objects.create(
        plan=plan,
        step=update,
        kind="shell",
        mode=RunMode.PRODUCTION,
        status=RunStatus.FAILED,
        timeout_seconds=600,
        command=f"apt-get install -y kubelet --password {SECRET_VALUE}",
        started_by=operator,
        started_at=start + datetime.timedelta(minutes=10),
        finished_at=start + datetime.timedelta(minutes=11),
        exit_code=100,
        log=f"Reading package lists...\nE: login with {SECRET_VALUE} failed\n",
        created_at=start + datetime.timedelta(minutes=10),
    )
    AutomationRun.objects.create(
        plan=plan,
        step=drain,
        kind="kubectl",
        cluster_name="prod-1",
        mode=RunMode.PRODUCTION,
        status=RunStatus.SUCCEEDED,
        timeout_seconds=900,
        command="kubectl --kubeconfig /tmp/kc drain worker-1 --ignore-daemonsets",
        started_by=operator,
        started_at=start,
        finished_at=start + datetime.timedelta(seconds=42),
        exit_code=0,
        log=(
            f"node/worker-1 cordoned\nAuthorization: Bearer {KUBE_TOKEN}\n"
            "evicting pod default/web-5d8f\nnode/worker-1 drained\n" + "x" * 400 + "\n"
        ),
        created_at=start,
    )
    # A rehearsal is not in the appendix.
    AutomationRun.objects.create(
        plan=plan,
        step=drain,
        kind="kubectl",
        mode=RunMode.REHEARSAL,
        status=RunStatus.SUCCEEDED,
        timeout_seconds=900,
        command="kubectl drain worker-1 --dry-run=server",
        log="REHEARSAL-ONLY-LINE\n",
    )
    return plan


def test_the_pdf_shows_commands_and_logs_and_never_a_secret(plan_with_runs, tmp_path):
    pdf = render_plan_pdf(plan_with_runs.pk, language="ru")
    text = pdf_text(pdf)
    flat = squash(text)
    with translation.override("ru"):
        title = gettext("Appendix. Automation")
    assert title in flat
    for line in (
        "kubectl --kubeconfig /tmp/kc drain worker-1 --ignore-daemonsets",
        "node/worker-1 cordoned",
        "evicting pod default/web-5d8f",
        "node/worker-1 drained",
        "Reading package lists...",
        "apt-get install -y kubelet --password ••••••",
        "E: login with •••••• failed",
        "Authorization: Bearer ••••••",
    ):
        assert line in flat, line
    # Never the secret (a Secret row) nor the kubeconfig's token, not even split by line wrapping.
    letters = re.sub(r"\s+", "", text)
    assert SECRET_VALUE not in letters and KUBE_TOKEN not in letters
    assert "REHEARSAL-ONLY-LINE" not in flat
    # Step order, times in the plan's zone, who started, exit codes.
    assert flat.index("Вывести узел worker-1") < flat.index("Обновить пакеты", flat.index(title))
    assert "20:02:05 20.03.2025" in flat and "20:02:47 20.03.2025" in flat and "20:12:05 20.03.2025" in flat
    assert "Петров П.П." in flat and "100" in flat
    # The 400-character line wraps instead of running off the page: all of it is there.
    assert letters.count("x" * 400) == 1 or "x" * 400 in letters

    # A look at the pages (saved for a person; the test only checks they render)
    (tmp_path / "plan.pdf").write_bytes(pdf)
    out = Path(os.environ.get("OKNO_PDF_PNG_DIR", tmp_path))
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            os.environ.get("OKNO_PDF_PNG_DPI", "70"),
            str(tmp_path / "plan.pdf"),
            str(out / "appendix"),
        ],
        check=True,
    )
    assert list(out.glob("appendix*.png"))


def test_no_production_run_no_appendix(db):
    plan = PlanFactory()
    step = StepFactory(plan=plan)
    assert runbook_pdf.appendix(plan) == ""
    AutomationRun.objects.create(
        plan=plan, step=step, kind="shell", mode=RunMode.REHEARSAL, timeout_seconds=5, log="dry\n"
    )
    assert runbook_pdf.appendix(plan) == ""
    with translation.override("en"):
        assert "Appendix. Automation" not in render_plan_html(plan.pk, language="en")


def test_a_long_log_is_cut_with_a_note(db):
    plan = PlanFactory()
    step = StepFactory(plan=plan)
    log = "\n".join(f"line {n}" for n in range(1, 3501))
    run = AutomationRun.objects.create(
        plan=plan, step=step, kind="shell", timeout_seconds=5, status=RunStatus.SUCCEEDED, log=log
    )
    with translation.override("en"):
        html = runbook_pdf.appendix(plan)
    assert "line 3000</pre>" in html and "line 3001" not in html
    assert f"500 more lines are not printed: the full log is in Okno (run No. {run.pk})." in html


def test_one_query_for_the_runs_whatever_their_number(db, django_assert_num_queries):
    plan = PlanFactory()
    Cluster.objects.create(name="prod-1", kubeconfig=KUBECONFIG)
    for position in range(1, 6):
        step = StepFactory(plan=plan, position=position)
        for _ in range(3):
            AutomationRun.objects.create(
                plan=plan,
                step=step,
                kind="kubectl",
                cluster_name="prod-1",
                timeout_seconds=5,
                started_by=UserFactory(),
                log=f"{KUBE_TOKEN}\n",
            )
    # The runs (with steps and people), the secrets, the clusters' kubeconfigs.
    with django_assert_num_queries(3):
        html = runbook_pdf.appendix(plan)
    assert html.count('class="automation-run"') == 15 and KUBE_TOKEN not in html


def test_a_client_key_in_the_kubeconfig_is_redacted_too(db):
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAzfakefakefakefake\n-----END RSA PRIVATE KEY-----\n"
    kubeconfig = KUBECONFIG.replace(
        f"token: {KUBE_TOKEN}", f"client-key-data: {base64.b64encode(key.encode()).decode()}"
    )
    plan = PlanFactory()
    step = StepFactory(plan=plan)
    Cluster.objects.create(name="c1", kubeconfig=kubeconfig)
    AutomationRun.objects.create(
        plan=plan,
        step=step,
        kind="kubectl",
        cluster_name="c1",
        timeout_seconds=5,
        log="MIIEowIBAAKCAQEAzfakefakefakefake\n",
    )
    html = runbook_pdf.appendix(plan)
    assert "MIIEowIBAAKCAQEAzfakefakefakefake" not in html and "••••••" in html
