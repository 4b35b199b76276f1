
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'spiral' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'spiral'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'spiral' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'See the command''s own --idle-over')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'connect-timeout')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'query-timeout')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'encrypt')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'password-stdin')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'dac')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'trust-server-certificate')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('triage', 'triage', [CompletionResultType]::ParameterValue, 'Sample the server, diff the samples and say what kind of spiral this is')
            [CompletionResult]::new('waits', 'waits', [CompletionResultType]::ParameterValue, 'Top waits now, and how they changed over the window')
            [CompletionResult]::new('workers', 'workers', [CompletionResultType]::ParameterValue, 'Queued tasks and active/max worker threads')
            [CompletionResult]::new('blocking', 'blocking', [CompletionResultType]::ParameterValue, 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles')
            [CompletionResult]::new('connections', 'connections', [CompletionResultType]::ParameterValue, 'Connections by user, host, application and state, with idle ages, against the limit')
            [CompletionResult]::new('compiles', 'compiles', [CompletionResultType]::ParameterValue, 'Compile rate, compilations per batch, compile-gate queue')
            [CompletionResult]::new('plancache', 'plancache', [CompletionResultType]::ParameterValue, 'Plan cache by object type: plans, single-use share, size')
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Record snapshots to a capture file for later replay')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'A live view that refreshes in place: verdicts first, then gauges and sessions. Keys: s w b c k p l switch the panel, arrows and PgUp/PgDn scroll it, q quits')
            [CompletionResult]::new('stalk', 'stalk', [CompletionResultType]::ParameterValue, 'Wait for a condition and capture the spiral in the act (like pt-stalk, any engine)')
            [CompletionResult]::new('kill', 'kill', [CompletionResultType]::ParameterValue, 'End idle or runaway sessions safely: filters, dry run by default, re-checks')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst verdicts and performance data, with plugin exit codes')
            [CompletionResult]::new('timeline', 'timeline', [CompletionResultType]::ParameterValue, 'When each verdict started, changed severity and cleared over a capture (or a live run), with the key figures at each change: the postmortem''s timeline')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One self-contained HTML file for the postmortem: charts, verdict timeline, worst moments, playbooks')
            [CompletionResult]::new('playbook', 'playbook', [CompletionResultType]::ParameterValue, 'List the playbooks, or print one')
            [CompletionResult]::new('queries', 'queries', [CompletionResultType]::ParameterValue, 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run')
            [CompletionResult]::new('thresholds', 'thresholds', [CompletionResultType]::ParameterValue, 'List every rule threshold with its default and meaning')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish) or a man page (man, or `man triage` for spiral-triage(1))')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spiral;triage' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;waits' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;workers' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;blocking' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;connections' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;compiles' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;plancache' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (live only; a replay uses the whole file)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Rows per table [default: 20 in a table, all of them with --format json]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;capture' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to record')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The capture file to write. An existing file is left alone unless --force')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The capture file to write. An existing file is left alone unless --force')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing capture file (only once the new capture has a snapshot)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;watch' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between refreshes')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;stalk' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--when', '--when', [CompletionResultType]::ParameterName, 'Trigger: a verdict at a severity (connection-exhaustion:warning) or a gauge over a value (''connections>80%'', ''blocked>10'', ''longest_lock_wait>30s''). Repeatable: any one holding counts')
            [CompletionResult]::new('--cycles', '--cycles', [CompletionResultType]::ParameterName, 'Polls in a row the condition must hold before a capture starts')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between polls while armed')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Samples in each capture')
            [CompletionResult]::new('--capture-interval', '--capture-interval', [CompletionResultType]::ParameterName, 'Time between the samples of a capture')
            [CompletionResult]::new('--cooldown', '--cooldown', [CompletionResultType]::ParameterName, 'Sleep after a capture before re-arming')
            [CompletionResult]::new('--max-captures', '--max-captures', [CompletionResultType]::ParameterName, 'Stop after this many captures (0: never)')
            [CompletionResult]::new('--min-free', '--min-free', [CompletionResultType]::ParameterName, 'Do not capture when less than this is free on the output''s file system')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'Stop after running this long (default: until Ctrl-C or --max-captures)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The directory for captures')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The directory for captures')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;kill' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'Sessions idle (or idle in a transaction) at least this long')
            [CompletionResult]::new('--busy-over', '--busy-over', [CompletionResultType]::ParameterName, 'Sessions running their current statement at least this long')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Sessions of this user (repeatable: any of them)')
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Sessions from this client host')
            [CompletionResult]::new('--app', '--app', [CompletionResultType]::ParameterName, 'Sessions of this application name')
            [CompletionResult]::new('--db', '--db', [CompletionResultType]::ParameterName, 'Sessions in this database')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Sessions in this state (idle, active, idle-in-transaction, or the engine''s word)')
            [CompletionResult]::new('--command', '--command', [CompletionResultType]::ParameterName, 'Sessions running this command (MySQL Command, SQL Server command)')
            [CompletionResult]::new('--match-sql', '--match-sql', [CompletionResultType]::ParameterName, 'Sessions whose query text matches this regular expression')
            [CompletionResult]::new('--ignore-user', '--ignore-user', [CompletionResultType]::ParameterName, 'Never sessions of this user')
            [CompletionResult]::new('--ignore-host', '--ignore-host', [CompletionResultType]::ParameterName, 'Never sessions from this host')
            [CompletionResult]::new('--ignore-app', '--ignore-app', [CompletionResultType]::ParameterName, 'Never sessions of this application')
            [CompletionResult]::new('--ignore-db', '--ignore-db', [CompletionResultType]::ParameterName, 'Never sessions in this database')
            [CompletionResult]::new('--ignore-state', '--ignore-state', [CompletionResultType]::ParameterName, 'Never sessions in this state')
            [CompletionResult]::new('--ignore-command', '--ignore-command', [CompletionResultType]::ParameterName, 'Never sessions running this command')
            [CompletionResult]::new('--ignore-sql', '--ignore-sql', [CompletionResultType]::ParameterName, 'Never sessions whose query matches this regular expression')
            [CompletionResult]::new('--victims', '--victims', [CompletionResultType]::ParameterName, 'Which matched sessions to end')
            [CompletionResult]::new('--max', '--max', [CompletionResultType]::ParameterName, 'End at most this many sessions (over the whole run, rounds of --every included)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many kills per second')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Append one JSON line per action to this file, for the postmortem')
            [CompletionResult]::new('--every', '--every', [CompletionResultType]::ParameterName, 'Repeat the kill every DUR (5s to 1h), re-selecting and re-checking each round, for a leak that refills; needs --for')
            [CompletionResult]::new('--for', '--for', [CompletionResultType]::ParameterName, 'How long a repeated kill runs at most (up to 24h); needs --every')
            [CompletionResult]::new('--until-quiet', '--until-quiet', [CompletionResultType]::ParameterName, 'Stop a repeated kill early after N rounds in a row found nothing to end')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--idle-in-transaction', '--idle-in-transaction', [CompletionResultType]::ParameterName, 'Only sessions idle inside an open transaction')
            [CompletionResult]::new('--blocking-leaders', '--blocking-leaders', [CompletionResultType]::ParameterName, 'Only the heads of blocking chains')
            [CompletionResult]::new('--query-only', '--query-only', [CompletionResultType]::ParameterName, 'Cancel the running statement but keep the connection (PostgreSQL, MySQL)')
            [CompletionResult]::new('--include-admins', '--include-admins', [CompletionResultType]::ParameterName, 'Also consider superuser/admin sessions')
            [CompletionResult]::new('--rds', '--rds', [CompletionResultType]::ParameterName, 'MySQL on RDS: use CALL mysql.rds_kill (detected automatically when possible)')
            [CompletionResult]::new('--execute', '--execute', [CompletionResultType]::ParameterName, 'Actually end the sessions (the default is a dry run that prints the plan)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required with --execute when there is no terminal)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;check' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from a capture file instead of a live server')
            [CompletionResult]::new('--pooler', '--pooler', [CompletionResultType]::ParameterName, 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'How many snapshots to take (two, so rate-based checks run)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between snapshots')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up and report UNKNOWN after this long, whatever the server does')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Warning bound on a metric, e.g. connections=80%, blocked=5, longest_lock_wait=10s, idle_in_transaction=3, queued_tasks=1')
            [CompletionResult]::new('--warning', '--warning', [CompletionResultType]::ParameterName, 'Warning bound on a metric, e.g. connections=80%, blocked=5, longest_lock_wait=10s, idle_in_transaction=3, queued_tasks=1')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Critical bound on a metric (same forms as --warning)')
            [CompletionResult]::new('--critical', '--critical', [CompletionResultType]::ParameterName, 'Critical bound on a metric (same forms as --warning)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Judge only these verdicts (ids as in `spiral playbook`; repeat the flag or separate with commas), e.g. --only connection-exhaustion,blocking-chain')
            [CompletionResult]::new('--ignore', '--ignore', [CompletionResultType]::ParameterName, 'Never judge these verdicts (same form as --only), e.g. --ignore missing-guardrails')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;timeline' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from this capture file (the same as giving it as the argument)')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Samples the rules see at each step; the window slides one sample at a time. The default is triage''s, so each row says what `spiral triage` would have said then')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Live only: how many samples to take')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Live only: time between samples')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;report' {
            [CompletionResult]::new('--replay', '--replay', [CompletionResultType]::ParameterName, 'Read snapshots from this capture file (the same as giving it as the argument)')
            [CompletionResult]::new('--window', '--window', [CompletionResultType]::ParameterName, 'Samples the rules see at each step; the window slides one sample at a time. The default is triage''s, so each row says what `spiral triage` would have said then')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'Live only: how many samples to take')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Live only: time between samples')
            [CompletionResult]::new('--idle-over', '--idle-over', [CompletionResultType]::ParameterName, 'An idle connection older than this counts toward an idle-connection leak [default: 5m]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting after this long [default: 5s]')
            [CompletionResult]::new('--query-timeout', '--query-timeout', [CompletionResultType]::ParameterName, 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]')
            [CompletionResult]::new('--encrypt', '--encrypt', [CompletionResultType]::ParameterName, 'SQL Server: encryption of the connection')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The HTML file to write')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The HTML file to write')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of standard input')
            [CompletionResult]::new('--dac', '--dac', [CompletionResultType]::ParameterName, 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix')
            [CompletionResult]::new('--trust-server-certificate', '--trust-server-certificate', [CompletionResultType]::ParameterName, 'SQL Server: accept the server''s certificate without validating it')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace the output file if it exists')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;playbook' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;queries' {
            [CompletionResult]::new('--engine', '--engine', [CompletionResultType]::ParameterName, 'Only this engine''s queries')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;thresholds' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;completions' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--client-timeout', '--client-timeout', [CompletionResultType]::ParameterName, 'The caller''s (or proxy''s) timeout: requests running longer are wasted work')
            [CompletionResult]::new('-T', '-T ', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--threshold', '--threshold', [CompletionResultType]::ParameterName, 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)')
            [CompletionResult]::new('--ascii', '--ascii', [CompletionResultType]::ParameterName, 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the verdicts (no first look, no progress, no notes)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'spiral;help' {
            [CompletionResult]::new('triage', 'triage', [CompletionResultType]::ParameterValue, 'Sample the server, diff the samples and say what kind of spiral this is')
            [CompletionResult]::new('waits', 'waits', [CompletionResultType]::ParameterValue, 'Top waits now, and how they changed over the window')
            [CompletionResult]::new('workers', 'workers', [CompletionResultType]::ParameterValue, 'Queued tasks and active/max worker threads')
            [CompletionResult]::new('blocking', 'blocking', [CompletionResultType]::ParameterValue, 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles')
            [CompletionResult]::new('connections', 'connections', [CompletionResultType]::ParameterValue, 'Connections by user, host, application and state, with idle ages, against the limit')
            [CompletionResult]::new('compiles', 'compiles', [CompletionResultType]::ParameterValue, 'Compile rate, compilations per batch, compile-gate queue')
            [CompletionResult]::new('plancache', 'plancache', [CompletionResultType]::ParameterValue, 'Plan cache by object type: plans, single-use share, size')
            [CompletionResult]::new('capture', 'capture', [CompletionResultType]::ParameterValue, 'Record snapshots to a capture file for later replay')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'A live view that refreshes in place: verdicts first, then gauges and sessions. Keys: s w b c k p l switch the panel, arrows and PgUp/PgDn scroll it, q quits')
            [CompletionResult]::new('stalk', 'stalk', [CompletionResultType]::ParameterValue, 'Wait for a condition and capture the spiral in the act (like pt-stalk, any engine)')
            [CompletionResult]::new('kill', 'kill', [CompletionResultType]::ParameterValue, 'End idle or runaway sessions safely: filters, dry run by default, re-checks')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst verdicts and performance data, with plugin exit codes')
            [CompletionResult]::new('timeline', 'timeline', [CompletionResultType]::ParameterValue, 'When each verdict started, changed severity and cleared over a capture (or a live run), with the key figures at each change: the postmortem''s timeline')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One self-contained HTML file for the postmortem: charts, verdict timeline, worst moments, playbooks')
            [CompletionResult]::new('playbook', 'playbook', [CompletionResultType]::ParameterValue, 'List the playbooks, or print one')
            [CompletionResult]::new('queries', 'queries', [CompletionResultType]::ParameterValue, 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run')
            [CompletionResult]::new('thresholds', 'thresholds', [CompletionResultType]::ParameterValue, 'List every rule threshold with its default and meaning')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, powershell, elvish) or a man page (man, or `man triage` for spiral-triage(1))')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'spiral;help;triage' {
            break
        }
        'spiral;help;waits' {
            break
        }
        'spiral;help;workers' {
            break
        }
        'spiral;help;blocking' {
            break
        }
        'spiral;help;connections' {
            break
        }
        'spiral;help;compiles' {
            break
        }
        'spiral;help;plancache' {
            break
        }
        'spiral;help;capture' {
            break
        }
        'spiral;help;watch' {
            break
        }
        'spiral;help;stalk' {
            break
        }
        'spiral;help;kill' {
            break
        }
        'spiral;help;check' {
            break
        }
        'spiral;help;timeline' {
            break
        }
        'spiral;help;report' {
            break
        }
        'spiral;help;playbook' {
            break
        }
        'spiral;help;queries' {
            break
        }
        'spiral;help;thresholds' {
            break
        }
        'spiral;help;completions' {
            break
        }
        'spiral;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
