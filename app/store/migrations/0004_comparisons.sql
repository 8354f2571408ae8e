-- Comparisons of two models (app.compare), kept like reports: written once, found by id and
-- by content key, pruned by age and size.
CREATE TABLE comparisons (
    id TEXT PRIMARY KEY,
    content_key TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    body BYTEA NOT NULL,
    size INTEGER NOT NULL
);
CREATE INDEX comparisons_content_key ON comparisons (content_key, created_at);
