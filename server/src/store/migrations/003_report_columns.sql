-- Schema 3: what reports need of every dossier, in its index row, so that
-- they never load documents.

ALTER TABLE dossiers ADD COLUMN processing_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN processing_unit TEXT NOT NULL DEFAULT 'working_days';
ALTER TABLE dossiers ADD COLUMN pause_rule TEXT NOT NULL DEFAULT 'extend';
ALTER TABLE dossiers ADD COLUMN stage_log BLOB NOT NULL DEFAULT x'';
ALTER TABLE dossiers ADD COLUMN last_stage_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN applicant_address TEXT NOT NULL DEFAULT '';
ALTER TABLE dossiers ADD COLUMN sets INTEGER NOT NULL DEFAULT 1;
CREATE INDEX dossiers_by_unit_received ON dossiers(unit, received_at);

-- The new columns are filled from the documents: the index is rebuilt when
-- the store opens (index.rs, `upgrade_index`).
DELETE FROM meta WHERE key = 'index_version';
