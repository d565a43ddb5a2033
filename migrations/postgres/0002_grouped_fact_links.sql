-- ChronoRAG on PostgreSQL, schema version 2: a transaction's links from facts to itself and to
-- chunks are one record per transaction and per chunk (FACT_TX_SET and FACT_CHUNK_SET in
-- src/store/keys.rs) instead of one record per link.
--
-- Nothing is converted: the per-link records written before stay and are read beside the
-- lists. The version is what changes: a binary written before it does not read the lists, and
-- so refuses a database that may hold them instead of missing its links.
SELECT 1;
