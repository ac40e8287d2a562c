import datetime
import zoneinfo

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from changeplans.choices import Role
from changeplans.models import Party, Plan, Risk, RollbackAction, Service, Step

NSK = zoneinfo.ZoneInfo("Asia/Novosibirsk")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = "Иван"
    last_name = factory.Sequence(lambda n: f"Тестов{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("okno-test-password")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role in extracted or ():
            self.groups.add(Group.objects.get_or_create(name=Role(role).value)[0])


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    name = factory.Sequence(lambda n: f"service{n}.example.org")
    display_name = factory.Sequence(lambda n: f"Сервис {n}")


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party

    name = factory.Sequence(lambda n: f"Исполнитель {n}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    title = factory.Sequence(lambda n: f"Плановые работы {n}")
    goal = "Обновить компоненты кластера"
    time_zone = "Asia/Novosibirsk"
    window_start = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=NSK)
    window_end = datetime.datetime(2025, 3, 20, 23, 5, tzinfo=NSK)
    author = factory.SubFactory(UserFactory, roles=[Role.AUTHOR])


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Step

    plan = factory.SubFactory(PlanFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Шаг {n}")
    description = "Описание работ"
    expected_result = "Ожидаемый результат"
    executor = factory.SubFactory(PartyFactory)
    planned_date = datetime.date(2025, 3, 20)
    planned_time = datetime.time(20, 0)
    duration_text = "5 мин"
    duration_min = 5
    duration_max = 5
    no_rollback_needed = True


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Risk

    step = factory.SubFactory(StepFactory)
    number = factory.Sequence(lambda n: n + 1)
    description = "Риск"
    mitigation = "Минимизация"


class RollbackActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RollbackAction

    step = factory.SubFactory(StepFactory)
    text = "Откатить изменения"
