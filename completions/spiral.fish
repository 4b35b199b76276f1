# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_spiral_global_optspecs
    string join \n format= client-timeout= idle-over= T/threshold= ascii q/quiet password-stdin connect-timeout= query-timeout= dac encrypt= trust-server-certificate h/help V/version
end

function __fish_spiral_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_spiral_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_spiral_using_subcommand
    set -l cmd (__fish_spiral_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c spiral -n "__fish_spiral_needs_command" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_needs_command" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_needs_command" -l idle-over -d 'See the command\'s own --idle-over' -r
complete -c spiral -n "__fish_spiral_needs_command" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_needs_command" -l connect-timeout -r
complete -c spiral -n "__fish_spiral_needs_command" -l query-timeout -r
complete -c spiral -n "__fish_spiral_needs_command" -l encrypt -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_needs_command" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_needs_command" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_needs_command" -l password-stdin
complete -c spiral -n "__fish_spiral_needs_command" -l dac
complete -c spiral -n "__fish_spiral_needs_command" -l trust-server-certificate
complete -c spiral -n "__fish_spiral_needs_command" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_needs_command" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "triage" -d 'Sample the server, diff the samples and say what kind of spiral this is'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "waits" -d 'Top waits now, and how they changed over the window'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "workers" -d 'Queued tasks and active/max worker threads'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "blocking" -d 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "connections" -d 'Connections by user, host, application and state, with idle ages, against the limit'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "compiles" -d 'Compile rate, compilations per batch, compile-gate queue'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "plancache" -d 'Plan cache by object type: plans, single-use share, size'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "capture" -d 'Record snapshots to a capture file for later replay'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "watch" -d 'A live view that refreshes in place: verdicts first, then gauges and sessions. Keys: s w b c k p l switch the panel, arrows and PgUp/PgDn scroll it, q quits'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "stalk" -d 'Wait for a condition and capture the spiral in the act (like pt-stalk, any engine)'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "kill" -d 'End idle or runaway sessions safely: filters, dry run by default, re-checks'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "check" -d 'One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst verdicts and performance data, with plugin exit codes'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "timeline" -d 'When each verdict started, changed severity and cleared over a capture (or a live run), with the key figures at each change: the postmortem\'s timeline'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "report" -d 'One self-contained HTML file for the postmortem: charts, verdict timeline, worst moments, playbooks'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "playbook" -d 'List the playbooks, or print one'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "queries" -d 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "thresholds" -d 'List every rule threshold with its default and meaning'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish) or a man page (man, or `man triage` for spiral-triage(1))'
complete -c spiral -n "__fish_spiral_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand triage" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand waits" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand workers" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand blocking" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand connections" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand compiles" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l samples -d 'How many snapshots to take (live only; a replay uses the whole file)' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l limit -d 'Rows per table [default: 20 in a table, all of them with --format json]' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand plancache" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l samples -d 'How many snapshots to record' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -s o -l output -d 'The capture file to write. An existing file is left alone unless --force' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l force -d 'Replace an existing capture file (only once the new capture has a snapshot)'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand capture" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l interval -d 'Time between refreshes' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand watch" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l when -d 'Trigger: a verdict at a severity (connection-exhaustion:warning) or a gauge over a value (\'connections>80%\', \'blocked>10\', \'longest_lock_wait>30s\'). Repeatable: any one holding counts' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l cycles -d 'Polls in a row the condition must hold before a capture starts' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l interval -d 'Time between polls while armed' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l samples -d 'Samples in each capture' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l capture-interval -d 'Time between the samples of a capture' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l cooldown -d 'Sleep after a capture before re-arming' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l max-captures -d 'Stop after this many captures (0: never)' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l min-free -d 'Do not capture when less than this is free on the output\'s file system' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l for -d 'Stop after running this long (default: until Ctrl-C or --max-captures)' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -s o -l output -d 'The directory for captures' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand stalk" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l idle-over -d 'Sessions idle (or idle in a transaction) at least this long' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l busy-over -d 'Sessions running their current statement at least this long' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l user -d 'Sessions of this user (repeatable: any of them)' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l host -d 'Sessions from this client host' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l app -d 'Sessions of this application name' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l db -d 'Sessions in this database' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l state -d 'Sessions in this state (idle, active, idle-in-transaction, or the engine\'s word)' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l command -d 'Sessions running this command (MySQL Command, SQL Server command)' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l match-sql -d 'Sessions whose query text matches this regular expression' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-user -d 'Never sessions of this user' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-host -d 'Never sessions from this host' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-app -d 'Never sessions of this application' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-db -d 'Never sessions in this database' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-state -d 'Never sessions in this state' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-command -d 'Never sessions running this command' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ignore-sql -d 'Never sessions whose query matches this regular expression' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l victims -d 'Which matched sessions to end' -r -f -a "all\t''
oldest\t''
all-but-oldest\t''"
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l max -d 'End at most this many sessions (over the whole run, rounds of --every included)' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l rate -d 'At most this many kills per second' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l log -d 'Append one JSON line per action to this file, for the postmortem' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l every -d 'Repeat the kill every DUR (5s to 1h), re-selecting and re-checking each round, for a leak that refills; needs --for' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l for -d 'How long a repeated kill runs at most (up to 24h); needs --every' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l until-quiet -d 'Stop a repeated kill early after N rounds in a row found nothing to end' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l idle-in-transaction -d 'Only sessions idle inside an open transaction'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l blocking-leaders -d 'Only the heads of blocking chains'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l query-only -d 'Cancel the running statement but keep the connection (PostgreSQL, MySQL)'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l include-admins -d 'Also consider superuser/admin sessions'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l rds -d 'MySQL on RDS: use CALL mysql.rds_kill (detected automatically when possible)'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l execute -d 'Actually end the sessions (the default is a dry run that prints the plan)'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l yes -d 'Do not ask for confirmation (required with --execute when there is no terminal)'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand kill" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand check" -l replay -d 'Read snapshots from a capture file instead of a live server' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand check" -l pooler -d 'PostgreSQL: the PgBouncer admin console in front of it (pgbouncer://user@host:6432/pgbouncer), sampled in the same window so one run sees both the clients queued in the pooler and the database behind it' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand check" -l samples -d 'How many snapshots to take (two, so rate-based checks run)' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l interval -d 'Time between snapshots' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l timeout -d 'Give up and report UNKNOWN after this long, whatever the server does' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -s w -l warning -d 'Warning bound on a metric, e.g. connections=80%, blocked=5, longest_lock_wait=10s, idle_in_transaction=3, queued_tasks=1' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -s c -l critical -d 'Critical bound on a metric (same forms as --warning)' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l only -d 'Judge only these verdicts (ids as in `spiral playbook`; repeat the flag or separate with commas), e.g. --only connection-exhaustion,blocking-chain' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l ignore -d 'Never judge these verdicts (same form as --only), e.g. --ignore missing-guardrails' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand check" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand check" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand check" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand check" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand check" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand check" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand check" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand check" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l replay -d 'Read snapshots from this capture file (the same as giving it as the argument)' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l window -d 'Samples the rules see at each step; the window slides one sample at a time. The default is triage\'s, so each row says what `spiral triage` would have said then' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l samples -d 'Live only: how many samples to take' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l interval -d 'Live only: time between samples' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand timeline" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand report" -l replay -d 'Read snapshots from this capture file (the same as giving it as the argument)' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand report" -l window -d 'Samples the rules see at each step; the window slides one sample at a time. The default is triage\'s, so each row says what `spiral triage` would have said then' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l samples -d 'Live only: how many samples to take' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l interval -d 'Live only: time between samples' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l idle-over -d 'An idle connection older than this counts toward an idle-connection leak [default: 5m]' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l connect-timeout -d 'Give up connecting after this long [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l query-timeout -d 'Give up on any one query after this long (the server is told to stop it too) [default: 5s]' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l encrypt -d 'SQL Server: encryption of the connection' -r -f -a "off\t''
on\t''
strict\t''"
complete -c spiral -n "__fish_spiral_using_subcommand report" -s o -l output -d 'The HTML file to write' -r -F
complete -c spiral -n "__fish_spiral_using_subcommand report" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand report" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand report" -l password-stdin -d 'Read the password from the first line of standard input'
complete -c spiral -n "__fish_spiral_using_subcommand report" -l dac -d 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
complete -c spiral -n "__fish_spiral_using_subcommand report" -l trust-server-certificate -d 'SQL Server: accept the server\'s certificate without validating it'
complete -c spiral -n "__fish_spiral_using_subcommand report" -l force -d 'Replace the output file if it exists'
complete -c spiral -n "__fish_spiral_using_subcommand report" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand report" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand report" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand report" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand playbook" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand queries" -l engine -d 'Only this engine\'s queries' -r -f -a "postgres\t''
mysql\t''
mssql\t''"
complete -c spiral -n "__fish_spiral_using_subcommand queries" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand queries" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand queries" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand queries" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand queries" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand queries" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand queries" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand thresholds" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand completions" -l format -d 'Output format' -r -f -a "table\t''
json\t''
slack\t''
markdown\t''"
complete -c spiral -n "__fish_spiral_using_subcommand completions" -l client-timeout -d 'The caller\'s (or proxy\'s) timeout: requests running longer are wasted work' -r
complete -c spiral -n "__fish_spiral_using_subcommand completions" -s T -l threshold -d 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)' -r
complete -c spiral -n "__fish_spiral_using_subcommand completions" -l ascii -d 'Plain ASCII output (no ·, └, …, █), for consoles that cannot show UTF-8. On by itself when the locale (LC_ALL, LC_CTYPE, LANG) is not UTF-8'
complete -c spiral -n "__fish_spiral_using_subcommand completions" -s q -l quiet -d 'Print only the verdicts (no first look, no progress, no notes)'
complete -c spiral -n "__fish_spiral_using_subcommand completions" -s h -l help -d 'Print help'
complete -c spiral -n "__fish_spiral_using_subcommand completions" -s V -l version -d 'Print version'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "triage" -d 'Sample the server, diff the samples and say what kind of spiral this is'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "waits" -d 'Top waits now, and how they changed over the window'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "workers" -d 'Queued tasks and active/max worker threads'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "blocking" -d 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "connections" -d 'Connections by user, host, application and state, with idle ages, against the limit'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "compiles" -d 'Compile rate, compilations per batch, compile-gate queue'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "plancache" -d 'Plan cache by object type: plans, single-use share, size'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "capture" -d 'Record snapshots to a capture file for later replay'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "watch" -d 'A live view that refreshes in place: verdicts first, then gauges and sessions. Keys: s w b c k p l switch the panel, arrows and PgUp/PgDn scroll it, q quits'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "stalk" -d 'Wait for a condition and capture the spiral in the act (like pt-stalk, any engine)'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "kill" -d 'End idle or runaway sessions safely: filters, dry run by default, re-checks'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "check" -d 'One line for monitors (Nagios, Icinga, Sensu, health checks): status, worst verdicts and performance data, with plugin exit codes'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "timeline" -d 'When each verdict started, changed severity and cleared over a capture (or a live run), with the key figures at each change: the postmortem\'s timeline'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "report" -d 'One self-contained HTML file for the postmortem: charts, verdict timeline, worst moments, playbooks'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "playbook" -d 'List the playbooks, or print one'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "queries" -d 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "thresholds" -d 'List every rule threshold with its default and meaning'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, powershell, elvish) or a man page (man, or `man triage` for spiral-triage(1))'
complete -c spiral -n "__fish_spiral_using_subcommand help; and not __fish_seen_subcommand_from triage waits workers blocking connections compiles plancache capture watch stalk kill check timeline report playbook queries thresholds completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
