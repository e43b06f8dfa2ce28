DROP TABLE es2_progress_outbox;
