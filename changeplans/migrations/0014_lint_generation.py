# The plan check's generation (changeplans/lint_data.py, docs/architecture.md "Saves"): a counter per plan that
# every write to what the plan check reads of its steps, risks and rollback actions increments, in the same
# transaction, whoever writes (a service, the admin, a script, a bulk COPY). A save's answer keeps the check of
# the state before it by this number and updates it for the edited step only.
#
# PostgreSQL only (statement-level triggers with transition tables; on SQLite, which `make run` uses, every save
# checks the whole plan as before). A plan without a row has generation 0: nothing was written since this
# migration. No foreign key: the triggers of a plan's deletion write the row of a plan being deleted.

from django.db import migrations

# The columns lint_data.STEP_COLUMNS reads (and the plan a step belongs to); a risk's number and mitigation; an
# action's text and position (and the step they belong to). Ticks, names, descriptions do not count.
STEP = "plan_id, position, kind, planned_date, planned_time, duration_text, duration_min, duration_max, \
planned_downtime, planned_downtime_max_minutes, executor_id, no_rollback_needed, risk_mitigation"
RISK = "step_id, number, mitigation"
ACTION = "step_id, position, text"


def _columns(alias, columns):
    return ", ".join(f"{alias}.{name.strip()}" for name in columns.split(","))


FUNCTIONS = rf"""
CREATE TABLE okno_lint_generation (plan_id bigint PRIMARY KEY, generation bigint NOT NULL);

CREATE OR REPLACE FUNCTION okno_lint_bump(plan_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO okno_lint_generation AS g (plan_id, generation)
    SELECT DISTINCT id, 1 FROM unnest(plan_ids) AS id WHERE id IS NOT NULL ORDER BY 1
    ON CONFLICT (plan_id) DO UPDATE SET generation = g.generation + 1;
$$;

CREATE OR REPLACE FUNCTION okno_lint_on_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM okno_lint_bump(ARRAY(SELECT plan_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM okno_lint_bump(ARRAY(SELECT plan_id FROM old_rows));
    ELSE
        PERFORM okno_lint_bump(ARRAY(
            SELECT unnest(ARRAY[o.plan_id, n.plan_id]) FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE ({_columns("n", STEP)}) IS DISTINCT FROM ({_columns("o", STEP)})));
    END IF;
    RETURN NULL;
END $$;

"""


def _child_function(kind, columns):
    """The trigger function of a table of a step's parts (risks, rollback actions): the plans of their steps."""
    return rf"""
CREATE OR REPLACE FUNCTION okno_lint_on_{kind}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM okno_lint_bump(ARRAY(SELECT s.plan_id FROM new_rows r JOIN changeplans_step s ON s.id = r.step_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM okno_lint_bump(ARRAY(SELECT s.plan_id FROM old_rows r JOIN changeplans_step s ON s.id = r.step_id));
    ELSE
        PERFORM okno_lint_bump(ARRAY(
            SELECT s.plan_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            JOIN changeplans_step s ON s.id IN (n.step_id, o.step_id)
            WHERE ({_columns("n", columns)}) IS DISTINCT FROM ({_columns("o", columns)})));
    END IF;
    RETURN NULL;
END $$;
"""


FUNCTIONS += _child_function("risks", RISK) + _child_function("actions", ACTION)

TRIGGERS = [
    ("changeplans_step", "steps"),
    ("changeplans_risk", "risks"),
    ("changeplans_rollbackaction", "actions"),
]


def _triggers():
    sql = []
    for table, kind in TRIGGERS:
        sql.append(
            f"CREATE TRIGGER okno_lint_{kind}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION okno_lint_on_{kind}();"
        )
        sql.append(
            f"CREATE TRIGGER okno_lint_{kind}_update AFTER UPDATE ON {table} "
            f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION okno_lint_on_{kind}();"
        )
        sql.append(
            f"CREATE TRIGGER okno_lint_{kind}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION okno_lint_on_{kind}();"
        )
    return "\n".join(sql)


def _reverse():
    sql = [
        f"DROP TRIGGER IF EXISTS okno_lint_{kind}_{event} ON {table};"
        for table, kind in TRIGGERS
        for event in ("insert", "update", "delete")
    ]
    sql += [f"DROP FUNCTION IF EXISTS okno_lint_on_{kind}();" for _table, kind in TRIGGERS]
    sql += ["DROP FUNCTION IF EXISTS okno_lint_bump(bigint[]);", "DROP TABLE IF EXISTS okno_lint_generation;"]
    return "\n".join(sql)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0013_merge_planpdf_plan_search"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FUNCTIONS + _triggers()), _on_postgresql(_reverse()), elidable=False),
    ]
