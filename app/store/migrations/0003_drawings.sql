-- A report's drawing (the graph on its page, app.drawing), kept once first drawn; deleted
-- with its report.
CREATE TABLE drawings (
    report_id TEXT PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    body BYTEA NOT NULL
);
