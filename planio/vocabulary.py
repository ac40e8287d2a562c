"""The words plan documents use: column headers, header-block labels, announcement rows, status words.

Everything is compared in `norm()` form (lower case, ё as е, punctuation and line breaks as single spaces), so
"Наименование\\nмероприятия" and "наименование мероприятия" are one header. Synonyms are what teams write in
the seed's family of plans; add to them rather than to the recognizer's code.
"""

import functools
import re

_NON_WORD = re.compile(r"[^\w%№]+")
# "меро-\nприятия": a word hyphenated across a line break in a narrow header cell.
_HYPHENATED = re.compile(r"(\w)-\s*\n\s*(\w)")


@functools.lru_cache(maxsize=32768)
def norm(text: str) -> str:
    text = _HYPHENATED.sub(r"\1\2", text or "")
    return " ".join(_NON_WORD.sub(" ", text.casefold().replace("ё", "е")).split())


# Step table columns (planio.parsed.STEP_COLUMNS and EXTRA_STEP_COLUMNS) → header texts, most specific first.
STEP_HEADERS: dict[str, tuple[str, ...]] = {
    "position": ("п п", "№ п п", "№", "n", "no", "номер", "номер шага", "№ шага", "шаг"),
    "name": (
        "наименование мероприятия",
        "наименование работ",
        "наименование",
        "мероприятие",
        "название",
        "название шага",
        "шаг работ",
        "работа",
        "activity",
        "step",
        "name",
        "наименование этапа",
        "наименование операции",
        "операция",
        "этап",
    ),
    "description": (
        "краткое описание работ",
        "краткое описание",
        "описание работ",
        "описание",
        "содержание работ",
        "действия",
        "description",
        "подробное описание",
        "порядок выполнения",
        "порядок действий",
    ),
    "expected_result": (
        "ожидаемый результат",
        "результат",
        "критерий успеха",
        "expected result",
        "result",
        "критерий успешности",
        "критерии успешности",
        "критерий выполнения",
        "критерий завершения",
        "ожидаемое состояние",
        "результат выполнения",
    ),
    "risks": (
        "возможные риски",
        "риски",
        "риск",
        "possible risks",
        "risks",
        "риски при выполнении",
        "возможные проблемы",
    ),
    "risk_mitigation": (
        "минимизация риска",
        "минимизация рисков",
        "меры по минимизации рисков",
        "снижение рисков",
        "risk mitigation",
        "mitigation",
        "меры снижения рисков",
        "способы минимизации",
        "предупреждающие меры",
        "меры",
    ),
    "affected_systems": (
        "затронутые системы сервисы оборудование влияние на бизнес процессы",
        "затронутые системы сервисы оборудование",
        "затронутые системы",
        "затрагиваемые системы",
        "влияние на бизнес процессы",
        "affected systems",
        "затрагиваемые сервисы",
        "затронутые сервисы",
        "влияние на сервисы",
        "влияние",
    ),
    "planned_downtime": (
        "планируемое время простоя систем",
        "планируемое время простоя",
        "время простоя",
        "простой",
        "planned downtime",
        "downtime",
        "время недоступности",
        "недоступность сервиса",
        "простой сервиса",
    ),
    "executor": (
        "ответственный исполнитель работ",
        "ответственный исполнитель",
        "исполнитель",
        "ответственный",
        "кто выполняет",
        "executor",
        "responsible",
        "исполнители",
        "исполнитель работ",
        "ответственный за выполнение",
    ),
    "planned_date": (
        "дата начала проведения работ",
        "дата начала",
        "дата проведения",
        "дата",
        "start date",
        "date",
        "дата выполнения",
        "плановая дата",
    ),
    "planned_time": (
        "время начала проведения работ",
        "время начала",
        "начало",
        "время",
        "start time",
        "time",
        "плановое время начала",
        "время старта",
    ),
    "duration_text": (
        "продолжительность работ",
        "продолжительность",
        "длительность",
        "время выполнения",
        "duration",
        "плановая продолжительность",
        "длительность работ",
        "время на выполнение",
    ),
    "rollback": (
        "действия если что то пойдет не так",
        "действия при неудаче",
        "план отката",
        "откат",
        "действия по откату",
        "действия если что то пошло не так",
        "если что то пойдет не так",
        "если что то пошло не так",
        "what to do if something goes wrong",
        "rollback",
        "действия при сбое",
        "действия при отказе",
        "действия в случае сбоя",
        "действия в случае неудачи",
        "план возврата",
        "откат изменений",
        "план б",
        "резервный план",
    ),
    "jira_key": (
        "задача в jira",
        "jira",
        "задача",
        "тикет",
        "jira issue",
        "номер задачи",
        "ссылка на задачу",
        "заявка",
    ),
    "status": ("статус работы", "статус", "статус выполнения", "отметка о выполнении", "status"),
    "kind": ("вид", "вид шага", "тип шага", "kind"),
    "planned_datetime": (
        "дата и время начала",
        "дата и время",
        "начало работ дата время",
        "start",
        "дата время",
        "дата время начала",
        "дата и время начала работ",
    ),
}

# Sign-off table columns.
SIGNOFF_HEADERS: dict[str, tuple[str, ...]] = {
    "position": ("№", "п п", "№ п п", "no"),
    "job_title": ("должность", "должность подразделение", "подразделение", "position", "job title"),
    "person_name": (
        "фио",
        "ф и о",
        "согласующий",
        "согласующие",
        "согласующее лицо",
        "фамилия и о",
        "name",
        "full name",
    ),
    "status": ("статус", "статус согласования", "результат согласования", "отметка о согласовании", "status"),
}

# The header block: "Label: value" lines (and label/value rows of a two-column table) → ParsedPlan header keys.
HEADER_LABELS: dict[str, tuple[str, ...]] = {
    "window": (
        "дата проведения работ",
        "дата и время проведения работ",
        "время проведения работ",
        "плановое время проведения работ",
        "период проведения работ",
        "сроки проведения работ",
        "окно работ",
        "окно проведения работ",
        "date of the work",
    ),
    "stated_duration_text": (
        "общая продолжительность работ",
        "продолжительность работ",
        "общая продолжительность",
        "total duration of the work",
    ),
    "downtime_text": (
        "время простоя",
        "возможное время простоя",
        "планируемое время простоя",
        "простой",
        "possible downtime up to",
    ),
    "goal": ("цель работ", "цель проведения работ", "цель", "goal of the work"),
    "services": (
        "недоступные сервисы",
        "затрагиваемые сервисы",
        "затронутые сервисы",
        "недоступные системы",
        "unavailable services",
    ),
    "curator": ("куратор работ", "куратор", "curator"),
    "mailing_list": ("рассылка", "mailing list"),
    "announcement_subject": ("тема", "тема рассылки", "subject"),
    "jira_url": ("задача в jira", "ссылка на jira", "jira"),
}

# The announcement's table of label and value.
ANNOUNCEMENT_LABELS: dict[str, tuple[str, ...]] = {
    "window_start": (
        "время начала",
        "время начала работ",
        "начало работ",
        "дата начала работ",
        "дата и время начала работ",
        "start time",
    ),
    "window_end": (
        "плановое время окончания",
        "время окончания",
        "время окончания работ",
        "окончание работ",
        "дата окончания работ",
        "дата и время окончания работ",
        "planned end time",
    ),
    "service_names": ("влияние на сервисы", "impact on services"),
    "client_impact": ("влияние на клиентов", "impact on clients"),
    "banner_needed": ("наличие баннера", "баннер", "banner"),
    "title": ("план работ", "work plan"),
    "responsible": ("ответственный за работы", "ответственный", "responsible for the work"),
    "availability": ("доступность сервисов во время работ", "availability of services during the work"),
}

# Status words as the seed writes them (shown in the preview, never imported: an import starts over).
STEP_STATUS_WORDS = ("не выполнено", "выполнено", "в работе", "неудача", "пропущено", "откачено")
SIGNOFF_STATUS_WORDS = ("на согласовании", "согласовано", "отклонено", "не ознакомлен", "ознакомлен")

# What a cell says when there is nothing: risks "нет", rollback "нет" (= no rollback needed).
NOTHING = (
    "нет",
    "-",
    "—",
    "–",
    "no",
    "none",
    "не требуется",
    "нет рисков",
    "отсутствуют",
    "отсутствует",
    "риски отсутствуют",
    "не выявлены",
    "риски не выявлены",
    "откат не требуется",
    "не предусмотрен",
    "не предусмотрено",
    "не применимо",
    "н п",
    "n a",
)


# Columns plans have that Okno does not import: named (so a header row is recognised with them), then ignored.
IGNORED_STEP_HEADERS = (
    "примечание",
    "примечания",
    "комментарий",
    "комментарии",
    "замечания",
    "контакт",
    "контакты",
    "телефон",
    "согласовано",
    "согласовано с",
    "подпись",
    "фактическое время",
    "факт",
    "ссылка",
    "note",
    "notes",
    "comment",
    "comments",
)


def step_column_for(header: str) -> tuple[str, bool] | None:
    """The step column a header names and whether the match is exact; None for a header that names none.

    A column plans have but Okno does not import ("Примечание") gives ("", False): IGNORED, a guess to check.
    """
    return _step_column_for_norm(norm(header))


# Every synonym's key, and the synonyms of 4 characters or more by their first character (for the prefix test).
_EXACT_STEP_NAMES: dict[str, str] = {}
for _key, _names in reversed(STEP_HEADERS.items()):  # the first key naming a text wins, as in STEP_HEADERS' order
    _EXACT_STEP_NAMES.update(dict.fromkeys(_names, _key))
_PREFIX_NAMES: dict[str, list[tuple[str, str]]] = {}
for _key, _names in STEP_HEADERS.items():
    for _name in _names:
        if len(_name) >= 4:
            _PREFIX_NAMES.setdefault(_name[0], []).append((_name, _key))


@functools.lru_cache(maxsize=16384)
def _step_column_for_norm(text: str) -> tuple[str, bool] | None:
    """step_column_for on a norm()'d text: called for every cell of every row scored, hence cached."""
    if not text:
        return None
    if text in IGNORED_STEP_HEADERS:
        return "", False
    if text in _EXACT_STEP_NAMES:
        return _EXACT_STEP_NAMES[text], True
    best: tuple[int, str] | None = None
    for name, key in _PREFIX_NAMES.get(text[0], ()):
        if text.startswith(name) or name.startswith(text) and len(text) >= 6:
            if best is None or len(name) > best[0]:
                best = (len(name), key)
    return (best[1], False) if best else None


# Words a header may merely contain: the last resort of `guess_step_column`, always a guess the preview shows.
# Order matters: the first hit wins ("минимизация риска" before "риск", "время простоя" before "время").
STEP_HEADER_WORDS: tuple[tuple[str, str], ...] = (
    ("дата и время", "planned_datetime"),
    ("критери", "expected_result"),
    ("при сбое", "rollback"),
    ("в случае сбоя", "rollback"),
    ("неудач", "rollback"),
    ("недоступн", "planned_downtime"),
    ("минимиз", "risk_mitigation"),
    ("сниж", "risk_mitigation"),
    ("сниз", "risk_mitigation"),
    ("избеж", "risk_mitigation"),
    ("mitigat", "risk_mitigation"),
    ("не так", "rollback"),
    ("откат", "rollback"),
    ("восстановлен", "rollback"),
    ("rollback", "rollback"),
    ("риск", "risks"),
    ("risk", "risks"),
    ("простой", "planned_downtime"),
    ("простоя", "planned_downtime"),
    ("затрон", "affected_systems"),
    ("затрагив", "affected_systems"),
    ("исполнит", "executor"),
    ("ответствен", "executor"),
    ("продолж", "duration_text"),
    ("длит", "duration_text"),
    ("результат", "expected_result"),
    ("описание", "description"),
    ("наименован", "name"),
    ("мероприят", "name"),
    ("название", "name"),
    ("дата", "planned_date"),
    ("время начала", "planned_time"),
    ("начало", "planned_time"),
    ("jira", "jira_key"),
    ("статус", "status"),
)
# A header longer than this is a sentence, not a column name: no guessing from its words.
GUESS_MAX_WORDS = 8


def guess_step_column(header: str) -> tuple[str, bool] | None:
    """`step_column_for`, else a guess from a word the header contains ("Если что-то пошло не так" → rollback)."""
    found = step_column_for(header)
    if found:
        return found
    text = norm(header)
    if not text or len(text.split()) > GUESS_MAX_WORDS:
        return None
    for word, key in STEP_HEADER_WORDS:
        if re.search(rf"(^|\s){re.escape(word)}", text):
            return key, False
    return None
