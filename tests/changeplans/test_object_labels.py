"""Labels of rollback actions and banners, as the history stores them: cut at a word, with «…»."""

import pytest

from changeplans.models import Banner, RollbackAction, Service
from tests.factories import RollbackActionFactory

LONG = (
    "Вернуть прежний конфигурационный файл kube-proxy на всех рабочих узлах кластера и перезапустить "
    "сервис с проверкой журналов"
)


def test_a_long_rollback_text_is_cut_at_a_word_with_an_ellipsis():
    label = str(RollbackAction(text=LONG))
    assert label.endswith("…")
    assert len(label) <= 80
    assert LONG.startswith(label[:-1])
    assert LONG[len(label) - 1] == " ", "cut inside a word"


def test_a_short_rollback_text_is_kept_whole():
    assert str(RollbackAction(text="Откатить")) == "Откатить"


def test_a_banner_label_is_cut_at_a_word():
    label = str(Banner(service=Service(name="k8s"), text=LONG)).split(": ", 1)[1]
    assert label.endswith("…") and LONG[len(label) - 1] == " "


@pytest.mark.django_db
def test_the_history_label_of_a_saved_action_is_the_cut_text():
    action = RollbackActionFactory(text=LONG)
    assert str(action) == str(RollbackAction(text=LONG))
