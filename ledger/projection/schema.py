"""Tables of one ledger build (a Postgres schema), generated from one column list per table."""

from __future__ import annotations

import re

# (column, SQL type). Row tuples in fold.py follow exactly this order.
PROJECTS: tuple[tuple[str, str], ...] = (
    ("id", "text NOT NULL PRIMARY KEY"),
    ("name", "text NOT NULL"),
    ("enterprise", "text NOT NULL"),
    ("district", "text NOT NULL"),
    ("station", "text NOT NULL"),
    ("track", "text NOT NULL"),
    ("project_kind", "text NOT NULL"),
    ("initiated", "boolean NOT NULL"),
    ("category", "text NOT NULL"),
    ("key_project", "boolean NOT NULL"),
    ("key_leader", "text"),
    ("key_section", "text"),
    ("key_work_plan", "text"),
    ("key_mechanism", "text"),
    ("land_area_m2", "double precision"),
    ("floor_area_m2", "double precision"),
    ("received_on", "date"),
    ("withdrawn", "boolean NOT NULL"),
    ("withdrawn_on", "date"),
    ("withdrawn_reason", "text"),
    ("passed_stages", "text[] NOT NULL"),
    ("open_stages", "text[] NOT NULL"),
    ("missing_documents", "text[] NOT NULL"),
    ("open_gov_blockers", "integer NOT NULL"),
    ("open_ent_blockers", "integer NOT NULL"),
    ("next_due_on", "date"),
    ("next_due_ref", "text"),
    ("commits", "integer NOT NULL"),
    ("version", "bigint NOT NULL"),
    ("last_hash", "text NOT NULL"),
)
STAGES: tuple[tuple[str, str], ...] = (
    ("project_id", "text NOT NULL"),
    ("stage", "text NOT NULL"),
    ("status", "text NOT NULL"),  # open / passed / returned
    ("department", "text NOT NULL"),
    ("opened_on", "date"),
    ("due_on", "date"),
    ("limit_days", "integer"),
    ("statutory_days", "integer"),
    ("rule", "text"),
    ("parallel_group", "text"),
    ("suspended", "boolean NOT NULL"),
    ("suspended_on", "date"),
    ("suspend_reason", "text"),
    ("suspended_days", "integer NOT NULL"),
    ("extended_days", "integer NOT NULL"),
    ("passed_on", "date"),
    ("returned_on", "date"),
    ("return_reason", "text"),
    ("working_days_used", "integer"),
    ("on_time", "boolean"),
    ("early", "boolean"),
    ("document_kind", "text"),
    ("document_number", "text"),
    ("land_area_m2", "double precision"),
    ("floor_area_m2", "double precision"),
    ("missing_documents", "text[] NOT NULL"),
    ("documents_due_on", "date"),
    ("version", "bigint NOT NULL"),
)
BLOCKERS: tuple[tuple[str, str], ...] = (
    ("project_id", "text NOT NULL"),
    ("blocker_id", "text NOT NULL"),
    ("status", "text NOT NULL"),  # open / resolved
    ("side", "text NOT NULL"),
    ("cause", "text NOT NULL"),
    ("cause_text", "text NOT NULL"),
    ("description", "text NOT NULL"),
    ("goal", "text NOT NULL"),
    ("department", "text NOT NULL"),
    ("responsible_person", "text NOT NULL"),
    ("due_on", "date"),
    ("stage", "text"),
    ("raised_on", "date"),
    ("resolved_on", "date"),
    ("resolution", "text"),
    ("version", "bigint NOT NULL"),
)
ALERTS: tuple[tuple[str, str], ...] = (
    ("seq", "bigint NOT NULL"),
    ("idx", "integer NOT NULL"),
    ("project_id", "text"),
    ("alert_key", "text NOT NULL"),
    ("status", "text NOT NULL"),  # sent / failed
    ("deadline_kind", "text NOT NULL"),
    ("deadline_ref", "text NOT NULL"),
    ("level", "text NOT NULL"),
    ("due_on", "date NOT NULL"),
    ("channel", "text NOT NULL"),
    ("recipient", "text NOT NULL"),
    ("sent_at", "timestamptz"),
    ("attempts", "integer"),
    ("error", "text"),
)
ARCHIVE: tuple[tuple[str, str], ...] = (
    ("seq", "bigint NOT NULL"),
    ("idx", "integer NOT NULL"),
    ("kind", "text NOT NULL"),
    ("key", "text NOT NULL"),
    ("project_id", "text"),
    ("commit_id", "text NOT NULL"),
    ("commit_number", "integer NOT NULL"),
    ("type", "text NOT NULL"),
    ("source", "text NOT NULL"),
    ("actor", "text NOT NULL"),
    ("occurred_at", "timestamptz NOT NULL"),
    ("recorded_at", "timestamptz NOT NULL"),
    ("event_id", "text NOT NULL"),
    ("correlation_id", "text NOT NULL"),
    ("causation_id", "text NOT NULL"),
    ("schema_version", "integer NOT NULL"),
    ("payload", "jsonb NOT NULL"),
    ("prev_hash", "text NOT NULL"),
    ("commit_hash", "text NOT NULL"),
)
# Additive figures: batches add their deltas. Areas are unconstrained numeric: exact, and never rounded
# on the way in (numeric(20,2) rounded each batch's sum, so totals depended on the batching).
DEPARTMENT_MONTH = (
    ("department", "text NOT NULL"),
    ("month", "date NOT NULL"),
    ("completed", "integer NOT NULL"),
    ("on_time", "integer NOT NULL"),
    ("early", "integer NOT NULL"),
    ("late", "integer NOT NULL"),
    ("working_days", "bigint NOT NULL"),
)
PERMITS = (
    ("kind", "text NOT NULL"),
    ("month", "date NOT NULL"),
    ("district", "text NOT NULL"),
    ("issued", "integer NOT NULL"),
    ("land_area_m2", "numeric NOT NULL"),
    ("floor_area_m2", "numeric NOT NULL"),
)

KEYS: dict[str, tuple[str, ...]] = {
    "projects": ("id",),
    "project_stages": ("project_id", "stage"),
    "project_blockers": ("project_id", "blocker_id"),
    "department_month": ("department", "month"),
    "permits": ("kind", "month", "district"),
    "alerts": ("seq", "idx"),
    "archive": ("seq", "idx"),
}
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "projects": PROJECTS,
    "project_stages": STAGES,
    "project_blockers": BLOCKERS,
    "department_month": DEPARTMENT_MONTH,
    "permits": PERMITS,
    "alerts": ALERTS,
    "archive": ARCHIVE,
}


def names(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in TABLES[table])


def q(schema: str) -> str:
    """A schema name, checked: they come from the catalog and the CLI, never from event data."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", schema):
        raise ValueError(f"schema name '{schema}' must be lower-case letters, digits and '_'")
    return f'"{schema}"'


def table_ddl(schema: str) -> list[str]:
    s = q(schema)
    out = [f"CREATE SCHEMA IF NOT EXISTS {s}"]
    for table, cols in TABLES.items():
        body = ", ".join(f"{name} {sqltype}" for name, sqltype in cols)
        pk = "" if table == "projects" else f", PRIMARY KEY ({', '.join(KEYS[table])})"
        out.append(f"CREATE TABLE IF NOT EXISTS {s}.{table} ({body}{pk})")
    out += [
        f"""CREATE TABLE IF NOT EXISTS {s}.progress (
              id smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
              applied_seq bigint NOT NULL DEFAULT 0,
              commits bigint NOT NULL DEFAULT 0,
              events bigint NOT NULL DEFAULT 0,
              merkle_size bigint NOT NULL DEFAULT 0,
              merkle_peaks bytea[] NOT NULL DEFAULT '{{}}')""",
        f"INSERT INTO {s}.progress (id) VALUES (1) ON CONFLICT DO NOTHING",
        # The archive is insert-only: a trigger refuses UPDATE, DELETE and TRUNCATE.
        f"""CREATE OR REPLACE TRIGGER archive_insert_only BEFORE UPDATE OR DELETE ON {s}.archive
              FOR EACH ROW EXECUTE FUNCTION ledger_meta.refuse_change()""",
        f"""CREATE OR REPLACE TRIGGER archive_no_truncate BEFORE TRUNCATE ON {s}.archive
              FOR EACH STATEMENT EXECUTE FUNCTION ledger_meta.refuse_change()""",
    ]
    return out


def index_ddl(schema: str) -> list[str]:
    """Indexes for the dashboards' queries; a rebuild creates them after the bulk load."""
    s = q(schema)
    return [
        f"CREATE INDEX IF NOT EXISTS projects_district ON {s}.projects (district, category)",
        f"CREATE INDEX IF NOT EXISTS projects_category ON {s}.projects (category)",
        f"CREATE INDEX IF NOT EXISTS projects_next_due ON {s}.projects (next_due_on) WHERE NOT withdrawn",
        f"CREATE INDEX IF NOT EXISTS projects_key ON {s}.projects (key_section) WHERE key_project",
        f"CREATE INDEX IF NOT EXISTS stages_open_due ON {s}.project_stages (due_on) WHERE status = 'open'",
        f"CREATE INDEX IF NOT EXISTS stages_department ON {s}.project_stages (department, status)",
        f"CREATE INDEX IF NOT EXISTS blockers_open ON {s}.project_blockers (side, cause) WHERE status = 'open'",
        f"CREATE INDEX IF NOT EXISTS blockers_department ON {s}.project_blockers (department) WHERE status = 'open'",
        f"CREATE INDEX IF NOT EXISTS department_month_month ON {s}.department_month (month)",
        f"CREATE INDEX IF NOT EXISTS permits_month ON {s}.permits (month, kind)",
        f"CREATE INDEX IF NOT EXISTS alerts_project ON {s}.alerts (project_id, seq)",
        f"CREATE INDEX IF NOT EXISTS archive_project ON {s}.archive (project_id, seq)",
        f"CREATE INDEX IF NOT EXISTS archive_recorded ON {s}.archive (recorded_at)",
        # read API (services/api): keyset pages in each sort order, substring search, open deadlines by date
        f"CREATE INDEX IF NOT EXISTS projects_name_sort ON {s}.projects (name, id)",
        f"CREATE INDEX IF NOT EXISTS projects_due_sort ON {s}.projects "
        f"((COALESCE(next_due_on, DATE '9999-12-31')), id)",
        f"CREATE INDEX IF NOT EXISTS projects_received_sort ON {s}.projects "
        f"((COALESCE(received_on, DATE '9999-12-31')), id)",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"CREATE INDEX IF NOT EXISTS projects_search ON {s}.projects USING gin "
        f"(lower(name) gin_trgm_ops, lower(enterprise) gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS stages_documents_due ON {s}.project_stages (documents_due_on) "
        f"WHERE status = 'open' AND cardinality(missing_documents) > 0",
        f"CREATE INDEX IF NOT EXISTS blockers_open_due ON {s}.project_blockers (due_on) WHERE status = 'open'",
    ]
