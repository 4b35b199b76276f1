-- spiral, once at connect: the server version, to choose the sample statement for it.
SELECT current_setting('server_version_num')::int
