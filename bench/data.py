"""Benchmark plans: N steps in the seed's style (Cyrillic texts, 2–3 risks with mitigations, a rollback each).

The users, services, parties and sign-off matrix come from the demo data (demo.plans.load_demo),
so a benchmark plan has the same header and 11-row matrix as the seed plan.
"""

import datetime
import zoneinfo

from django.contrib.auth import get_user_model
from django.db import transaction

from changeplans.choices import Availability, EventKind, PlanStatus
from changeplans.models import Party, Plan, PlanEvent, PlanService, Risk, RollbackAction, Service, Step
from demo.plans import CONTRACTOR_PARTY, DEMO_TIME_ZONE, DUTY_PARTY, KHASANOV_PARTY, load_demo

TZ = zoneinfo.ZoneInfo(DEMO_TIME_ZONE)
WINDOW_START = datetime.datetime(2025, 3, 20, 20, 0, tzinfo=TZ)
STEP_SPACING = datetime.timedelta(hours=3)  # steps run one after another; each is "2-3 часа"
DURATION = "2-3 часа"

NODES = [f"k8s-prod-worker-{n:02d}" for n in range(1, 41)]

# (name, description, expected result, affected systems, [(risk, mitigation)], rollback)
TEMPLATES = [
    (
        "Вывести узел {node} из балансировки",
        "Произвести:\n- cordon узла {node};\n- drain узла {node} с учётом PodDisruptionBudget;\n"
        "- проверить, что поды переехали на другие узлы",
        "Узел {node} в состоянии SchedulingDisabled, на нём нет подов приложений. Сервисы доступны, в логах нет ошибок",
        "Prod среда;\nKubernetes, узел {node}",
        [
            ("Drain зависает на поде без реплик", "Заранее проверить настройки PDB на prod и количество реплик"),
            (
                "Нехватка ресурсов на оставшихся узлах",
                "Проверить запас CPU и памяти кластера по Prometheus перед началом",
            ),
            (
                "Долгое завершение подов с большим grace period",
                "Согласовать с владельцами сервисов допустимое время остановки",
            ),
        ],
        "Вернуть узел {node} в работу (uncordon), проанализировать причину, повторить drain после устранения",
    ),
    (
        "Обновить kubelet и kubeadm на узле {node}",
        "Обновить пакеты kubeadm, kubelet и kubectl на узле {node} до целевой версии (на одну минорную версию), "
        "выполнить kubeadm upgrade node, перезапустить kubelet",
        "Узел {node} в статусе Ready с новой версией kubelet, kube-proxy и CNI работают, в журнале kubelet нет ошибок",
        "Prod среда;\nKubernetes",
        [
            (
                "Несовместимость версии kubelet с control plane",
                "Обновлять строго на одну минорную версию, сверить матрицу совместимости",
            ),
            (
                "Kubelet не стартует после обновления пакетов",
                "Сохранить конфигурацию kubelet и пакеты предыдущей версии в локальном репозитории",
            ),
        ],
        "Откатить пакеты kubelet и kubeadm на предыдущую версию, перезапустить kubelet, вернуть узел в работу",
    ),
    (
        "Перевыпустить сертификаты control plane",
        "Проверить сроки действия сертификатов (kubeadm certs check-expiration), "
        "перевыпустить сертификаты API-сервера, etcd и kubelet-client, перезапустить статические поды control plane",
        "Сертификаты действительны ещё год, API-сервер отвечает, kubectl get nodes работает с новым kubeconfig",
        "Prod среда;\nKubernetes API, CI/CD (деплой недоступен)",
        [
            (
                "Истёкший сертификат у клиента CI/CD",
                "Заранее подготовить и раздать обновлённые kubeconfig для сервисных учётных записей",
            ),
            (
                "Статические поды не перезапускаются",
                "Перезапускать control plane по одному узлу, проверять здоровье etcd после каждого",
            ),
            ("Расхождение времени на узлах", "Проверить синхронизацию NTP на всех узлах перед работами"),
        ],
        "Восстановить каталог /etc/kubernetes/pki из резервной копии, перезапустить kubelet, проверить доступ к API",
    ),
    (
        "Создать резервную копию Velero",
        "Запустить velero backup create для пространств имён prod с моментальными снимками томов, "
        "дождаться завершения и проверить отчёт",
        "Резервная копия в статусе Completed, ошибок и предупреждений нет, копия видна в хранилище S3 Minio",
        "S3 Minio;\nKubernetes, тома приложений",
        [
            ("Нехватка места в хранилище S3", "Проверить свободное место в бакете и политику хранения заранее"),
            (
                "Снимки томов не создаются для части PVC",
                "Проверить VolumeSnapshotClass и права сервисной учётной записи Velero на тестовом кластере",
            ),
        ],
        "Повторить резервное копирование после устранения ошибки; "
        "при повторной ошибке остановить работы до получения копии",
    ),
    (
        "Миграция сетевого плагина на Calico на узле {node}",
        "Произвести:\n- установку Calico на узле {node};\n- переход с Flannel на Calico;\n"
        "- проверку сетевых политик между подами",
        "На узле {node} работает calico-node, поды получают адреса из пула Calico, сетевые политики применяются, "
        "связность между подами подтверждена тестами",
        "Prod среда;\nKubernetes, сеть подов",
        [
            (
                "Неправильная конфигурация IPAM",
                "Собрать информацию о соответствии конфигурации dev и prod среды предварительно",
            ),
            (
                "Перерывы в сетевых соединениях",
                "Поэтапная миграция по одному узлу, мониторинг сети с помощью Prometheus",
            ),
            (
                "Проблемы с маршрутизацией между подами",
                "Проверить BGP-пиринг и таблицы маршрутов после миграции каждого узла",
            ),
        ],
        "Убить под с конфликтующим адресом и мониторить дальнейшую ситуацию по логам, провести диагностику, "
        "перезапустить ресурсы; при неустранимой ошибке вернуть Flannel на узле {node}",
    ),
    (
        "Раскатить раннер GitLab на узел {node}",
        "Деплой раннера на выделенные для проектов ноды (узел {node}), регистрация в GitLab",
        "Раннер запустился и зарегистрировался в GitLab. В логах нет ошибок",
        "GitLab CI/CD",
        [
            ("Раннер не регистрируется из-за токена", "Проверить срок действия регистрационного токена накануне"),
            (
                "Нет доступа к реестру образов",
                "Проверить сетевые политики и учётные данные реестра на тестовом кластере",
            ),
        ],
        "Анализ ошибки, исправление, повторный деплой",
    ),
    (
        "Проверить работу сервисов после изменений",
        "Проверить доступность сервисов Инфосайт, ЛК ЮЛ, ЛК ФЛ, МП Платосфера: авторизация, оплата, выгрузка счетов; "
        "просмотреть дашборды Grafana и алерты Alertmanager",
        "Все сервисы отвечают, время ответа в пределах нормы, новых алертов нет",
        "www.nskes.ru, sevice.nskes.ru, narod.nskes.ru, platosfera.ru",
        [
            ("Деградация времени ответа сервисов", "Сравнить показатели с базовой линией за прошлую неделю"),
            ("Ошибки авторизации в ЛК ФЛ", "Подготовить тестовые учётные записи для проверки заранее"),
        ],
        "Зафиксировать проблему в Jira, привлечь владельца продукта, "
        "при критичной ошибке выполнить откат предыдущего шага",
    ),
    (
        "Обновить манифесты сетевых политик",
        "Применить обновлённые NetworkPolicy для пространств имён prod: "
        "сегментация трафика между подами по ролям и зонам безопасности",
        "Политики применены, разрешённый трафик проходит, запрещённый блокируется (проверено тестами связности)",
        "Prod среда;\nKubernetes, межсервисное взаимодействие",
        [
            (
                "Ошибки в настройке сетевых политик",
                "Проверить политики на тестовом кластере, сверить с матрицей взаимодействий",
            ),
            ("Блокировка трафика мониторинга", "Явно разрешить трафик от Prometheus во все пространства имён"),
            (
                "Недостаточная подготовка команды",
                "Ознакомление всех участников с инструкцией по внедрению и эксплуатации",
            ),
        ],
        "Получить конфигурацию сетевых политик с текущего кластера, найти ошибку и исправить; "
        "при необходимости применить сохранённые манифесты предыдущей версии",
    ),
    (
        "Вернуть узел {node} в работу",
        "Выполнить uncordon узла {node}, проверить, что планировщик размещает на нём поды, "
        "выровнять нагрузку между узлами",
        "Узел {node} в статусе Ready, на нём запущены поды приложений, нагрузка распределена",
        "Prod среда;\nKubernetes",
        [
            ("Поды не размещаются на узле из-за taint", "Проверить taints и метки узла до и после работ"),
            (
                "Неравномерное распределение нагрузки",
                "Использовать descheduler или перезапуск деплойментов по согласованию",
            ),
        ],
        "Снова вывести узел {node} из работы (cordon), проанализировать журналы kubelet и containerd",
    ),
    (
        "Обновить S3 Minio",
        "Обновить Minio на выделенных для проекта нодах до новой версии, "
        "поочерёдно перезапуская экземпляры распределённого кластера",
        "Приложение запустилось, в логах нет ошибок, доступен административный веб-интерфейс, бакеты читаются",
        "S3 Minio;\nрезервное копирование Velero",
        [
            ("Потеря кворума при перезапуске", "Перезапускать экземпляры строго по одному, дожидаясь восстановления"),
            (
                "Несовместимость формата метаданных",
                "Изучить заметки к выпуску и проверить обновление на тестовом стенде",
            ),
            (
                "Недоступность резервных копий во время работ",
                "Не запускать резервное копирование Velero во время обновления",
            ),
        ],
        "Вернуть предыдущий образ Minio, перезапустить экземпляры по одному, проверить целостность бакетов",
    ),
]

EXECUTORS = [CONTRACTOR_PARTY, KHASANOV_PARTY, DUTY_PARTY]


def _fill(text, node):
    return text.format(node=node)


def create_plan(n_steps, *, label):
    """A draft plan of the demo author with n_steps steps; returns the Plan."""
    from approvals.models import ApprovalRow

    demo = load_demo()
    author = get_user_model().objects.get(username="khasanov")
    parties = {party.name: party for party in Party.objects.all()}
    window_end = WINDOW_START + STEP_SPACING * max(n_steps, 1) + datetime.timedelta(minutes=5)
    with transaction.atomic():
        plan = Plan(
            title=f"Плановое обслуживание кластера Kubernetes PROD ({label})",
            goal=(
                "Обновить узлы кластера Kubernetes PROD, перейти на сетевой плагин Calico, "
                "перевыпустить сертификаты и проверить резервное копирование"
            ),
            time_zone=DEMO_TIME_ZONE,
            window_start=WINDOW_START,
            window_end=window_end,
            downtime_text="30 мин",
            client_impact=True,
            banner_needed=True,
            curator=author,
            responsible=parties[KHASANOV_PARTY],
            jira_url="https://jira.example.org/browse/OPS-1234",
            author=author,
        )
        plan.full_clean(exclude=["status"])
        plan.save()
        for service in Service.objects.order_by("pk"):
            PlanService.objects.create(plan=plan, service=service, availability=Availability.UNAVAILABLE)
        for row in ApprovalRow.objects.filter(plan=demo).order_by("position"):
            ApprovalRow.objects.create(
                plan=plan,
                position=row.position,
                kind=row.kind,
                job_title=row.job_title,
                person_name=row.person_name,
                user=row.user,
                group=row.group,
                status=row.status,
            )
        for index in range(n_steps):
            name, description, expected, affected, risks, rollback = TEMPLATES[index % len(TEMPLATES)]
            node = NODES[index % len(NODES)]
            start = WINDOW_START + STEP_SPACING * index
            picked = risks[: 2 + index % 2] if len(risks) > 2 else risks
            step = Step(
                plan=plan,
                position=index + 1,
                name=_fill(name, node),
                description=_fill(description, node),
                expected_result=_fill(expected, node),
                risk_mitigation="\n".join(f"- {mitigation};" for _, mitigation in picked),
                affected_systems=_fill(affected, node),
                planned_downtime="нет" if index % 3 else "до 15 мин",
                executor=parties[EXECUTORS[index % len(EXECUTORS)]],
                planned_date=start.date(),
                planned_time=start.time(),
                jira_key=f"OPS-{1300 + index}",
            )
            step.set_duration(DURATION)
            step.save()
            risk_rows = [
                Risk.objects.create(step=step, number=number, description=description, mitigation=mitigation)
                for number, (description, mitigation) in enumerate(picked, start=1)
            ]
            action = RollbackAction.objects.create(step=step, position=1, text=_fill(rollback, node))
            action.risks.set(risk_rows)
        PlanEvent.objects.create(
            plan=plan,
            actor=author,
            kind=EventKind.CREATED,
            object_type="plan",
            object_id=plan.pk,
            object_label=plan.title,
            to_status=PlanStatus.DRAFT,
            comment="Создан для замеров",
        )
    return plan
