"""What higher apps add to the plan page and the board (NetBox's template extensions, in small).

A template of a lower app never loads a higher app's tags. Instead an app registers a `PlanPageExtension` in its
`AppConfig.ready()` (approvals: the sign-off bar and matrix; runbooks: the rehearsal panel and the automation of
each step), and the page asks every extension for its part: `{% plan_extensions "top" plan %}` for a block,
`{% step_extensions "board_step" plan steps as parts %}` … `{{ parts|of_step:step.pk }}` for one piece per step.
Each method gets the page's context as a dict (request, user, csrf_token, …) and returns safe HTML.
"""

from django.utils.safestring import SafeString, mark_safe

PLAN_PARTS = ("top", "checks", "below_steps", "side", "scripts")
STEP_PARTS = ("step_status", "step_actions", "board_step")


class PlanPageExtension:
    """Override the parts you add; each runs a fixed number of queries whatever the plan's size."""

    def top(self, context: dict, plan) -> str:
        """Plan page, under the title bar."""
        return ""

    def checks(self, context: dict, plan) -> str:
        """Plan page, inside the plan check panel after its findings (re-rendered with the panel after each save):
        findings that depend on other plans (conflicts, freezes), as <li> items of the panel's list."""
        return ""

    def below_steps(self, context: dict, plan) -> str:
        """Plan page, under the step table."""
        return ""

    def side(self, context: dict, plan) -> str:
        """Plan page, the column beside the history."""
        return ""

    def scripts(self, context: dict, plan) -> str:
        """Plan page, the scripts block."""
        return ""

    def step_status(self, context: dict, plan, steps) -> dict[int, str]:
        """Plan page, under each step's status: step id → HTML."""
        return {}

    def step_actions(self, context: dict, plan, steps) -> dict[int, str]:
        """Plan page, each step's row actions (editors only): step id → HTML."""
        return {}

    def board_step(self, context: dict, plan, steps) -> dict[int, str]:
        """Board, each step's card: step id → HTML."""
        return {}


extensions: list[PlanPageExtension] = []


def register(extension: PlanPageExtension) -> None:
    if not any(type(existing) is type(extension) for existing in extensions):
        extensions.append(extension)


def render_plan_part(part: str, context: dict, plan) -> SafeString:
    if part not in PLAN_PARTS:
        raise ValueError(f"unknown plan page part {part!r}")
    return mark_safe("".join(str(getattr(extension, part)(context, plan)) for extension in extensions))


def render_step_parts(part: str, context: dict, plan, steps) -> dict[int, SafeString]:
    if part not in STEP_PARTS:
        raise ValueError(f"unknown step part {part!r}")
    steps = list(steps)
    parts: dict[int, str] = {}
    for extension in extensions:
        for step_id, html in getattr(extension, part)(context, plan, steps).items():
            parts[step_id] = parts.get(step_id, "") + str(html)
    return {step_id: mark_safe(html) for step_id, html in parts.items()}
