-- ChronoRAG on PostgreSQL, schema version 1.
--
-- Every table's first key column is the namespace, so that with Citus each table can be
-- distributed by it:
--   SELECT create_distributed_table('chronorag_namespaces', 'namespace');
--   SELECT create_distributed_table('chronorag_records', 'namespace',
--                                   colocate_with => 'chronorag_namespaces');
-- (a namespace's records and its registry row then live on one worker, and a commit, which
-- touches only one namespace, stays a single-shard transaction).
--
-- A namespace's records are its ordered key space (src/store/keys.rs documents the keys): the
-- record layout above the backend is the same on sled and here. `bytea` orders byte-wise, as
-- the layout's range scans need.

CREATE TABLE chronorag_namespaces (
    namespace  text        NOT NULL PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE chronorag_records (
    namespace text  NOT NULL,
    key       bytea NOT NULL,
    value     bytea NOT NULL,
    PRIMARY KEY (namespace, key)
);
