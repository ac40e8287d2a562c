# The step table's content token (changeplans/rows.py, docs/architecture.md "Plan page speed"): a random value
# per plan that every write to anything a row of the plan's step table shows replaces, in the same transaction,
# whoever writes: its steps (any column), their risks, rollback actions and the actions' risk links, the name of
# an executor and of who did a step. The page keeps its rendered rows under this token, so a second look loads
# no row. Random, not a counter: a database restored from a backup or recreated (tests) never meets a cached
# value that meant other content. A plan without a row has no token: its rows are loaded and digested as before.
#
# PostgreSQL only (statement-level triggers with transition tables; SQLite keeps the digest of the loaded rows).

from django.db import migrations

FUNCTIONS = r"""
CREATE TABLE okno_rows_token (plan_id bigint PRIMARY KEY, token uuid NOT NULL);

CREATE OR REPLACE FUNCTION okno_rows_bump(plan_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO okno_rows_token AS t (plan_id, token)
    SELECT id, gen_random_uuid() FROM (SELECT DISTINCT id FROM unnest(plan_ids) AS id WHERE id IS NOT NULL) AS d
    ORDER BY 1
    ON CONFLICT (plan_id) DO UPDATE SET token = excluded.token;
$$;

CREATE OR REPLACE FUNCTION okno_rows_on_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM okno_rows_bump(ARRAY(SELECT plan_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM okno_rows_bump(ARRAY(SELECT plan_id FROM old_rows));
    ELSE
        PERFORM okno_rows_bump(ARRAY(SELECT plan_id FROM new_rows UNION SELECT plan_id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION okno_rows_on_parts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM okno_rows_bump(ARRAY(SELECT s.plan_id FROM new_rows r JOIN changeplans_step s ON s.id = r.step_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM okno_rows_bump(ARRAY(SELECT s.plan_id FROM old_rows r JOIN changeplans_step s ON s.id = r.step_id));
    ELSE
        PERFORM okno_rows_bump(ARRAY(
            SELECT s.plan_id FROM (SELECT step_id FROM new_rows UNION SELECT step_id FROM old_rows) r
            JOIN changeplans_step s ON s.id = r.step_id));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION okno_rows_on_links() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM okno_rows_bump(ARRAY(
            SELECT s.plan_id FROM new_rows r JOIN changeplans_rollbackaction a ON a.id = r.rollbackaction_id
            JOIN changeplans_step s ON s.id = a.step_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM okno_rows_bump(ARRAY(
            SELECT s.plan_id FROM old_rows r JOIN changeplans_rollbackaction a ON a.id = r.rollbackaction_id
            JOIN changeplans_step s ON s.id = a.step_id));
    ELSE
        PERFORM okno_rows_bump(ARRAY(
            SELECT s.plan_id FROM (SELECT rollbackaction_id FROM new_rows UNION SELECT rollbackaction_id FROM old_rows) r
            JOIN changeplans_rollbackaction a ON a.id = r.rollbackaction_id JOIN changeplans_step s ON s.id = a.step_id));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION okno_rows_on_parties() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM okno_rows_bump(ARRAY(
        SELECT s.plan_id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN changeplans_step s ON s.executor_id = n.id
        WHERE n.name IS DISTINCT FROM o.name));
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION okno_rows_on_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM okno_rows_bump(ARRAY(
        SELECT s.plan_id FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN changeplans_step s ON s.done_by_id = n.id
        WHERE (n.last_name, n.first_name, n.username) IS DISTINCT FROM (o.last_name, o.first_name, o.username)));
    RETURN NULL;
END $$;
"""

# table, trigger function, the events it follows
TRIGGERS = [
    ("changeplans_step", "steps", ("insert", "update", "delete")),
    ("changeplans_risk", "parts", ("insert", "update", "delete")),
    ("changeplans_rollbackaction", "parts", ("insert", "update", "delete")),
    ("changeplans_rollbackaction_risks", "links", ("insert", "update", "delete")),
    ("changeplans_party", "parties", ("update",)),
    ("auth_user", "users", ("update",)),
]
_TRANSITIONS = {
    "insert": "REFERENCING NEW TABLE AS new_rows",
    "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "REFERENCING OLD TABLE AS old_rows",
}


def _name(table, event):
    return f"okno_rows_{table}_{event}"


def _triggers():
    return "\n".join(
        f"CREATE TRIGGER {_name(table, event)} AFTER {event.upper()} ON {table} {_TRANSITIONS[event]} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION okno_rows_on_{kind}();"
        for table, kind, events in TRIGGERS
        for event in events
    )


def _reverse():
    sql = [f"DROP TRIGGER IF EXISTS {_name(table, event)} ON {table};" for table, _k, events in TRIGGERS for event in events]
    sql += [f"DROP FUNCTION IF EXISTS okno_rows_on_{kind}();" for kind in ("steps", "parts", "links", "parties", "users")]
    sql += ["DROP FUNCTION IF EXISTS okno_rows_bump(bigint[]);", "DROP TABLE IF EXISTS okno_rows_token;"]
    return "\n".join(sql)


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0015_planevent_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(_on_postgresql(FUNCTIONS + _triggers()), _on_postgresql(_reverse()), elidable=False),
    ]
