#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Tests the bash completion in gpupv/completion/gpupv: it is sourced into this
# shell and its function is called with COMP_WORDS and COMP_CWORD set, as bash
# does on <Tab>. Needs bash only, not the bash-completion package.
# When the gpupv binary is built (./gpupv/gpupv, or $GPUPV), the commands and
# options offered are also compared with 'gpupv --help'.
# Exit status: 0 pass, 1 fail, 77 skip.

if [ -z "${BASH_VERSION:-}" ]; then
    command -v bash >/dev/null 2>&1 || { echo "SKIP: bash is not installed"; exit 77; }
    exec bash "$0" "$@"
fi

set -u

top=${srcdir:-$(dirname "$0")/..}
script=$top/gpupv/completion/gpupv
gpupv=${GPUPV:-./gpupv/gpupv}

if ! type complete compgen >/dev/null 2>&1; then
    echo "SKIP: this bash has no programmable completion (complete, compgen)"
    exit 77
fi
if [[ ! -r $script ]]; then
    echo "FAIL: cannot read $script"
    exit 1
fi

# shellcheck source=../gpupv/completion/gpupv
. "$script" || { echo "FAIL: sourcing $script failed"; exit 1; }

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/alpha" "$tmp/also dir" "$tmp/beta"
: >"$tmp/afile"

failed=0
passed=0

# complete WORD... : completes the last word of the line "WORD...", prints the
# candidates sorted, one per line.
complete_words()
{
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _gpupv gpupv "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    ((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
}

# check 'DESCRIPTION' 'EXPECTED' WORD... : EXPECTED holds the candidates, one
# per line, sorted as LC_ALL=C sort does.
check()
{
    local what=$1 expected=$2 got
    shift 2

    got=$(complete_words "$@")
    if [[ $got == "$expected" ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: $what"
        echo "  line:     gpupv ${*:2}|"
        echo "  expected: $(printf '%s' "$expected" | tr '\n' ' ')"
        echo "  got:      $(printf '%s' "$got" | tr '\n' ' ')"
    fi
}

lines() { [[ $# -gt 0 ]] && printf '%s\n' "$@" | LC_ALL=C sort; }

commands=$(lines bind boot-config deploy drivers-store drivers-sync help list plan precheck status templates unbind undeploy)
options=$(lines -r --root -j --json --no-color -v --verbose -n --dry-run -f --force --recover --no-wait --apply --persist --share --count --requests -h --help -V --version)
dirs_a=$(lines "$tmp/alpha" "$tmp/also dir")

if complete -p gpupv 2>/dev/null | grep -q -- '-F _gpupv'; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAIL: the script does not register _gpupv for gpupv"
fi

check 'commands' "$commands" gpupv ''
check 'command prefix' precheck gpupv pre
check 'command prefix' list gpupv l
check 'unknown prefix' '' gpupv x
check 'all options' "$options" gpupv -
check 'long options' "$(lines --apply --count --dry-run --force --help --json --no-color --no-wait --persist --recover --requests --root --share --verbose --version)" gpupv --
check 'option prefix' "$(lines --recover --requests --root)" gpupv --r
check 'option prefix' --root gpupv --ro
check 'option prefix' "$(lines --no-color --no-wait)" gpupv --no
check 'option prefix' --no-color gpupv --no-c
check 'options after the command' --json gpupv precheck --j
check 'options after the command' "$options" gpupv list -
check 'commands after an option' "$commands" gpupv --json ''
check 'commands after an option' list gpupv -v --no-color l
check 'deploy options' "$(lines --replace --root)" gpupv deploy vm --r
if [[ -x $gpupv ]]; then
    # The completion asks 'gpupv templates': this build's.
    gpupv() { "$gpupv" "$@"; }
    check 'deploy: --template takes a template' "$(lines linux)" gpupv deploy vm --template li
    unset -f gpupv
fi
check 'deploy: after --template NAME, options again' --no-start gpupv deploy vm --template linux --no-s
check 'deploy: the --boot options' "$(lines --boot-cmdline --boot-initrd --boot-kernel)" gpupv deploy vm --bo
check 'deploy: --import' --import gpupv deploy vm --im
check 'deploy: --serial-log' --serial-log gpupv deploy vm --se
for o in --import --boot-kernel --boot-initrd --serial-log; do
    check "deploy: files after $o" "$tmp/afile" gpupv deploy vm "$o" "$tmp/af"
done
check 'deploy: nothing offered for --boot-cmdline' '' gpupv deploy vm --boot-cmdline ''
check 'deploy: after --boot-cmdline TEXT, options again' --boot-initrd gpupv deploy vm --boot-cmdline x --boot-i
check 'deploy: after --import FILE, options again' --no-start gpupv deploy vm --import x --no-s
check 'undeploy options' --keep-disk gpupv undeploy vm --k
check 'drivers-sync options' "$(lines --check)" gpupv drivers-sync --dir /tmp --che
check 'drivers-store actions' "$(lines add list remove)" gpupv drivers-store ''
check 'drivers-store options' "$(lines --vendor --verbose --version)" gpupv drivers-store list --ve
check 'drivers-sync --format' "$(lines qcow2)" gpupv drivers-sync --image x --format qc

check 'directories after --root' "$dirs_a" gpupv --root "$tmp/a"
check 'directories after -r' "$dirs_a" gpupv -r "$tmp/a"
check 'directories after -jr' "$dirs_a" gpupv -jr "$tmp/a"
check 'directories after --root, after the command' "$dirs_a" gpupv precheck --root "$tmp/a"
check 'directories after --root=, split at =' "$dirs_a" gpupv --root = "$tmp/a"
cd "$tmp" || exit 1
check 'directories after --root= with nothing typed' "$(lines alpha 'also dir' beta)" gpupv --root =
check 'relative directories' "$(lines alpha 'also dir')" gpupv -r a
cd - >/dev/null || exit 1
check 'directories in --root=DIR' "$(lines "--root=$tmp/alpha/" "--root=$tmp/also dir/")" \
    gpupv "--root=$tmp/a"
check 'no files after --root' '' gpupv --root "$tmp/af"
check 'no options as the argument of --root' '' gpupv --root -

check 'the argument of --root is no command' "$commands" gpupv --root "$tmp/beta" ''
check 'the argument of -r is no command' precheck gpupv -r "$tmp/beta" pr
check 'the argument of --root=, split, is no command' list gpupv --root = "$tmp/beta" l
check 'the argument of --root=DIR is no command' "$commands" gpupv "--root=$tmp/beta" ''
check 'the argument of -rDIR is no command' "$commands" gpupv "-r$tmp/beta" ''

check 'commands after help' "$commands" gpupv help ''
check 'commands after help' precheck gpupv help pr
check 'commands after help and options' list gpupv help --json l
check 'one command after help' '' gpupv help list ''
check 'no operands for precheck' '' gpupv precheck ''
check 'no operands for list' '' gpupv --root "$tmp/beta" list ''
check 'a command after --' list gpupv -- li
check 'no options after --' '' gpupv -- precheck --j
check 'the argument of --share is no command' '' gpupv --share 25 plan ''
check 'shares after --share' "$(lines 100 12.5)" gpupv plan --share 1
check 'files after --requests' "$tmp/afile" gpupv plan --requests "$tmp/af"

# The lists in the script are the binary's.
if [[ -x $gpupv ]]; then
    help=$("$gpupv" --help) || { echo "FAIL: '$gpupv --help' failed"; exit 1; }
    from_help=$(printf '%s\n' "$help" | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' |
        LC_ALL=C sort)
    check "commands in '$gpupv --help'" "$from_help" gpupv ''
    from_help=$(printf '%s\n' "$help" | sed -n '/^Options/,$p' | grep -o -E -- '(^|[ ,])--?[A-Za-z][a-z-]*' |
        tr -d ' ,' | LC_ALL=C sort -u)
    check "options in '$gpupv --help'" "$from_help" gpupv -
    # deploy's options: those its --help shows, and --verbose and --help.
    help=$("$gpupv" deploy --help) || { echo "FAIL: '$gpupv deploy --help' failed"; exit 1; }
    from_help=$( (printf '%s\n' "$help" | grep -o -E -- '--[a-z][a-z-]*'; echo --verbose; echo --help) |
        LC_ALL=C sort -u)
    check "deploy options in '$gpupv deploy --help'" "$from_help" gpupv deploy vm --
else
    echo "note: no gpupv binary at '$gpupv' (set GPUPV); not compared with --help"
fi

echo "completion: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
