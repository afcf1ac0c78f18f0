#!/bin/bash
# fuzz/run_fuzz.sh [BUILD] [SECONDS] [TARGET...]: replays fuzz/regressions/<target>/, then runs
# every fuzz_<target> of BUILD (default build-fuzz) for SECONDS (default 30) on its corpus
# (BUILD/corpus/<target>, which keeps what it finds, and the committed fuzz/corpus/<target>),
# one target at a time, and prints per target the executions, libFuzzer's final coverage
# (cov: edges, ft: features), our crashes and libhdf5's.
#
# libFuzzer runs in fork mode with -ignore_crashes, so one crash does not end a target's run:
# every crashing input is kept in BUILD/artifacts/<target>/ and then replayed to classify it.
# A crash inside libhdf5 on memory libhdf5 owns (see classify) is libhdf5's own (Debian 12's
# 1.10.8 is not memory-safe on malformed files; fuzz/README.md): reported, counted as "hdf5",
# not a failure. Everything else is a failure: exit 1.
set -uo pipefail
build=${1:-build-fuzz}
seconds=${2:-30}
shift $(($# < 2 ? $# : 2))
here=$(cd "$(dirname "$0")" && pwd)

# -max_len per format: large enough for a real-looking file, small enough to mutate fast.
declare -A max_len=(
  [lra_listops_tsv]=4096 [lra_aan_tsv]=4096 [lra_cifar_bin]=9219 [lra_pathfinder]=4096 [gray_png]=4096
  [uea_ts]=16384 [uea_arff]=16384 [lm_dict]=8192 [lm_tokens]=8192 [d4rl_hdf5]=32768 [checkpoint_hdf5]=32768
  [image_decode]=20000 [json_object]=1024 [safetensors]=4096)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for exe in "$build"/fuzz_*; do targets+=("$(basename "$exe" | sed 's/^fuzz_//')"); done
fi
[ ${#targets[@]} -gt 0 ] || { echo "run_fuzz.sh: no fuzz_* in $build (build it first)"; exit 2; }

export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
# The targets' scratch files (fuzz/fuzz_input.h), in RAM, removed here: crashed children cannot.
CFX_FUZZ_TMPDIR=$(mktemp -d /dev/shm/conflux-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)
export CFX_FUZZ_TMPDIR
trap 'rm -rf "$CFX_FUZZ_TMPDIR"' EXIT

# "hdf5" when the replay report $1 is libhdf5's own crash, else "ours": the innermost frame
# below the sanitizer, libFuzzer, libc and C++ runtime is in libhdf5 (or the zlib/szip it
# calls), both where it faulted and, for a bad access, where the memory was allocated or
# freed (so a buffer of ours that HDF5 overran stays ours). A timeout or a stack overflow is
# always ours: the stack shows where the loop or the recursion was, not whose it is.
classify() {
  awk -v lib='libhdf5|libz\\.so|libsz\\.so|libaec\\.so' '
    function runtime(f) {
      return f ~ /__interceptor_|__sanitizer|__asan|__ubsan|__lsan|fuzzer::|libc\.so|libstdc\+\+|libgcc_s|ld-linux|string\/\.\.\/sysdeps|stdlib\/|nptl\/|signal\/|csu\// ||
             f ~ / in (malloc|calloc|realloc|free|strdup|strndup|memcpy|memmove|memset|strlen|aligned_alloc|posix_memalign|operator new|operator delete)[ (]/
    }
    /ERROR: libFuzzer: timeout|AddressSanitizer: stack-overflow/ { verdict = "ours" }
    /allocated by thread|freed by thread/ { fresh = 1; next }
    /^    #0 / { fresh = 1 }
    /^    #[0-9]+ / {
      if (!fresh || runtime($0)) next
      fresh = 0; seen = 1
      if ($0 !~ lib) verdict = "ours"
    }
    END { print (seen && verdict == "") ? "hdf5" : "ours" }' "$1"
}

mkdir -p "$build/logs"
failed=0
rows=()
for t in "${targets[@]}"; do
  exe=$build/fuzz_$t
  len=${max_len[$t]:-4096}
  mkdir -p "$build/corpus/$t"
  seeds=()
  [ -d "$here/corpus/$t" ] && seeds=("$here/corpus/$t")
  rm -rf "$build/artifacts/$t" && mkdir -p "$build/artifacts/$t"
  log=$build/logs/$t.log
  common=(-rss_limit_mb=2048 -timeout=10 -max_len="$len")
  # The regressions first: each once crashed this target, and must not any more.
  if [ -d "$here/regressions/$t" ] &&
     ! "$exe" "${common[@]}" -runs=0 "$here/regressions/$t" > "$log.regressions" 2>&1; then
    echo "fuzz $t: a regression input of fuzz/regressions/$t crashes again (report in $log.regressions):"
    grep -m3 -E 'ERROR|SUMMARY|runtime error|uncaught|terminate' "$log.regressions"
    failed=1
  fi
  start=$(date +%s)
  "$exe" "${common[@]}" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 -max_total_time="$seconds" \
    -artifact_prefix="$build/artifacts/$t/" "$build/corpus/$t" "${seeds[@]}" > "$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1)
  execs=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
  cov=$(echo "$last" | sed -E 's/.* cov: ([0-9]+) .*/\1/')
  ft=$(echo "$last" | sed -E 's/.* ft: ([0-9]+) .*/\1/')
  ours=0 hdf5=0
  for artifact in "$build/artifacts/$t"/*; do
    [ -f "$artifact" ] || continue
    report=$artifact.report
    # (the slow unwinder: ASan's fast one stops in libhdf5, built without frame pointers)
    ASAN_OPTIONS="fast_unwind_on_malloc=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" "$exe" "${common[@]}" "$artifact" > "$report" 2>&1
    # A timeout can be libhdf5 allocating without bound (a corrupt group B-tree: one H5Lexists
    # took 2 GB in 12 s), slowed past 10 s by the slow unwinder's walk on every malloc. Replayed
    # with the fast unwinder and 60 s, that ends as an out-of-memory inside libhdf5 (classified
    # as below); a loop of ours still times out.
    if grep -q 'ERROR: libFuzzer: timeout' "$report"; then
      "$exe" -rss_limit_mb=2048 -timeout=60 -max_len="$len" "$artifact" > "$report" 2>&1
    fi
    kind=$(classify "$report")
    if [ "$kind" = hdf5 ]; then
      hdf5=$((hdf5 + 1))
      mv "$artifact" "$artifact.hdf5" && mv "$report" "$artifact.hdf5.report"
    else
      ours=$((ours + 1))
      echo "fuzz $t: CRASH in $artifact (replay report: $report):"
      grep -m4 -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|uncaught|terminate|out-of-memory|timeout' "$report"
    fi
  done
  if [ $rc -ne 0 ] && [ $ours -eq 0 ] && [ $hdf5 -eq 0 ]; then
    ours=1
    echo "fuzz $t: libFuzzer exited with $rc and left no input (log: $log)"
  fi
  [ $ours -gt 0 ] && failed=1
  rows+=("$(printf '%-16s %10s %7s %7s %8s %5s %6ss' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$ours" "$hdf5" "$elapsed")")
done
# For information: fuzz/upstream/<target>/ holds inputs that crash inside libhdf5 itself;
# say which still do (one that stops crashing means a fixed HDF5: move it to regressions/).
for dir in "$here"/upstream/*/; do
  t=$(basename "$dir")
  [ -x "$build/fuzz_$t" ] || continue
  still=0 total=0
  for f in "$dir"*; do
    total=$((total + 1))
    "$build/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "$f" > /dev/null 2>&1 || still=$((still + 1))
  done
  echo "fuzz/upstream/$t: $still of $total libhdf5 crashers still crash libhdf5"
done
printf '%-16s %10s %7s %7s %8s %5s %7s\n' target executions cov ft crashes hdf5 time
printf '%s\n' "${rows[@]}"
if [ $failed -eq 0 ]; then
  echo "fuzz: no crashes of ours in ${#targets[@]} targets (libhdf5's own, if any, are kept as $build/artifacts/*/*.hdf5)"
else
  echo "fuzz: CRASHES (see above; inputs in $build/artifacts/<target>/)"
fi
exit $failed
