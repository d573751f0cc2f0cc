# Sourced by bench/run.sh and bench/compare.sh: the workload selection.
#   has LIST WORD        whether WORD is in the space-separated LIST
#   select_workloads USAGE [B<k> ...]
#                        sets SEL to the distinct workloads named (upper-cased),
#                        or prints USAGE and exits 2 on anything else
has() { case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac; }

select_workloads() {
    usage=$1
    shift
    SEL=""
    for arg in "$@"; do
        id=$(printf '%s' "$arg" | tr '[:lower:]' '[:upper:]')
        case $id in
        B[0-9] | B1[01]) ;;
        *) echo "usage: $usage   (B0..B11)" >&2; exit 2 ;;
        esac
        has "$SEL" "$id" || SEL="$SEL $id"
    done
}
