-- spiral probe, once at connect (MySQL 8.0.22+): is performance_schema.processlist readable?
SELECT COUNT(*) FROM performance_schema.processlist WHERE ID = CONNECTION_ID()
