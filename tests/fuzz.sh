#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the libFuzzer targets ('make fuzz') and runs each over a copy of its seed corpus in
# tests/fuzz/corpus/NAME/ for a bounded number of runs; a crash, sanitizer report, leak or
# timeout fails the test. Skips (77) when configure found no clang or clang cannot link
# libFuzzer.
#
# Environment: top_builddir or abs_top_builddir (the build tree; guessed when unset), srcdir
# (tests/ or the top source directory) or top_srcdir (else the script's own folder), MAKE,
# GPV_FUZZ_RUNS (runs per target, default 20000), GPV_FUZZ_TIME (seconds per target instead of
# a run count), GPV_FUZZ_JOBS (targets run at once, default 2).
set -u

targets="cpuinfo cmdline uevent mdev-desc ids pci-config root-resolve journal grub validate nodedev
    ldcache json ds-manifest volume image"
runs=${GPV_FUZZ_RUNS:-20000}
jobs=${GPV_FUZZ_JOBS:-2}

skip() {
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*"
    exit 1
}

here=$(cd "$(dirname "$0")" && pwd) || fail "cannot find the script's folder"

corpus=
for d in "${srcdir:+$srcdir/fuzz/corpus}" "${srcdir:+$srcdir/tests/fuzz/corpus}" \
    "${top_srcdir:+$top_srcdir/tests/fuzz/corpus}" "$here/fuzz/corpus"; do
    if [ -n "$d" ] && [ -d "$d" ]; then
        corpus=$(cd "$d" && pwd)
        break
    fi
done
[ -n "$corpus" ] || fail "no seed corpus (tests/fuzz/corpus) found; set srcdir"

# 'make check' runs tests in the top build directory (one non-recursive Makefile); an
# in-tree build has it next to this script.
builddir=${abs_top_builddir:-${top_builddir:-}}
if [ -z "$builddir" ]; then
    for d in . "$here/.."; do
        if [ -f "$d/Makefile" ] && grep -q '^GPV_FUZZ_ALL' "$d/Makefile"; then
            builddir=$d
            break
        fi
    done
fi
[ -n "$builddir" ] && [ -f "$builddir/Makefile" ] ||
    skip "no configured build tree found; set top_builddir"
builddir=$(cd "$builddir" && pwd)

clang=$(sed -n 's/^CLANG = //p' "$builddir/Makefile")
[ -n "$clang" ] || skip "configure found no clang; the fuzz targets need clang and libFuzzer"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpv-fuzz.XXXXXX") || fail "cannot make a temporary folder"
keep=
cleanup() {
    if [ -n "$keep" ]; then
        echo "kept $tmp for inspection"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT

printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$tmp/probe.c"
"$clang" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" \
    > "$tmp/probe.log" 2>&1 ||
    skip "$clang cannot link -fsanitize=fuzzer (install libFuzzer, e.g. Debian 'libclang-rt-dev' or 'libfuzzer-NN-dev'): $(tail -n 1 "$tmp/probe.log")"

if ! ${MAKE:-make} -C "$builddir" fuzz > "$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    fail "building the fuzz targets failed"
fi
for t in $targets; do
    [ -x "$builddir/tests/fuzz/fuzz-$t" ] ||
        fail "'make fuzz' did not build tests/fuzz/fuzz-$t"
done

# The root-resolve target makes its tree under TMPDIR.
TMPDIR=$tmp
export TMPDIR

if [ -n "${GPV_FUZZ_TIME:-}" ]; then
    budget="-max_total_time=$GPV_FUZZ_TIME"
else
    budget="-runs=$runs"
fi

run_one() {
    t=$1
    mkdir "$tmp/corpus-$t" "$tmp/art-$t" || return 1
    # Never write into the source tree (read-only under distcheck): fuzz a writable copy.
    cp "$corpus/$t"/* "$tmp/corpus-$t"/ && chmod -R u+w "$tmp/corpus-$t" || return 1
    "$builddir/tests/fuzz/fuzz-$t" "$budget" -max_len=4096 -timeout=10 \
        -artifact_prefix="$tmp/art-$t/" "$tmp/corpus-$t" > "$tmp/$t.log" 2>&1
}

# Run up to $jobs targets at once; each records its exit status in $tmp/NAME.rc.
start=$(date +%s)
running=0
for t in $targets; do
    { run_one "$t"; echo $? > "$tmp/$t.rc"; } &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait
        running=0
    fi
done
wait

status=0
for t in $targets; do
    rc=$(cat "$tmp/$t.rc" 2>/dev/null || echo missing)
    if [ "$rc" = 0 ]; then
        echo "PASS: fuzz-$t: $(grep -E '^Done [0-9]+ runs' "$tmp/$t.log")"
        continue
    fi
    status=1
    keep=1
    echo "FAIL: fuzz-$t exited with $rc; last lines of $tmp/$t.log:"
    tail -n 40 "$tmp/$t.log"
    for a in "$tmp/art-$t"/*; do
        [ -f "$a" ] && echo "crashing input: $a (replay: $builddir/tests/fuzz/fuzz-$t $a)"
    done
done
echo "fuzzing took $(($(date +%s) - start)) s"
exit $status
