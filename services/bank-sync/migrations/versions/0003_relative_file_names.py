"""bank-sync: jobs and errors recorded before name their files relative to the source folder.

Revision ID: 0003
Revises: 0002

Until now a job's details, its quarantined rows and its failure message named each extract by
its absolute server path, and the API returned them as stored. Extracts are files directly in
their source's folder, so the name relative to it is the path's last part. URLs (HTTP sources)
are kept; in failure texts only absolute paths lose their folders.
"""
from alembic import op

from caisse_bank_sync.config import SCHEMA

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

URL = "'^[A-Za-z][A-Za-z0-9+.-]*://'"
# The folders of an absolute path in a text: a "/" at the start or after a blank, quote,
# parenthesis or "=", then one or more "name/" (so "http://host/…" never matches).
FOLDERS = """'(^|[[:space:]''"(=])/([^[:space:]''"/]+/)+'"""


def _base_name(expr: str) -> str:
    return f"CASE WHEN {expr} ~ '/' AND {expr} !~ {URL} THEN regexp_replace({expr}, '^.*/', '') ELSE {expr} END"


def upgrade() -> None:
    op.execute(f"UPDATE {SCHEMA}.sync_error SET file = {_base_name('file')} WHERE file ~ '/'")
    op.execute(
        f"UPDATE {SCHEMA}.sync_error SET reason = regexp_replace(reason, {FOLDERS}, '\\1', 'g')"
        f" WHERE kind = 'FATAL' AND reason ~ {FOLDERS}"
    )
    op.execute(
        f"UPDATE {SCHEMA}.sync_job SET error_message = regexp_replace(error_message, {FOLDERS}, '\\1', 'g')"
        f" WHERE error_message ~ {FOLDERS}"
    )
    element = "e.value ->> 'file'"
    op.execute(
        f"""UPDATE {SCHEMA}.sync_job SET details = jsonb_set(details, '{{entities}}', (
              SELECT jsonb_agg(CASE WHEN jsonb_typeof(e.value -> 'file') = 'string'
                                    THEN jsonb_set(e.value, '{{file}}', to_jsonb({_base_name(element)}))
                                    ELSE e.value END ORDER BY e.ordinality)
              FROM jsonb_array_elements(details -> 'entities') WITH ORDINALITY AS e))
            WHERE jsonb_typeof(details -> 'entities') = 'array'
              AND jsonb_array_length(details -> 'entities') > 0"""
    )


def downgrade() -> None:
    # The folders are not recorded anywhere else; the relative names stay.
    pass
