# Search of the plan list (changeplans/search.py, docs/search.md) and the index of the list's order.
#
# PostgreSQL only (skipped on SQLite, which `make run` uses and where search falls back to icontains):
# pg_trgm, the function that builds a plan's search document, the triggers that keep it current on every
# write to a plan or its steps, the GIN index on the document, the trigram GIN index on the Jira link,
# and the backfill of existing plans. These indexes are not in the models' Meta: a GIN index there would be
# created on SQLite too.

import django.contrib.postgres.search
import django.db.models.deletion
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# A plan's document: title and Jira key (A), goal (B), step names and their Jira keys (C). The "russian"
# configuration stems Cyrillic words with the Russian Snowball stemmer and Latin words with the English one.
FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION okno_plan_search_document(p_id bigint) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT setweight(to_tsvector('russian', coalesce(p.title, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(substring(p.jira_url FROM '[A-Za-z][A-Za-z0-9_]*-[0-9]+'), '')), 'A')
        || setweight(to_tsvector('russian', coalesce(p.goal, '')), 'B')
        || setweight(to_tsvector('russian', coalesce(
               (SELECT string_agg(s.name || ' ' || s.jira_key, ' ') FROM changeplans_step s WHERE s.plan_id = p.id),
               '')), 'C')
    FROM changeplans_plan p WHERE p.id = p_id
$$;

CREATE OR REPLACE FUNCTION okno_plan_search_on_plan() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO changeplans_plansearchdocument (plan_id, document)
        VALUES (NEW.id, okno_plan_search_document(NEW.id));
    ELSE
        UPDATE changeplans_plansearchdocument SET document = okno_plan_search_document(NEW.id)
        WHERE plan_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION okno_plan_search_on_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE changeplans_plansearchdocument SET document = okno_plan_search_document(plan_id)
        WHERE plan_id IN (SELECT plan_id FROM new_steps);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE changeplans_plansearchdocument SET document = okno_plan_search_document(plan_id)
        WHERE plan_id IN (SELECT plan_id FROM old_steps);
    ELSE
        -- Only a changed name, Jira key or plan: ticks, moves and other cells leave the document alone.
        UPDATE changeplans_plansearchdocument SET document = okno_plan_search_document(plan_id)
        WHERE plan_id IN (
            SELECT n.plan_id FROM new_steps n JOIN old_steps o ON o.id = n.id
            WHERE n.name IS DISTINCT FROM o.name OR n.jira_key IS DISTINCT FROM o.jira_key
               OR n.plan_id IS DISTINCT FROM o.plan_id
            UNION
            SELECT o.plan_id FROM new_steps n JOIN old_steps o ON o.id = n.id WHERE n.plan_id IS DISTINCT FROM o.plan_id
        );
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER okno_plan_search_insert AFTER INSERT ON changeplans_plan
    FOR EACH ROW EXECUTE FUNCTION okno_plan_search_on_plan();
CREATE TRIGGER okno_plan_search_update AFTER UPDATE OF title, goal, jira_url ON changeplans_plan
    FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.goal IS DISTINCT FROM NEW.goal
                       OR OLD.jira_url IS DISTINCT FROM NEW.jira_url)
    EXECUTE FUNCTION okno_plan_search_on_plan();
CREATE TRIGGER okno_step_search_insert AFTER INSERT ON changeplans_step
    REFERENCING NEW TABLE AS new_steps FOR EACH STATEMENT EXECUTE FUNCTION okno_plan_search_on_steps();
CREATE TRIGGER okno_step_search_update AFTER UPDATE ON changeplans_step
    REFERENCING OLD TABLE AS old_steps NEW TABLE AS new_steps FOR EACH STATEMENT
    EXECUTE FUNCTION okno_plan_search_on_steps();
CREATE TRIGGER okno_step_search_delete AFTER DELETE ON changeplans_step
    REFERENCING OLD TABLE AS old_steps FOR EACH STATEMENT EXECUTE FUNCTION okno_plan_search_on_steps();

CREATE INDEX plan_search_document_gin ON changeplans_plansearchdocument USING gin (document);
-- Django's icontains is UPPER(col::text) LIKE UPPER(pattern): this expression lets a Jira fragment use the index.
CREATE INDEX plan_jira_url_trgm ON changeplans_plan USING gin ((UPPER(jira_url::text)) gin_trgm_ops);

INSERT INTO changeplans_plansearchdocument (plan_id, document)
SELECT id, okno_plan_search_document(id) FROM changeplans_plan
ON CONFLICT (plan_id) DO UPDATE SET document = EXCLUDED.document;
"""

REVERSE = r"""
DROP INDEX IF EXISTS plan_jira_url_trgm;
DROP INDEX IF EXISTS plan_search_document_gin;
DROP TRIGGER IF EXISTS okno_step_search_delete ON changeplans_step;
DROP TRIGGER IF EXISTS okno_step_search_update ON changeplans_step;
DROP TRIGGER IF EXISTS okno_step_search_insert ON changeplans_step;
DROP TRIGGER IF EXISTS okno_plan_search_update ON changeplans_plan;
DROP TRIGGER IF EXISTS okno_plan_search_insert ON changeplans_plan;
DROP FUNCTION IF EXISTS okno_plan_search_on_steps();
DROP FUNCTION IF EXISTS okno_plan_search_on_plan();
DROP FUNCTION IF EXISTS okno_plan_search_document(bigint);
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("changeplans", "0011_planattachment_imported"),
    ]

    operations = [
        TrigramExtension(),  # CreateExtension skips itself on other databases
        migrations.CreateModel(
            name="PlanSearchDocument",
            fields=[
                (
                    "plan",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="changeplans.plan",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField(null=True)),
            ],
            options={
                "verbose_name": "search document",
                "verbose_name_plural": "search documents",
            },
        ),
        migrations.AddIndex(
            model_name="plan",
            index=models.Index(fields=["-window_start", "-id"], name="plan_list_order"),
        ),
        migrations.RunPython(_on_postgresql(FUNCTIONS), _on_postgresql(REVERSE), elidable=False),
    ]
