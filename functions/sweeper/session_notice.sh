#!/bin/sh
# Session Warden: write one notice line into the terminal of a Session Manager session on this Linux node.
# Parameters arrive as environment variables (interpolationType ENV_VAR): SSM_SessionId, SSM_Message. They are
# data: checked against the document's patterns again, compared and printed, never evaluated or run.
# Exit codes: 0 written; 2 a parameter missing or malformed (or an agent too old to pass parameters as
# environment variables); 3 no session worker of that session on this node; 4 the session has no terminal;
# 5 the terminal could not be written.
set -u
LC_ALL=C
export LC_ALL

session_id=${SSM_SessionId-}
message=${SSM_Message-}

# The caller's name (IAM user, role session or federated user name characters), a dash, the suffix AWS adds.
case $session_id in
'' | *[!A-Za-z0-9+=,.@_-]*)
    echo "session id missing or malformed" >&2
    exit 2
    ;;
esac
suffix=${session_id##*-}
name=${session_id%-*}
# 17 hexadecimal characters in older sessions, 26 of [a-z2-9] now; a name of 1 to 64 characters.
case $suffix in
*[!a-z0-9]* | '') suffix= ;;
esac
if [ -z "$name" ] || [ "${#name}" -gt 64 ] || { [ "${#suffix}" -ne 17 ] && [ "${#suffix}" -ne 26 ]; }; then
    echo "session id missing or malformed" >&2
    exit 2
fi
# Letters, digits, spaces and . , : ( ) / + _ - only: no control character or escape sequence reaches a terminal.
case $message in
'' | *[!A-Za-z0-9\ .,:\(\)/+_-]*)
    echo "message missing or malformed" >&2
    exit 2
    ;;
esac
if [ "${#message}" -gt 200 ]; then
    echo "message too long" >&2
    exit 2
fi

me=$(id -u)
worker=
for dir in /proc/[0-9]*; do
    [ -r "$dir/cmdline" ] || continue
    # The session worker runs as the agent's user (root): a process someone else started is not it.
    owner=$(stat -c %u "$dir" 2>/dev/null) || continue
    [ "$owner" = "$me" ] || continue
    # argv[0] is ssm-session-worker (by name), argv[1] exactly the session id: a field-by-field match.
    argv0=
    argv1=
    index=0
    while IFS= read -r field; do
        case $index in
        0) argv0=$field ;;
        1) argv1=$field ;;
        *) break ;;
        esac
        index=$((index + 1))
    done <<EOF
$(tr '\000\n' '\n\001' <"$dir/cmdline" 2>/dev/null)
EOF
    [ "${argv0##*/}" = "ssm-session-worker" ] || continue
    [ "$argv1" = "$session_id" ] || continue
    worker=${dir#/proc/}
    break
done
if [ -z "$worker" ]; then
    echo "no session worker for this session on this node" >&2
    exit 3
fi

# The fields after the command name, which is in parentheses and may itself contain spaces or parentheses.
stat_fields() {
    line=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    echo "${line##*) }"
}

# The pseudo-terminal of a process: its standard input when that is one, else its controlling terminal.
terminal_of() {
    input=$(readlink "/proc/$1/fd/0" 2>/dev/null) || input=
    case $input in
    /dev/pts/[0-9]*)
        echo "$input"
        return 0
        ;;
    esac
    fields=$(stat_fields "$1") || return 1
    # shellcheck disable=SC2086  # numbers and a state letter only: split into fields on purpose
    set -- $fields
    tty_nr=${5:-0}
    major=$(((tty_nr >> 8) & 4095))
    minor=$(((tty_nr & 255) | ((tty_nr >> 12) & 1048320)))
    # Unix98 pseudo-terminals use majors 136 to 143.
    if [ "$major" -ge 136 ] && [ "$major" -le 143 ]; then
        echo "/dev/pts/$(((major - 136) * 256 + minor))"
        return 0
    fi
    return 1
}

terminal=
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    fields=$(stat_fields "$pid") || continue
    # shellcheck disable=SC2086
    set -- $fields
    [ "${2:-}" = "$worker" ] || continue
    terminal=$(terminal_of "$pid") && break
    terminal=
done
if [ -z "$terminal" ] || [ ! -c "$terminal" ]; then
    echo "the session has no terminal" >&2
    exit 4
fi

if ! printf '\r\n%s\r\n' "$message" >"$terminal" 2>/dev/null; then
    echo "could not write to the session's terminal" >&2
    exit 5
fi
echo "notice written to $terminal"
exit 0
