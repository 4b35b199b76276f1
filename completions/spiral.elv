
use builtin;
use str;

set edit:completion:arg-completer[spiral] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'spiral'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'spiral'= {
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand triage 'Sample the server, diff the samples and say what kind of spiral this is'
            cand waits 'Top waits now, and how they changed over the window'
            cand workers 'Queued tasks and active/max worker threads'
            cand blocking 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles'
            cand connections 'Connections by user, host, application and state, with idle ages, against the limit'
            cand compiles 'Compile rate, compilations per batch, compile-gate queue'
            cand plancache 'Plan cache by object type: plans, single-use share, size'
            cand capture 'Record snapshots to a capture file for later replay'
            cand playbook 'List the playbooks, or print one'
            cand queries 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run'
            cand thresholds 'List every rule threshold with its default and meaning'
            cand completions 'Print shell completions (bash, zsh, fish, powershell, elvish) or the man page (man)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spiral;triage'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;waits'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;workers'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;blocking'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;connections'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;compiles'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;plancache'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to take (live only; a replay uses the whole file)'
            cand --interval 'Time between snapshots'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;capture'= {
            cand --replay 'Read snapshots from a capture file instead of a live server'
            cand --samples 'How many snapshots to record'
            cand --interval 'Time between snapshots'
            cand -o 'The capture file to write'
            cand --output 'The capture file to write'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;playbook'= {
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;queries'= {
            cand --engine 'Only this engine''s queries'
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;thresholds'= {
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;completions'= {
            cand --format 'Output format'
            cand --client-timeout 'The caller''s (or proxy''s) timeout: requests running longer are wasted work'
            cand --idle-over 'When an idle connection counts toward a leak'
            cand -T 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --threshold 'Override a rule threshold, e.g. -T connections_warning_pct=70 (see `spiral thresholds`)'
            cand --connect-timeout 'Give up connecting after this long'
            cand --query-timeout 'Give up on any one query after this long (the server is told to stop it too)'
            cand --encrypt 'SQL Server: encryption of the connection'
            cand -q 'Print only the verdicts (no first look, no progress, no notes)'
            cand --quiet 'Print only the verdicts (no first look, no progress, no notes)'
            cand --password-stdin 'Read the password from the first line of standard input'
            cand --dac 'SQL Server: connect through the dedicated admin connection (the way in when worker threads are exhausted). Same as the `admin:` host prefix'
            cand --trust-server-certificate 'SQL Server: accept the server''s certificate without validating it'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'spiral;help'= {
            cand triage 'Sample the server, diff the samples and say what kind of spiral this is'
            cand waits 'Top waits now, and how they changed over the window'
            cand workers 'Queued tasks and active/max worker threads'
            cand blocking 'Blocking chains as trees: lead blockers, depth, blocked count, longest wait, cycles'
            cand connections 'Connections by user, host, application and state, with idle ages, against the limit'
            cand compiles 'Compile rate, compilations per batch, compile-gate queue'
            cand plancache 'Plan cache by object type: plans, single-use share, size'
            cand capture 'Record snapshots to a capture file for later replay'
            cand playbook 'List the playbooks, or print one'
            cand queries 'Print the bundled SQL, to paste into psql, mysql or sqlcmd when spiral cannot run'
            cand thresholds 'List every rule threshold with its default and meaning'
            cand completions 'Print shell completions (bash, zsh, fish, powershell, elvish) or the man page (man)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'spiral;help;triage'= {
        }
        &'spiral;help;waits'= {
        }
        &'spiral;help;workers'= {
        }
        &'spiral;help;blocking'= {
        }
        &'spiral;help;connections'= {
        }
        &'spiral;help;compiles'= {
        }
        &'spiral;help;plancache'= {
        }
        &'spiral;help;capture'= {
        }
        &'spiral;help;playbook'= {
        }
        &'spiral;help;queries'= {
        }
        &'spiral;help;thresholds'= {
        }
        &'spiral;help;completions'= {
        }
        &'spiral;help;help'= {
        }
    ]
    $completions[$command]
}
