"""A corpus of plans in the seed's family: invented infrastructure work plans in random layouts and formats.

`variants(count, seed)` yields `Variant`s (spec, layout, format) from a seeded random generator, so a run is
repeatable: the same seed gives the same documents. scripts/import_accuracy.py measures the import on them;
tests/planio/test_fixtures_import.py runs a small corpus.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from planio.parsed import STEP_COLUMNS

from .builders import EXTRA_COLUMN_TEXTS, HEADER_SYNONYMS, Layout, PlanSpec, SignoffSpec, StepSpec

FORMATS = ("docx", "xlsx", "html", "html-confluence", "text", "tsv")
WINDOW_LABELS = ("Дата проведения работ", "Дата проведения работ", "Дата и время проведения работ")
# Header wordings seen outside the vocabulary (the recognizer may know some; the rest it must ask about).
RENAMES = {
    "rollback": ("Если что-то пошло не так", "Запасной вариант", "Действия при сбое", "Откат / восстановление"),
    "executor": ("Кто выполняет", "Исполнитель работ", "Ответственный (ФИО)"),
    "expected_result": ("Критерий успешности", "Результат выполнения"),
    "affected_systems": ("Влияние", "Затрагиваемые сервисы"),
    "risk_mitigation": ("Как снизить риски", "Меры"),
    "duration_text": ("Время на выполнение", "Длит."),
}
OPTIONAL_HEADER = ("stated_duration_text", "downtime_text", "mailing_list", "announcement_subject", "curator")
TABLE_TITLES = ("План работ", "Порядок проведения работ")
DURATIONS = ("1 ч 30 мин", "15-30 мин", "до 2 часов", "1,5 часа", "45 минут", "10 мин.", "2-3 часа")
STATUSES = ("НЕ ВЫПОЛНЕНО", "НЕ ВЫПОЛНЕНО", "НЕ ВЫПОЛНЕНО", "ВЫПОЛНЕНО", "В РАБОТЕ", "")
ROLLBACK_TEXTS = (
    "Анализ ошибки, исправление, повторный запуск",
    "Повторить шаг после устранения причины",
    "Вернуть прежнюю версию из резервной копии",
)


@dataclass
class WorkStep:
    """A work step of a plan template; risks as texts, actions as (risk numbers, text)."""

    name: str
    description: str
    expected_result: str
    risks: list[str] = field(default_factory=list)
    mitigation: str = ""
    actions: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    affected_systems: str = "нет"
    planned_downtime: str = "нет"
    duration: str = "30 мин"
    executor: str = ""  # "" → the plan's engineer


@dataclass
class PlanTemplate:
    title: str
    goal: str
    services: list[str]
    service_names: str
    subject: str
    steps: list[WorkStep]
    engineers: list[str]
    client_impact: bool = True
    banner: bool = True
    availability: str = "unavailable"


PLANS: list[PlanTemplate] = [
    PlanTemplate(
        title="Переключение кластера PostgreSQL биллинга на резервный ЦОД",
        goal="Проверить переключение кластера PostgreSQL биллинга на резервную площадку и вернуть его обратно",
        services=["billing.nskes.ru", "lk.nskes.ru"],
        service_names="Биллинг, Личный кабинет",
        subject="Плановое переключение базы данных биллинга",
        engineers=["Соколов Д.А.", "Группа администрирования СУБД", "Петрова Е.В."],
        steps=[
            WorkStep(
                "Остановить фоновые задания биллинга",
                "Перевести планировщик заданий в режим обслуживания, дождаться завершения текущих заданий",
                "Очередь заданий пуста, новые задания не запускаются",
                risks=["Задание расчёта пеней не завершится вовремя"],
                mitigation="Запуск расчёта пеней перенесён на утро",
                actions=[((1,), "Дождаться завершения задания, сдвинуть окно на 30 минут")],
                affected_systems="Биллинг",
                duration="15 мин",
            ),
            WorkStep(
                "Проверить отставание реплики",
                "Проверить pg_stat_replication на основном узле, отставание реплики в резервном ЦОД",
                "Отставание реплики меньше 1 МБ",
                risks=["Реплика отстаёт из-за нагрузки на канал между ЦОД"],
                actions=[((1,), "Дождаться синхронизации; при отставании более 15 минут отменить работы")],
                duration="10 мин",
            ),
            WorkStep(
                "Переключить мастер на резервный ЦОД",
                "Выполнить patronictl switchover --candidate pg-billing-dr-1\nПроверить роль узлов: patronictl list",
                "Узел pg-billing-dr-1 — Leader, остальные — Replica, timeline увеличился на 1",
                risks=[
                    "Переключение не завершится, кластер останется без лидера",
                    "Приложение не переподключится к новому мастеру",
                    "Потеря транзакций, не доехавших до реплики",
                ],
                mitigation="Переключение отработано на тестовом стенде 12.03",
                actions=[
                    ((1,), "Выполнить patronictl failover на прежний мастер"),
                    ((2,), "Перезапустить пулы соединений pgbouncer"),
                    ((3,), "Сверить последние транзакции по журналу приложения и довнести вручную"),
                ],
                affected_systems="Биллинг;\nЛичный кабинет (оплата)",
                planned_downtime="до 5 мин",
                duration="20 мин",
            ),
            WorkStep(
                "Переключить pgbouncer на новый адрес",
                "Обновить адрес мастера в конфигурации pgbouncer, выполнить RELOAD",
                "Приложения подключены к новому мастеру, ошибок соединения нет",
                risks=["Ошибка в конфигурации pgbouncer"],
                actions=[((1,), "Вернуть прежнюю конфигурацию из резервной копии, RELOAD")],
                duration="10 мин",
            ),
            WorkStep(
                "Проверить работу биллинга",
                "Провести тестовый платёж, сформировать тестовый счёт",
                "Платёж проведён, счёт сформирован",
                duration="20 мин",
                executor="Группа сопровождения биллинга",
            ),
            WorkStep(
                "Вернуть мастер в основной ЦОД",
                "Выполнить patronictl switchover --candidate pg-billing-1",
                "Узел pg-billing-1 — Leader",
                risks=["Переключение не завершится", "Рост отставания реплик после переключения"],
                actions=[((1, 2), "Оставить мастер в резервном ЦОД до следующего окна, сообщить куратору")],
                planned_downtime="до 5 мин",
                duration="20 мин",
            ),
            WorkStep(
                "Запустить фоновые задания биллинга",
                "Вывести планировщик из режима обслуживания",
                "Задания запускаются по расписанию",
                duration="5 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Обновление PostgreSQL 13 до 16 на сервере СЭД",
        goal="Обновить СУБД PostgreSQL сервера СЭД до поддерживаемой версии 16",
        services=["sed.nskes.local"],
        service_names="СЭД",
        subject="Обновление СУБД системы электронного документооборота",
        engineers=["Лебедев К.С.", "Группа администрирования СУБД"],
        client_impact=False,
        banner=False,
        steps=[
            WorkStep(
                "Сделать резервную копию базы",
                "Выполнить pg_basebackup на сервер резервного копирования, проверить контрольные суммы",
                "Копия создана, pg_verifybackup без ошибок",
                risks=["Не хватит места на сервере резервного копирования"],
                actions=[((1,), "Удалить копии старше 30 дней и повторить")],
                duration="1 час",
            ),
            WorkStep(
                "Остановить сервер приложений СЭД",
                "systemctl stop sed-app на sed-app-1 и sed-app-2",
                "Сервис остановлен, пользователи видят страницу обслуживания",
                affected_systems="СЭД",
                planned_downtime="2 часа",
                duration="5 мин",
            ),
            WorkStep(
                "Выполнить pg_upgrade",
                "pg_upgrade --link с версии 13 на 16, перенести настройки postgresql.conf и pg_hba.conf",
                "Кластер 16 запущен, данные на месте",
                risks=[
                    "Несовместимые расширения",
                    "pg_upgrade прервётся на середине",
                    "Настройки не перенесутся",
                    "Запросы станут медленнее после обновления",
                ],
                mitigation="Проверка pg_upgrade --check выполнена заранее",
                actions=[
                    ((1, 2), "Запустить прежний кластер 13 из копии каталога данных"),
                    ((3,), "Сравнить настройки с копией и исправить"),
                    ((4,), "Выполнить vacuumdb --analyze-in-stages"),
                ],
                affected_systems="СЭД",
                planned_downtime="2 часа",
                duration="1,5 часа",
            ),
            WorkStep(
                "Обновить статистику",
                "vacuumdb --all --analyze-in-stages",
                "Статистика собрана",
                duration="30 мин",
            ),
            WorkStep(
                "Запустить сервер приложений СЭД",
                "systemctl start sed-app, проверить журнал",
                "СЭД открывается, документы ищутся",
                risks=["Драйвер JDBC не поддерживает новую версию"],
                actions=[((1,), "Обновить драйвер JDBC до 42.7, перезапустить")],
                duration="15 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Обновление узлов кластера Kubernetes PROD до версии 1.29",
        goal="Обновить control plane и рабочие узлы кластера Kubernetes PROD с 1.28 до 1.29",
        services=["www.nskes.ru", "sevice.nskes.ru", "narod.nskes.ru"],
        service_names="Инфосайт, ЛК ЮЛ, ЛК ФЛ",
        subject="Обновление кластера Kubernetes PROD",
        engineers=["ООО «ПрофСофт»", "Хасанов А.И.", "Группа DevOps"],
        availability="degraded",
        steps=[
            WorkStep(
                "Сделать снимок etcd",
                "etcdctl snapshot save на master-1, скопировать снимок в S3",
                "Снимок сохранён, etcdctl snapshot status без ошибок",
                duration="10 мин",
            ),
            WorkStep(
                "Обновить control plane",
                "kubeadm upgrade apply v1.29.4 на master-1, kubeadm upgrade node на master-2 и master-3",
                "kubectl get nodes: control plane версии 1.29.4, все компоненты Ready",
                risks=[
                    "Ошибка kubeadm upgrade",
                    "Недоступность API-сервера",
                    "Несовместимость admission webhook",
                ],
                mitigation="Обновление проверено на кластере TEST",
                actions=[
                    ((1, 2), "Восстановить etcd из снимка, вернуть манифесты статических подов"),
                    ((3,), "Отключить webhook, обновить его чарт"),
                ],
                affected_systems="Kubernetes PROD (API)",
                duration="40 мин",
            ),
            WorkStep(
                "Обновить рабочий узел",
                "kubectl drain, обновить kubelet и kubeadm, kubectl uncordon",
                "Узел Ready, версия kubelet 1.29.4, поды перераспределены",
                risks=[
                    "Поды не выселятся из-за PodDisruptionBudget",
                    "Узел не вернётся в Ready",
                    "Нехватка ресурсов на оставшихся узлах",
                    "Перерывы в работе сервисов с одной репликой",
                ],
                mitigation="Заранее проверить настройки PDB на prod",
                actions=[
                    ((1,), "Временно ослабить PDB, повторить drain"),
                    ((2,), "Откатить пакеты kubelet до 1.28, перезапустить kubelet"),
                    ((3, 4), "Остановить обновление, вернуть узел в работу (uncordon)"),
                ],
                affected_systems="Сервисы на узле",
                planned_downtime="нет",
                duration="30 мин",
            ),
            WorkStep(
                "Проверить работу сервисов",
                "Пройти чек-лист проверки сайтов и личных кабинетов",
                "Все проверки чек-листа пройдены",
                executor="Группа сопровождения приложений",
                duration="20 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Замена сертификатов TLS на балансировщиках",
        goal="Заменить истекающие сертификаты *.nskes.ru на внешних балансировщиках",
        services=["www.nskes.ru", "lk.nskes.ru", "api.nskes.ru"],
        service_names="Инфосайт, Личный кабинет, API",
        subject="Замена сертификатов на сайтах компании",
        engineers=["Ершов М.П.", "Группа сетевого администрирования"],
        availability="available",
        client_impact=False,
        steps=[
            WorkStep(
                "Проверить новый сертификат",
                "Проверить цепочку, срок действия и SAN нового сертификата (openssl x509 -text)",
                "Цепочка полная, SAN содержит все имена",
                risks=["В сертификате нет одного из имён"],
                actions=[((1,), "Перевыпустить сертификат, перенести работы")],
                duration="10 мин",
            ),
            WorkStep(
                "Установить сертификат на lb-1",
                "Загрузить сертификат и ключ, переключить виртуальные серверы на новый профиль SSL",
                "Сайты на lb-1 отдают новый сертификат",
                risks=["Ключ не подходит к сертификату", "Клиенты со старыми ОС не примут цепочку"],
                mitigation="1. Проверить соответствие modulus ключа и сертификата заранее",
                actions=[((1, 2), "Вернуть прежний профиль SSL")],
                affected_systems="Сайты компании",
                duration="15 мин",
            ),
            WorkStep(
                "Установить сертификат на lb-2",
                "Повторить установку на втором балансировщике",
                "Сайты на lb-2 отдают новый сертификат",
                risks=["Рассинхронизация конфигурации пары балансировщиков"],
                actions=[((1,), "Синхронизировать конфигурацию с lb-1")],
                duration="15 мин",
            ),
            WorkStep(
                "Проверить сайты",
                "Проверить сайты из внешней сети: curl -vI, SSL Labs",
                "Оценка SSL Labs не ниже A",
                duration="15 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Замена коммутатора ядра сети в серверной №2",
        goal="Заменить вышедший из строя коммутатор ядра sw-core-2 на новый",
        services=["1c.nskes.local", "mail.nskes.ru", "sed.nskes.local"],
        service_names="1С, Почта, СЭД",
        subject="Работы на сетевом оборудовании",
        engineers=["Никитин Р.О.", "ООО «СетьСервис»", "Группа сетевого администрирования"],
        steps=[
            WorkStep(
                "Сохранить конфигурацию коммутатора",
                "show running-config на sw-core-2, сохранить в репозиторий конфигураций",
                "Конфигурация сохранена в Git",
                duration="10 мин",
            ),
            WorkStep(
                "Перевести трафик на sw-core-1",
                "Выключить порты LACP со стороны sw-core-2, проверить, что трафик идёт через sw-core-1",
                "Потерь пакетов нет, загрузка sw-core-1 меньше 60 %",
                risks=["Перегрузка sw-core-1", "Сервер без второго линка потеряет сеть"],
                mitigation="Список серверов с одним линком согласован с владельцами",
                actions=[((1,), "Включить порты sw-core-2 обратно"), ((2,), "Переключить кабель сервера вручную")],
                affected_systems="Серверы стойки 4",
                planned_downtime="до 10 мин",
                duration="20 мин",
            ),
            WorkStep(
                "Заменить коммутатор",
                "Демонтировать sw-core-2, установить новый, перекоммутировать кабели по схеме",
                "Новый коммутатор установлен, все кабели подключены по схеме",
                risks=["Ошибка коммутации", "Несовместимые трансиверы", "Новый коммутатор неисправен"],
                actions=[
                    ((1,), "Сверить подключение со схемой и переключить"),
                    ((2,), "Заменить трансиверы из ЗИП"),
                    ((3,), "Оставить работу на sw-core-1, вызвать поставщика"),
                ],
                executor="ООО «СетьСервис»",
                duration="1 час",
            ),
            WorkStep(
                "Залить конфигурацию",
                "Загрузить сохранённую конфигурацию, обновить ПО до версии sw-core-1",
                "Конфигурация совпадает с сохранённой",
                risks=["Версия ПО не поддерживает часть конфигурации"],
                actions=[((1,), "Исправить конфигурацию по журналу ошибок загрузки")],
                duration="30 мин",
            ),
            WorkStep(
                "Вернуть трафик на оба коммутатора",
                "Включить порты LACP, проверить состояние агрегатов",
                "Все агрегаты в состоянии up/up",
                risks=["Петля коммутации"],
                actions=[((1,), "Выключить порты нового коммутатора, проверить STP")],
                planned_downtime="до 5 мин",
                duration="20 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Перенос почтовых ящиков на новый сервер Exchange",
        goal="Перенести почтовые ящики отдела продаж на сервер mail-3",
        services=["mail.nskes.ru"],
        service_names="Почта",
        subject="Перенос почтовых ящиков",
        engineers=["Волков С.Н.", "Группа сопровождения почты"],
        availability="degraded",
        client_impact=False,
        banner=False,
        steps=[
            WorkStep(
                "Создать пакет переноса",
                "New-MigrationBatch для 120 ящиков отдела продаж",
                "Пакет создан, синхронизация запущена",
                risks=["Ящики с ошибками в элементах"],
                actions=[((1,), "Увеличить BadItemLimit, перезапустить перенос ящика")],
                duration="20 мин",
            ),
            WorkStep(
                "Завершить перенос",
                "Complete-MigrationBatch, проверить статус всех ящиков",
                "Все ящики в статусе Completed",
                risks=["Часть ящиков не завершит перенос", "Outlook не переподключится"],
                mitigation="Пользователи предупреждены о перезапуске Outlook",
                actions=[
                    ((1,), "Оставить ящики на старом сервере"),
                    ((2,), "Перезапустить Outlook, пересоздать профиль"),
                ],
                duration="1 час",
            ),
            WorkStep(
                "Проверить почту",
                "Отправить и получить тестовые письма с перенесённых ящиков",
                "Письма доходят",
                duration="15 мин",
            ),
        ],
    ),
    PlanTemplate(
        title="Расширение хранилища Ceph кластера виртуализации",
        goal="Добавить три узла хранения в кластер Ceph и перебалансировать данные",
        services=["vdi.nskes.local"],
        service_names="Виртуальные рабочие места",
        subject="Работы на системе хранения данных",
        engineers=["Морозов А.Г.", "Группа виртуализации"],
        availability="degraded",
        steps=[
            WorkStep(
                "Подключить новые узлы",
                "ceph orch host add ceph-7, ceph-8, ceph-9",
                "Узлы видны в ceph orch host ls",
                duration="20 мин",
            ),
            WorkStep(
                "Добавить OSD",
                "ceph orch apply osd --all-available-devices на новых узлах",
                "Все новые OSD up и in",
                risks=["Диски с разметкой не будут добавлены", "Рост задержек при перебалансировке"],
                mitigation="Ограничить osd_max_backfills = 1",
                actions=[((1,), "Очистить диски ceph orch device zap"), ((2,), "Поставить флаг norebalance")],
                affected_systems="Виртуальные рабочие места",
                planned_downtime="нет",
                duration="40 мин",
            ),
            WorkStep(
                "Дождаться перебалансировки",
                "Следить за ceph -s до HEALTH_OK",
                "HEALTH_OK, все PG active+clean",
                risks=["Перебалансировка не завершится до конца окна"],
                actions=[((1,), "Поставить флаг norebalance, продолжить в следующее окно")],
                duration="3-4 часа",
            ),
        ],
    ),
]

APPROVERS = [
    ("рук группы контроля качества и развития ИТ-инфраструктуры", "Кочетов В.Н."),
    ("владелец продукта", "Кузьмина О.В."),
    ("начальник ООФИС", "Маевский Р.А."),
    ("начальник ОРИС", "Марченко М.С."),
    ("Директор по ИТ", "Матвеев И.Б."),
    ("руководитель группы поддержки приложений", "Бочарников В.В."),
    ("инженер", "Турчанинов П.В."),
    ("начальник отдела информационной безопасности", "Григорьев Е.Л."),
]
DUTY = ("Дежурный ООФИС", "Дежурный НЭС")
CURATORS = ("Хасанов А.И.", "Кочетов В.Н.", "Соколов Д.А.", "Ершов М.П.")
SHUFFLES = (
    # Orders seen in the family: the seed's, the date and time first, the rollback next to the risks.
    STEP_COLUMNS,
    ("position", "planned_date", "planned_time", "duration_text", "name", "description", "executor",
     "expected_result", "risks", "risk_mitigation", "rollback", "affected_systems", "planned_downtime", "jira_key",
     "status"),
    ("position", "name", "description", "executor", "planned_date", "planned_time", "duration_text",
     "expected_result", "risks", "risk_mitigation", "rollback", "affected_systems", "planned_downtime", "status",
     "jira_key"),
)  # fmt: skip


@dataclass
class Variant:
    number: int
    spec: PlanSpec
    layout: Layout
    format: str  # one of FORMATS

    @property
    def name(self) -> str:
        return f"{self.number:03d}-{self.format}"


def _announcement_steps(rng: random.Random, template: PlanTemplate, start: datetime.datetime) -> list[StepSpec]:
    duty = rng.choice(DUTY)
    before = start - datetime.timedelta(hours=rng.choice((1, 2, 4)))
    mail = StepSpec(
        name=rng.choice(("Произвести рассылку о плановых работах.", "Рассылка о плановых работах")),
        description="Произвести рассылку о плановых работах по e-mail от it.info и чате ДИТ.",
        expected_result="Рассылка произведена.",
        executor=duty,
        planned_date=before.date(),
        planned_time=before.time(),
        duration_text="5 мин.",
        no_rollback_needed=True,
        affected_systems="нет",
        planned_downtime="нет",
        kind="announcement",
    )
    steps = [mail]
    if template.banner:
        steps.append(
            StepSpec(
                name=rng.choice(("Установить баннеры", "Установить Баннеры", "Установка баннера")),
                description=f"Произвести установку баннеров о проведении технических работ на сервисах "
                f"{template.service_names}",
                expected_result="Баннеры установлены",
                executor=duty,
                planned_date=start.date(),
                planned_time=start.time(),
                duration_text="5 мин",
                no_rollback_needed=True,
                affected_systems="нет",
                planned_downtime="нет",
                kind="banner_on",
            )
        )
    return steps


def _closing_steps(rng: random.Random, template: PlanTemplate, at: datetime.datetime) -> list[StepSpec]:
    duty = rng.choice(DUTY)
    steps = []
    if template.banner:
        steps.append(
            StepSpec(
                name=rng.choice(("Снять баннеры", "Убрать баннеры")),
                description=f"Снять баннеры о проведении технических работ на сервисах {template.service_names}",
                expected_result="Баннеры сняты",
                executor=duty,
                planned_date=at.date(),
                planned_time=at.time() if rng.random() < 0.7 else None,
                duration_text="5 мин",
                no_rollback_needed=True,
                affected_systems="нет",
                planned_downtime="нет",
                kind="banner_off",
            )
        )
    steps.append(
        StepSpec(
            name="Произвести рассылку о завершении работ.",
            description="Произвести рассылку о завершении работ по e-mail от it.info.",
            expected_result="Рассылка произведена.",
            executor=duty,
            planned_date=at.date(),
            planned_time=at.time() if rng.random() < 0.7 else None,
            duration_text="5 мин",
            no_rollback_needed=True,
            affected_systems="нет",
            planned_downtime="нет",
            kind="completion_notice",
        )
    )
    return steps


def _minutes(duration: str) -> int:
    number = int("".join(ch for ch in duration.split()[0].split("-")[0].split(",")[0] if ch.isdigit()) or 1)
    return number * 60 if "час" in duration else number


def _work_step(rng: random.Random, work: WorkStep, template: PlanTemplate, at: datetime.datetime) -> StepSpec:
    risks = list(work.risks)
    actions = list(work.actions)
    mitigations: dict[int, str] = {}
    mitigation = work.mitigation
    if mitigation.startswith("1. ") and risks:
        mitigations = {1: mitigation[3:]}
        mitigation = ""
    no_rollback = False
    if not actions:
        choice = rng.random()
        if choice < 0.4:
            no_rollback = True
        elif choice < 0.8:
            actions = [((), rng.choice(ROLLBACK_TEXTS))]
    tie_style = rng.choice(("slash", "slash", "range", "range-hyphen", "comma"))
    duration = work.duration
    if rng.random() < 0.3:
        duration = rng.choice(DURATIONS)
    return StepSpec(
        name=work.name,
        description=work.description if rng.random() > 0.05 else "",
        expected_result=work.expected_result if rng.random() > 0.05 else "",
        risks=risks,
        risk_mitigation=mitigation,
        risk_mitigations=mitigations,
        affected_systems=work.affected_systems,
        planned_downtime=work.planned_downtime,
        executor=work.executor or rng.choice(template.engineers),
        planned_date=at.date(),
        planned_time=at.time() if rng.random() < 0.9 else None,
        duration_text=duration,
        actions=actions,
        no_rollback_needed=no_rollback,
        jira_key=f"INFRA-{rng.randint(100, 9999)}" if rng.random() < 0.3 else "",
        status=rng.choice(STATUSES),
        tie_style=tie_style,
    )


def make_spec(rng: random.Random, template: PlanTemplate, step_count: int | None = None) -> PlanSpec:
    """A plan from a template: 3–25 steps (or step_count), a window in 2025–2026, often across midnight."""
    day = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randint(0, 700))
    start = datetime.datetime.combine(day, datetime.time(rng.choice((18, 19, 20, 21, 22, 23)), rng.choice((0, 30))))
    head = _announcement_steps(rng, template, start)
    target = step_count or rng.randint(3, 25)
    closing = 2 if template.banner else 1
    works: list[WorkStep] = []
    pool = template.steps
    while len(works) < max(1, target - len(head) - closing):
        work = pool[len(works) % len(pool)]
        if len(works) >= len(pool):
            copy_number = len(works) // len(pool) + 1
            work = dataclasses.replace(work, name=f"{work.name} (этап {copy_number})")
        works.append(work)
    at = start + datetime.timedelta(minutes=5 if template.banner else 0)
    steps = list(head)
    for work in works:
        steps.append(_work_step(rng, work, template, at))
        at += datetime.timedelta(minutes=_minutes(work.duration))
    steps += _closing_steps(rng, template, at)
    end = at + datetime.timedelta(minutes=rng.choice((10, 15, 30)))
    for number, step in enumerate(steps, start=1):
        step.position = number
    approvers = rng.sample(APPROVERS, rng.randint(2, 7))
    signoff = [SignoffSpec(n, title, name) for n, (title, name) in enumerate(approvers, start=1)]
    if rng.random() < 0.6:
        signoff.append(SignoffSpec(len(signoff) + 1, "", rng.choice(DUTY), "НЕ ОЗНАКОМЛЕН", kind="acknowledgement"))
    engineer = rng.choice(template.engineers)
    minutes = int((end - start).total_seconds() // 60)
    stated = ("", f"{minutes} мин", f"{minutes // 60} ч {minutes % 60} мин" if minutes >= 60 else f"{minutes} минут")
    return PlanSpec(
        title=template.title,
        window_start=start,
        window_end=end,
        goal=template.goal,
        services=list(template.services),
        service_names=template.service_names,
        curator=rng.choice(CURATORS),
        stated_duration_text=rng.choice(stated),
        downtime_text=rng.choice(("", "", "30 минут", "нет", "до 1 часа")),
        mailing_list=rng.choice(("", "it.info@nskes.ru")),
        announcement_subject=template.subject,
        announcement_intro="Нам необходимо провести плановые работы для некоторых улучшений",
        client_impact=template.client_impact,
        banner_needed=template.banner,
        responsible=engineer if "." in engineer and "«" not in engineer else "Хасанов А.И.",
        responsible_contact=rng.choice(("+7 (913) 712-71-78", "+7 (383) 228-40-15 <НЭС>", "")),
        availability=template.availability,
        jira_url=rng.choice(("", "", "https://jira.nskes.ru/browse/INFRA-" + str(rng.randint(100, 999)))),
        steps=steps,
        signoff=signoff,
    )


def make_layout(rng: random.Random, fmt: str) -> Layout:
    columns = list(rng.choice(SHUFFLES))
    drop = tuple(
        column
        for column, chance in (("position", 0.2), ("jira_key", 0.3), ("status", 0.2), ("planned_downtime", 0.15))
        if rng.random() < chance
    )
    extras = tuple(rng.sample(sorted(EXTRA_COLUMN_TEXTS), rng.randint(1, 2))) if rng.random() < 0.3 else ()
    synonyms = rng.random() < 0.4
    rename = {}
    if rng.random() < 0.25:
        for key in rng.sample(sorted(RENAMES), rng.randint(1, 2)):
            rename[key] = rng.choice(RENAMES[key])
    text_like = fmt == "text"  # the Word paste cannot show merged cells
    split_at = rng.randint(2, 6) if rng.random() < 0.25 else None
    return Layout(
        columns=tuple(columns),
        drop_columns=drop,
        rename=rename,
        synonyms=synonyms,
        synonym_pick=rng.randint(0, max(len(names) for names in HEADER_SYNONYMS.values())),
        two_row_header=not text_like and rng.random() < 0.3,
        split_at=split_at,
        repeat_header=rng.random() < 0.6,
        extra_columns=extras,
        extra_at=rng.randint(1, 10) if extras and rng.random() < 0.5 else None,
        auto_numbered_lists=fmt in ("docx", "html", "html-confluence") and rng.random() < 0.4,
        time_format=rng.choice((None, ":", "-", ".")),
        short_years=rng.choice((None, True, False)),
        line_breaks=rng.choice(("paragraphs", "breaks")),
        xlsx_typed=fmt == "xlsx" and rng.random() < 0.5,
        header_as_table=rng.random() < 0.15,
        table_title_row="" if text_like or rng.random() > 0.15 else rng.choice(TABLE_TITLES),
        column_numbers_row=not text_like and rng.random() < 0.15,
        empty_rows=rng.choice((0, 0, 0, 1, 2)),
        window_style=rng.choice(("seed", "seed", "date-first", "range", "dash")),
        window_label=rng.choice(WINDOW_LABELS),
        combined_datetime=rng.random() < 0.15,
        position_suffix=rng.choice(("", "", "", ".")),
        no_year_dates=rng.random() < 0.1,
        soft_breaks=fmt in ("docx", "html", "html-confluence", "xlsx") and rng.random() < 0.15,
        crlf=fmt == "text" and rng.random() < 0.5,
        xlsx_offset=rng.choice((0, 0, 1)) if fmt == "xlsx" else 0,
        xlsx_signoff_sheet=fmt == "xlsx" and rng.random() < 0.3,
        signoff_style=rng.choice(("seed", "seed", "dated")),
        section_rows=fmt not in ("text",) and rng.random() < 0.2,
        merge_same=tuple(column for column in ("planned_date", "executor") if rng.random() < 0.2)
        if fmt not in ("text", "tsv")
        else (),
        signoff_first=rng.random() < 0.1,
        drop_header=tuple(key for key in OPTIONAL_HEADER if rng.random() < 0.1),
        announcement=rng.random() > 0.1,
    )


def large_spec(step_count: int = 100, seed: int = 100) -> PlanSpec:
    """A plan of step_count steps (the benchmark's 100-step plan)."""
    rng = random.Random(seed)
    return make_spec(rng, PLANS[2], step_count=step_count)


def variants(count: int = 60, seed: int = 14, formats: tuple[str, ...] = FORMATS) -> Iterator[Variant]:
    rng = random.Random(seed)
    for number in range(count):
        fmt = formats[number % len(formats)]
        template = rng.choice(PLANS)
        spec = make_spec(rng, template)
        layout = _more_layout(random.Random(seed * 1_000_003 + number), make_layout(rng, fmt))
        yield Variant(number=number, spec=spec, layout=layout, format=fmt)


def _more_layout(rng: random.Random, layout: Layout) -> Layout:
    """Layout options added later, drawn from a generator of their own: the earlier options stay as they were."""
    words = layout.combined_datetime and rng.random() < 0.5
    rename = dict(layout.rename)
    if words:
        rename.setdefault("planned_datetime", "Дата/время")
    return dataclasses.replace(
        layout,
        bullet_lists=rng.random() < 0.2,
        executor_contacts=rng.random() < 0.15,
        datetime_words=words,
        rename=rename,
    )
