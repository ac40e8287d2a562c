"""planio.matching: the document's names matched to users, parties, groups and services."""

import pytest
from django.utils import translation

from approvals.choices import RowKind
from changeplans.choices import Role
from planio.matching import annotate, person_key
from planio.parsed import Overrides, ParsedPlan, ParsedSignoff, PersonRef
from tests.factories import PartyFactory, ServiceFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def russian():
    with translation.override("ru"):
        yield


def plan_naming(*people, services=(), signoff=()):
    """people: (name, role, ...) tuples; signoff: (name, kind) rows."""
    parsed = ParsedPlan()
    for name, *roles in people:
        parsed.people[person_key(name)] = PersonRef(key=person_key(name), name=name, roles=list(roles))
    for position, (name, kind) in enumerate(signoff, start=1):
        parsed.signoff.append(
            ParsedSignoff(position=position, job_title="", person_name=name, status_text="", kind=kind)
        )
    for name in services:
        parsed.services[person_key(name)] = PersonRef(key=person_key(name), name=name, roles=["service"])
    return parsed


def ref(parsed, name):
    return parsed.people[person_key(name)]


def test_person_key_folds_case_yo_and_spaces():
    assert person_key("  Хасанов   А.И. ") == "хасанов а.и."
    assert person_key("Семёнов С.С.") == person_key("СЕМЕНОВ  с.с.")


def test_a_user_by_surname_and_initials_case_and_yo_insensitive():
    semenov = UserFactory(username="semenov", last_name="Семёнов", first_name="Сергей Сергеевич")
    parsed = plan_naming(("СЕМЕНОВ с.с.", "curator"), ("Семенов С. С.", "signoff"))

    annotate(parsed, Overrides())

    for name in ("СЕМЕНОВ с.с.", "Семенов С. С."):
        person = ref(parsed, name)
        assert person.match == {"kind": "user", "id": semenov.pk, "label": "Семёнов Сергей Сергеевич"}
        assert person.choice == f"user:{semenov.pk}" and person.sure


def test_a_note_in_brackets_after_the_name_does_not_hide_the_user():
    shpagin = UserFactory(username="shpagin", last_name="Шпагин", first_name="Андрей Викторович")
    parsed = plan_naming(("Шпагин А.В. (Интакт)", "signoff"))
    annotate(parsed, Overrides())
    assert ref(parsed, "Шпагин А.В. (Интакт)").choice == f"user:{shpagin.pk}"


def test_two_users_of_one_short_name_are_both_offered_and_nothing_is_sure():
    first = UserFactory(username="p1", last_name="Петров", first_name="Пётр Петрович")
    second = UserFactory(username="p2", last_name="Петров", first_name="Павел Павлович")
    parsed = plan_naming(("Петров П.П.", "curator"), ("Петров П. П.", "executor"))

    annotate(parsed, Overrides())

    curator, executor = ref(parsed, "Петров П.П."), ref(parsed, "Петров П. П.")
    assert [c["id"] for c in curator.candidates] == [first.pk, second.pk]
    assert (curator.choice, curator.sure, curator.match) == ("", False, None)
    assert (executor.choice, executor.sure, executor.match) == ("new", False, None)


def test_executors_default_to_their_party_then_their_user_then_a_new_party():
    contractor = PartyFactory(name="ООО «ПрофСофт»")
    ivanov = UserFactory(username="ivanov", last_name="Иванов", first_name="Пётр Сергеевич")
    parsed = plan_naming(("ооо «профсофт»", "executor"), ("Иванов П.С.", "executor"), ("Кто-то Новый", "executor"))

    annotate(parsed, Overrides())

    assert ref(parsed, "ооо «профсофт»").choice == f"party:{contractor.pk}"
    assert ref(parsed, "ооо «профсофт»").sure
    assert ref(parsed, "Иванов П.С.").choice == f"user:{ivanov.pk}"
    unknown = ref(parsed, "Кто-то Новый")
    assert (unknown.choice, unknown.sure, unknown.match) == ("new", False, None)


def test_an_unmatched_curator_is_left_empty_and_an_unmatched_approver_as_text():
    parsed = plan_naming(("Никто Н.Н.", "curator"), ("Другой Д.Д.", "signoff"))
    annotate(parsed, Overrides())
    assert (ref(parsed, "Никто Н.Н.").choice, ref(parsed, "Никто Н.Н.").sure) == ("", False)
    assert (ref(parsed, "Другой Д.Д.").choice, ref(parsed, "Другой Д.Д.").sure) == ("text", False)


def test_a_duty_group_acknowledges_by_its_role_label():
    group = UserFactory(username="duty1", roles=[Role.DUTY_OFFICER]).groups.get()
    parsed = plan_naming(
        ("Дежурный НЭС", "signoff"), ("дежурный", "signoff"), signoff=[("Дежурный НЭС", RowKind.ACKNOWLEDGEMENT)]
    )

    annotate(parsed, Overrides())

    person = ref(parsed, "Дежурный НЭС")
    assert person.choice == f"group:{group.pk}" and person.sure
    assert person.match["label"] == "Дежурный"
    # Not an acknowledgement row: a group is never offered for an approval.
    assert ref(parsed, "дежурный").choice == "text"


def test_overrides_win_when_they_name_something_that_exists():
    user = UserFactory(username="someone", last_name="Сидоров", first_name="Сидор")
    party = PartyFactory(name="Команда")
    parsed = plan_naming(("Никто Н.Н.", "curator"), ("Исполнитель", "executor"), ("Третий Т.Т.", "executor"))

    annotate(
        parsed,
        Overrides(
            people={
                person_key("Никто Н.Н."): f"user:{user.pk}",
                person_key("Исполнитель"): f"party:{party.pk}",
                person_key("Третий Т.Т."): "user:999999",  # gone: ignored
            }
        ),
    )

    assert ref(parsed, "Никто Н.Н.").choice == f"user:{user.pk}" and ref(parsed, "Никто Н.Н.").sure
    assert ref(parsed, "Никто Н.Н.").match["label"] == "Сидоров Сидор"
    assert ref(parsed, "Исполнитель").choice == f"party:{party.pk}"
    assert ref(parsed, "Третий Т.Т.").choice == "new" and not ref(parsed, "Третий Т.Т.").sure


def test_services_by_address_or_display_name():
    www = ServiceFactory(name="www.nskes.ru", display_name="Инфосайт")
    lk = ServiceFactory(name="sevice.nskes.ru", display_name="ЛК ЮЛ")
    parsed = plan_naming(services=["WWW.NSKES.RU", "лк юл", "unknown.example.org"])

    annotate(parsed, Overrides())

    assert parsed.services[person_key("WWW.NSKES.RU")].choice == f"service:{www.pk}"
    assert parsed.services[person_key("лк юл")].choice == f"service:{lk.pk}"
    unknown = parsed.services[person_key("unknown.example.org")]
    assert (unknown.choice, unknown.sure) == ("skip", False)

    annotate(parsed, Overrides(services={person_key("unknown.example.org"): f"service:{www.pk}"}))
    assert parsed.services[person_key("unknown.example.org")].choice == f"service:{www.pk}"


def test_a_fixed_number_of_queries_however_many_names(django_assert_max_num_queries):
    for n in range(30):
        UserFactory(username=f"u{n}", last_name=f"Фамилия{n}", first_name="Имя Отчество")
        PartyFactory(name=f"Подрядчик {n}")
        ServiceFactory(name=f"s{n}.example.org", display_name=f"Сервис {n}")
    UserFactory(username="duty1", roles=[Role.DUTY_OFFICER])

    def names(count):
        return plan_naming(
            *[(f"Фамилия{n} И.О.", "executor", "signoff") for n in range(count)],
            *[(f"Подрядчик {n}", "executor") for n in range(count)],
            services=[f"s{n}.example.org" for n in range(count)],
            signoff=[("Дежурный", RowKind.ACKNOWLEDGEMENT)],
        )

    few, many = names(2), names(30)
    with django_assert_max_num_queries(5) as captured:
        annotate(few, Overrides(people={person_key("Фамилия0 И.О."): "user:1"}))
    with django_assert_max_num_queries(len(captured.captured_queries)):
        annotate(many, Overrides(people={person_key(f"Фамилия{n} И.О."): "text" for n in range(30)}))
    assert all(ref(many, f"Подрядчик {n}").choice.startswith("party:") for n in range(30))
