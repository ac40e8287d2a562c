"""The words plan documents use: column headers, header-block labels, announcement rows, status words.

Everything is compared in `norm()` form (lower case, ё as е, punctuation and line breaks as single spaces), so
"Наименование\\nмероприятия" and "наименование мероприятия" are one header. Synonyms are what teams write in
the seed's family of plans; add to them rather than to the recognizer's code.
"""

import re

_NON_WORD = re.compile(r"[^\w%№]+")
# "меро-\nприятия": a word hyphenated across a line break in a narrow header cell.
_HYPHENATED = re.compile(r"(\w)-\s*\n\s*(\w)")


def norm(text: str) -> str:
    text = _HYPHENATED.sub(r"\1\2", text or "")
    return " ".join(_NON_WORD.sub(" ", text.casefold().replace("ё", "е")).split())


# Step table columns (planio.parsed.STEP_COLUMNS and EXTRA_STEP_COLUMNS) → header texts, most specific first.
STEP_HEADERS: dict[str, tuple[str, ...]] = {
    "position": ("п п", "№ п п", "№", "n", "no", "номер", "номер шага", "№ шага", "шаг", "#"),
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
    ),
    "description": (
        "краткое описание работ",
        "краткое описание",
        "описание работ",
        "описание",
        "содержание работ",
        "действия",
        "description",
    ),
    "expected_result": ("ожидаемый результат", "результат", "критерий успеха", "expected result", "result"),
    "risks": ("возможные риски", "риски", "риск", "possible risks", "risks"),
    "risk_mitigation": (
        "минимизация риска",
        "минимизация рисков",
        "меры по минимизации рисков",
        "снижение рисков",
        "risk mitigation",
        "mitigation",
    ),
    "affected_systems": (
        "затронутые системы сервисы оборудование влияние на бизнес процессы",
        "затронутые системы сервисы оборудование",
        "затронутые системы",
        "затрагиваемые системы",
        "влияние на бизнес процессы",
        "affected systems",
    ),
    "planned_downtime": (
        "планируемое время простоя систем",
        "планируемое время простоя",
        "время простоя",
        "простой",
        "planned downtime",
        "downtime",
    ),
    "executor": (
        "ответственный исполнитель работ",
        "ответственный исполнитель",
        "исполнитель",
        "ответственный",
        "кто выполняет",
        "executor",
        "responsible",
    ),
    "planned_date": ("дата начала проведения работ", "дата начала", "дата проведения", "дата", "start date", "date"),
    "planned_time": (
        "время начала проведения работ",
        "время начала",
        "начало",
        "время",
        "start time",
        "time",
    ),
    "duration_text": (
        "продолжительность работ",
        "продолжительность",
        "длительность",
        "время выполнения",
        "duration",
    ),
    "rollback": (
        "действия если что то пойдет не так",
        "действия при неудаче",
        "план отката",
        "откат",
        "действия по откату",
        "what to do if something goes wrong",
        "rollback",
    ),
    "jira_key": ("задача в jira", "jira", "задача", "тикет", "jira issue"),
    "status": ("статус работы", "статус", "status"),
    "kind": ("вид", "вид шага", "тип шага", "kind"),
    "planned_datetime": ("дата и время начала", "дата и время", "начало работ дата время", "start"),
}

# Sign-off table columns.
SIGNOFF_HEADERS: dict[str, tuple[str, ...]] = {
    "position": ("№", "п п", "№ п п", "no"),
    "job_title": ("должность", "position", "job title"),
    "person_name": ("фио", "ф и о", "согласующий", "name", "full name"),
    "status": ("статус", "статус согласования", "status"),
}

# The header block: "Label: value" lines (and label/value rows of a two-column table) → ParsedPlan header keys.
HEADER_LABELS: dict[str, tuple[str, ...]] = {
    "window": ("дата проведения работ", "дата и время проведения работ", "время проведения работ", "date of the work"),
    "stated_duration_text": ("общая продолжительность работ", "продолжительность работ", "total duration of the work"),
    "downtime_text": ("время простоя", "possible downtime up to"),
    "goal": ("цель работ", "цель", "goal of the work"),
    "services": ("недоступные сервисы", "unavailable services"),
    "curator": ("куратор работ", "куратор", "curator"),
    "mailing_list": ("рассылка", "mailing list"),
    "announcement_subject": ("тема", "тема рассылки", "subject"),
    "jira_url": ("задача в jira", "ссылка на jira", "jira"),
}

# The announcement's table of label and value.
ANNOUNCEMENT_LABELS: dict[str, tuple[str, ...]] = {
    "window_start": ("время начала", "start time"),
    "window_end": ("плановое время окончания", "время окончания", "planned end time"),
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
NOTHING = ("нет", "-", "—", "–", "no", "none", "не требуется", "нет рисков", "отсутствуют", "n a")


def step_column_for(header: str) -> tuple[str, bool] | None:
    """The step column a header names and whether the match is exact; None for a header that names none."""
    text = norm(header)
    if not text:
        return None
    for key, names in STEP_HEADERS.items():
        if text in names:
            return key, True
    best: tuple[int, str] | None = None
    for key, names in STEP_HEADERS.items():
        for name in names:
            if len(name) >= 4 and (text.startswith(name) or name.startswith(text) and len(text) >= 6):
                if best is None or len(name) > best[0]:
                    best = (len(name), key)
    return (best[1], False) if best else None
