"""Names after «за» in the genitive (common.names): pymorphy3 where it knows the surname, the Russian surname endings
where it does not, the nominative when neither is sure. Break it by hand: make `genitive_surname` return None and
every declined row below fails."""

import pytest
from django.utils import translation

from common.names import genitive_name, name_after_for

DECLINED = [
    # pymorphy3 does not know these as surnames: the endings decline them
    ("Турчанинов П.В.", "Турчанинова П.В."),
    ("Кочетов В.Н.", "Кочетова В.Н."),
    ("Хасанов А.И.", "Хасанова А.И."),
    ("Бочарников В.В.", "Бочарникова В.В."),
    ("Королёв С.П.", "Королёва С.П."),
    ("Шпагин А.В.", "Шпагина А.В."),
    ("Матвеев И.Б.", "Матвеева И.Б."),
    ("Маевский Р.А.", "Маевского Р.А."),
    ("Трубецкой С.П.", "Трубецкого С.П."),
    ("Барабанщикова О.И.", "Барабанщиковой О.И."),
    ("Кузьмина О.В.", "Кузьминой О.В."),
    ("Достоевская А.Г.", "Достоевской А.Г."),
    # the dictionary's surnames
    ("Иванов П.С.", "Иванова П.С."),
    ("Иванова П.С.", "Ивановой П.С."),
    ("Толстой Л.Н.", "Толстого Л.Н."),
    ("Толстая С.А.", "Толстой С.А."),
    ("Пушкин А.С.", "Пушкина А.С."),
    ("Горький М.", "Горького М."),
    ("Петров-Водкин К.С.", "Петрова-Водкина К.С."),
    ("Иванов П. С.", "Иванова П. С."),
]

UNCHANGED = [
    "Марченко М.С.",  # -ко
    "Шевченко Т.Г.",
    "Черных И.И.",  # -ых, -их
    "Белых А.",
    "Кикнадзе Г.Г.",  # -дзе
    "Церетели З.К.",
    "Мельник А.А.",  # a man's name declines, a woman's does not: the initials cannot tell
    "Кобзон И.Д.",
    "Ким Р.",
    "Smith J.",
    "НЭС Дежурный",  # not «Фамилия И.О.»
    "Оператор",
    "Иванов Пётр Сергеевич",
    "",
]


@pytest.mark.parametrize(("nominative", "genitive"), DECLINED)
def test_surnames_decline_into_the_genitive(nominative, genitive):
    assert genitive_name(nominative) == genitive


@pytest.mark.parametrize("name", UNCHANGED)
def test_unsure_names_stay_in_the_nominative(name):
    assert genitive_name(name) == name


def test_a_known_gender_chooses_or_refuses():
    # «Иванова» is a woman's nominative or a man's genitive: a man is never declined from it
    assert genitive_name("Иванова П.С.", "f") == "Ивановой П.С."
    assert genitive_name("Иванова П.С.", "m") == "Иванова П.С."
    assert genitive_name("Турчанинов П.В.", "m") == "Турчанинова П.В."
    assert genitive_name("Турчанинов П.В.", "f") == "Турчанинов П.В."


def test_only_russian_declines():
    with translation.override("ru"):
        assert name_after_for("Турчанинов П.В.") == "Турчанинова П.В."
    with translation.override("en"):
        assert name_after_for("Турчанинов П.В.") == "Турчанинов П.В."
