"""What the recognizer read from a document: the plan as it will be created, every cell with its source text,
its value and, when it could not be read exactly, the reason. Stored as JSON on the import (`PlanImport.result`)
and shown in the preview; `planio.apply` creates the plan from it.

Values are JSON-native: dates "2025-03-20", times "20:00", window ends "2025-03-20T20:00" (local, in the plan's
time zone), booleans, integers, lists of strings.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# The columns of the seed's step table, in its order, as Step fields (risks and rollback are lists).
STEP_COLUMNS = (
    "position",
    "name",
    "description",
    "expected_result",
    "risks",
    "risk_mitigation",
    "affected_systems",
    "planned_downtime",
    "executor",
    "planned_date",
    "planned_time",
    "duration_text",
    "rollback",
    "jira_key",
    "status",
)
# Columns other layouts have: Okno's own «Вид», a date and time in one cell.
EXTRA_STEP_COLUMNS = ("kind", "planned_datetime")
# A column mapped to this is ignored.
IGNORED = ""

# The header block and the announcement, as Plan fields (plus "services", "availability", "curator", "responsible").
HEADER_KEYS = (
    "title",
    "window_start",
    "window_end",
    "stated_duration_text",
    "downtime_text",
    "goal",
    "services",  # value: list of names as written (addresses or display names)
    "curator",  # value: the name as written
    "responsible",  # value: the name as written
    "responsible_contact",
    "mailing_list",
    "announcement_subject",
    "announcement_intro",
    "client_impact",  # bool
    "banner_needed",  # bool
    "availability",  # Availability value
    "jira_url",
    "kind",  # PlanKind value (from the export's metadata)
    "time_zone",  # from the export's metadata; otherwise the importer's default
    "banner_text",
    "announcement_from",
    "service_availability",  # {service name: Availability value} (from the export's metadata)
)


@dataclass
class Cell:
    text: str  # as found in the document
    value: Any = None  # as it will be saved; None when empty or unreadable
    problem: str = ""  # why it could not be read exactly (translated); "" when it was
    where: str = ""  # where it was found, for the preview: «таблица 3, строка 5»


@dataclass
class ParsedRisk:
    number: int
    description: str
    mitigation: str = ""


@dataclass
class ParsedAction:
    text: str
    risks: list[int] = field(default_factory=list)  # numbers of the step's risks it answers


@dataclass
class ParsedStep:
    row: int  # the step's row among the data rows, from 1
    cells: dict[str, Cell] = field(default_factory=dict)  # by Step field / STEP_COLUMNS key, only columns found
    kind: str = "work"  # StepKind value
    kind_sure: bool = False  # False: guessed from the name, the preview shows it
    risks: list[ParsedRisk] = field(default_factory=list)
    actions: list[ParsedAction] = field(default_factory=list)
    no_rollback_needed: bool = False


@dataclass
class ColumnGuess:
    table: int  # index in Document.tables()
    index: int  # column index in that table
    header: str  # the header's text; a two-row header as "upper / lower"
    field: str  # a STEP_COLUMNS / EXTRA_STEP_COLUMNS key, or IGNORED
    sure: bool = True  # False: a guess the preview asks the user to check

    @property
    def key(self) -> str:
        return f"{self.table}:{self.index}"


@dataclass
class ParsedSignoff:
    position: int
    job_title: str
    person_name: str
    status_text: str  # shown, never imported as a signature
    kind: str = "approval"  # RowKind value
    stage: int = 1
    where: str = ""


@dataclass
class PersonRef:
    """A name the document gives to a person, a team or a contractor; planio.matching fills the match."""

    key: str  # the folded name: what choices are keyed by
    name: str  # as written (first occurrence)
    roles: list[str] = field(default_factory=list)  # "executor", "curator", "responsible", "signoff"
    # {"kind": "user" | "party" | "group", "id": int, "label": str}; None when nothing matches
    match: dict[str, Any] | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # "user:5", "party:3", "group:2", "new" (a new executor named as written), "text" (kept as text only)
    choice: str = ""
    sure: bool = False  # False: the preview asks


@dataclass
class ParsedPlan:
    header: dict[str, Cell] = field(default_factory=dict)
    columns: list[ColumnGuess] = field(default_factory=list)
    steps: list[ParsedStep] = field(default_factory=list)
    signoff: list[ParsedSignoff] = field(default_factory=list)
    people: dict[str, PersonRef] = field(default_factory=dict)
    # "Недоступные сервисы" by folded name: match {"kind": "service", ...}; choice "service:ID" or "skip".
    services: dict[str, PersonRef] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # remarks on the document as a whole (translated)

    def problem_cells(self) -> list[tuple[str, Cell]]:
        """Every cell that could not be read exactly, with its key ("header:goal", "step 5:planned_time")."""
        found = [(f"header:{key}", cell) for key, cell in self.header.items() if cell.problem]
        for step in self.steps:
            found += [(f"step {step.row}:{key}", cell) for key, cell in step.cells.items() if cell.problem]
        return found

    def cell_count(self) -> int:
        return len(self.header) + sum(len(step.cells) for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedPlan:
        return cls(
            header={key: Cell(**cell) for key, cell in data.get("header", {}).items()},
            columns=[ColumnGuess(**column) for column in data.get("columns", [])],
            steps=[
                ParsedStep(
                    row=step["row"],
                    cells={key: Cell(**cell) for key, cell in step.get("cells", {}).items()},
                    kind=step.get("kind", "work"),
                    kind_sure=step.get("kind_sure", False),
                    risks=[ParsedRisk(**risk) for risk in step.get("risks", [])],
                    actions=[ParsedAction(**action) for action in step.get("actions", [])],
                    no_rollback_needed=step.get("no_rollback_needed", False),
                )
                for step in data.get("steps", [])
            ],
            signoff=[ParsedSignoff(**row) for row in data.get("signoff", [])],
            people={key: PersonRef(**person) for key, person in data.get("people", {}).items()},
            services={key: PersonRef(**service) for key, service in data.get("services", {}).items()},
            notes=list(data.get("notes", [])),
        )


@dataclass
class Overrides:
    """The user's corrections in the preview, applied on top of the recognizer's guesses."""

    columns: dict[str, str] = field(default_factory=dict)  # ColumnGuess.key → field (IGNORED: skip the column)
    people: dict[str, str] = field(default_factory=dict)  # PersonRef.key → choice
    kinds: dict[str, str] = field(default_factory=dict)  # str(ParsedStep.row) → StepKind value
    services: dict[str, str] = field(default_factory=dict)  # service key → "service:ID" or "skip"
    # Header text typed in the preview in place of the document's (key → text, read as the document's would be;
    # "window" takes "с 20:00 20.03.2025 до 23:05 20.03.2025").
    header: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Overrides:
        data = data or {}
        return cls(
            columns=dict(data.get("columns", {})),
            people=dict(data.get("people", {})),
            kinds=dict(data.get("kinds", {})),
            services=dict(data.get("services", {})),
            header=dict(data.get("header", {})),
        )
