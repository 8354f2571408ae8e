-- Each run of a queued check is an attempt; a run writes its progress and result only while
-- the report's attempt is still its own, so a dead attempt's late writes are dropped.
ALTER TABLE reports ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
