# bash completion for netlabctl: subcommands, their options, and paths
# (a config directory or a .yaml file) for check/plan/apply.
_netlabctl() {
    local cur prev cmd
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="check plan apply status reload confirm rollback history diff graph show help --help --version"
    local common="--config-dir --state-dir --socket --json --help"

    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
        return
    fi
    cmd=${COMP_WORDS[1]}

    case $prev in
    --config-dir | --state-dir)
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return
        ;;
    --socket | --docker-socket)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    --confirm)
        mapfile -t COMPREPLY < <(compgen -W "30s 60s 2m 5m 10m" -- "$cur")
        return
        ;;
    --color)
        mapfile -t COMPREPLY < <(compgen -W "never auto always" -- "$cur")
        return
        ;;
    --netns)
        # NAME=netns:NAME for each named namespace (ip netns add).
        local n names=()
        for n in /run/netns/*; do [ -e "$n" ] && names+=("${n##*/}=netns:${n##*/}"); done
        mapfile -t COMPREPLY < <(compgen -W "${names[*]} netns: docker: pid: path:" -- "$cur")
        return
        ;;
    esac

    local opts
    case $cmd in
    check) opts="--json --config-dir --help" ;;
    plan) opts="--json --color --config-dir --state-dir --docker-socket --help" ;;
    apply) opts="--json --color --detailed-exitcode --config-dir --state-dir --docker-socket --confirm --socket --timeout --help" ;;
    status) opts="--json --socket --timeout --help" ;;
    reload) opts="--full --json --socket --timeout --help" ;;
    confirm) opts="--force --json --socket --timeout --help" ;;
    rollback) opts="--to --confirm --json --socket --timeout --help" ;;
    history) opts="--json --socket --timeout --help" ;;
    diff) opts="--json --socket --timeout --help" ;;
    graph) opts="--live --help" ;;
    show) opts="--json --yaml --netns --docker-socket --help" ;;
    *) opts=$common ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return
    fi
    case $cmd in
    check | plan | apply | graph)
        # A config directory or one topology file.
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$cur"; compgen -f -X '!*.@(yaml|yml)' -- "$cur")
        ;;
    esac
}
complete -F _netlabctl netlabctl
