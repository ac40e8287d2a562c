"""The demo's runbook library and a cluster to pick when creating a plan from a runbook."""

from .choices import Environment
from .library import install
from .models import Cluster, Runbook


def load_runbook_demo():
    install()
    Cluster.objects.get_or_create(
        name="prod-k8s", defaults={"environment": Environment.PRODUCTION, "description": "PROD Kubernetes (демо: kubeconfig не задан)"},
    )
    return Runbook.objects.filter(archived=False).count()
