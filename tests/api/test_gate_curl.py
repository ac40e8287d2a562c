"""The gate from a pipeline's side: real curl and scripts/gate-check.sh against a real server (docs/gate.md).

Exit codes the CI examples rely on: `curl --fail` 0 allowed, 22 blocked (HTTP 423); gate-check.sh 0 allowed,
1 blocked, 2 error.
"""

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import timezone

from api.choices import TokenScope
from api.tokens import issue_token
from changeplans.choices import PlanStatus
from changeplans.models import Plan, PlanService
from tests.factories import PlanFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gate-check.sh"
CURL = shutil.which("curl")


@pytest.fixture
def gate(live_server, transactional_db):
    """A real server, a read-only token, a service with an open approved window and one with a plan in review."""
    if CURL is None:
        pytest.fail("curl is not installed (apt-get install curl): the gate's CI examples need it")
    user = UserFactory(username="gitlab-ci")
    _token, plaintext = issue_token(
        user, name="GitLab CI", scope=TokenScope.READ, expires_at=timezone.now() + datetime.timedelta(days=30)
    )
    now = timezone.now().replace(microsecond=0)
    window = {"window_start": now - datetime.timedelta(minutes=30), "window_end": now + datetime.timedelta(hours=3)}
    plans = {}
    for name, status in (("open.example.org", PlanStatus.APPROVED), ("review.example.org", PlanStatus.IN_REVIEW)):
        plan = PlanFactory(title=f"Работы на {name}", **window)
        Plan.objects.filter(pk=plan.pk).update(status=status)
        PlanService.objects.create(plan=plan, service=ServiceFactory(name=name))
        plans[name] = plan
    return {"url": live_server.url, "token": plaintext, "plans": plans}


def run_script(gate, *args, path=None, **env):
    environ = {
        "PATH": path or os.environ["PATH"],
        "OKNO_URL": gate["url"],
        "OKNO_TOKEN": gate["token"],
        "OKNO_LANGUAGE": "en",
        **env,
    }
    return subprocess.run(
        ["/bin/sh", str(SCRIPT), *args], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def curl_fail(gate, service, fail="--fail"):
    return subprocess.run(
        [
            CURL,
            "-sS",
            fail,
            "-G",
            "--data-urlencode",
            f"service={service}",
            "-H",
            f"Authorization: Bearer {gate['token']}",
            f"{gate['url']}/api/v1/gate/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_curl_fail_exits_0_when_allowed_and_22_when_blocked(gate):
    allowed = curl_fail(gate, "open.example.org")
    assert allowed.returncode == 0, allowed.stderr
    assert '"decision":"allowed"' in allowed.stdout

    blocked = curl_fail(gate, "review.example.org")
    assert blocked.returncode == 22
    assert "423" in blocked.stderr
    # --fail-with-body: the same exit code, and the reasons reach the job's log
    with_body = curl_fail(gate, "review.example.org", fail="--fail-with-body")
    assert with_body.returncode == 22
    assert '"decision":"blocked"' in with_body.stdout


def test_the_script_exits_0_allowed_and_1_blocked(gate):
    allowed = run_script(gate, "--service", "open.example.org")
    assert allowed.returncode == 0, allowed.stderr
    plan = gate["plans"]["open.example.org"]
    assert allowed.stdout.splitlines()[0] == "Okno gate: ALLOWED"
    assert f"Plan #{plan.pk} “Работы на open.example.org” is approved and its window is open" in allowed.stdout
    assert f"{gate['url']}/plans/{plan.pk}/" in allowed.stdout

    blocked = run_script(gate, OKNO_SERVICE="review.example.org")  # CI variables instead of flags
    assert blocked.returncode == 1, blocked.stderr
    plan = gate["plans"]["review.example.org"]
    assert blocked.stdout.splitlines()[0] == "Okno gate: BLOCKED"
    assert f"Plan #{plan.pk} “Работы на review.example.org” is in review: it is not approved yet" in blocked.stdout


def test_the_script_passes_at_with_its_offset(gate):
    # Yesterday, in Moscow time: the window was not open; "+03:00" must reach Okno as an offset, not a space
    yesterday = timezone.localtime(
        timezone.now() - datetime.timedelta(days=1), datetime.timezone(datetime.timedelta(hours=3))
    )
    result = run_script(gate, "--service", "open.example.org", "--at", yesterday.isoformat(timespec="seconds"))
    assert result.returncode == 1, result.stderr
    assert "is approved, but its window opens at" in result.stdout


def test_the_script_exits_2_on_errors(gate):
    unknown = run_script(gate, "--service", "nowhere.example.org")
    assert unknown.returncode == 2
    assert "HTTP 400" in unknown.stderr and "There is no service “nowhere.example.org”" in unknown.stderr

    bad_token = run_script(gate, "--service", "open.example.org", OKNO_TOKEN="okno_000000000000_wrong")
    assert bad_token.returncode == 2
    assert "HTTP 401" in bad_token.stderr

    no_target = run_script(gate)
    assert no_target.returncode == 2 and "name a service" in no_target.stderr

    unreachable = run_script(gate, "--service", "open.example.org", OKNO_URL="http://127.0.0.1:9")
    assert unreachable.returncode == 2 and "did not answer" in unreachable.stderr


def test_the_script_needs_only_sh_and_curl(gate, tmp_path):
    # A bare CI image (curlimages/curl): no jq, no python3; the script prints the raw answer instead
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("curl", "mktemp", "rm", "cat", "sed"):
        (bin_dir / tool).symlink_to(shutil.which(tool))

    allowed = run_script(gate, "--service", "open.example.org", path=str(bin_dir))
    blocked = run_script(gate, "--service", "review.example.org", path=str(bin_dir))

    assert allowed.returncode == 0, allowed.stderr
    assert '"decision":"allowed"' in allowed.stdout
    assert blocked.returncode == 1, blocked.stderr
    assert "is in review" in blocked.stdout
