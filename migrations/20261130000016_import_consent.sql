-- The basis of consent an importer declares for a whole file (152-FZ), when
-- the file has no consent column; without either no consent is recorded.
alter table import_jobs add column consent_basis text;
