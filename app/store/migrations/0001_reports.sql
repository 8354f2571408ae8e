-- The report store: one row per report, its body written once, its check updated in place.
-- The columns mirror SQLite's (app/store.py) so that both stores keep the same contract.
CREATE TABLE reports (
    id TEXT PRIMARY KEY,
    content_key TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    body BYTEA NOT NULL,
    check_json TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX reports_content_key ON reports (content_key, created_at);
