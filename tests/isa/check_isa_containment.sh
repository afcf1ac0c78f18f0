#!/usr/bin/env bash
# Checks that libconflux.so runs on the baseline CPU outside the kernels picked at run time.
#
# Only the per-capability copies of the CPU kernels (cfx::cpu::avx2::..., cfx::cpu::avx512::...,
# core/cpu_capability.h) may use instructions above x86-64-v2. Any other function that does (an
# inline function or template emitted by a kernel object and kept by the linker, a static
# initialiser of a kernel file, a stray -march flag) would crash with SIGILL on an older CPU
# even when the baseline kernels are chosen. This disassembles the library and lists such
# functions.
#
# GCC's clones ("[clone .constprop.0]", ".isra", ".part", ".cold") are local to the object
# that made them and called only from its own functions: one with AVX comes from a kernel
# object and runs only under that object's kernels, so they are not flagged. Static
# initialisers (_GLOBAL__sub_I_*) run at load time on every CPU and are checked.
#
# Usage: check_isa_containment.sh path/to/libconflux.so
set -euo pipefail
lib=${1:?usage: $0 libconflux.so}
objdump -d -C --no-show-raw-insn "$lib" | awk '
  # a function header: "0000000000012340 <name(args)>:"
  /^[0-9a-f]+ <.*>:$/ {
    fn = substr($0, index($0, "<") + 1); sub(/>:$/, "", fn)
    allowed = (fn ~ /cfx::cpu::avx2::/ || fn ~ /cfx::cpu::avx512::/ || fn ~ /\[clone \./)
    next
  }
  # an instruction: "  12345:\tmnemonic operands"
  /^ *[0-9a-f]+:\t/ {
    if (allowed) next
    split($0, parts, "\t"); insn = parts[2]
    split(insn, words, " "); op = words[1]
    above = (op ~ /^v/ && op !~ /^ver[rw]$/) || insn ~ /%[yz]mm|%k[0-7]/ ||
            op ~ /^(andn|bextr|blsi|blsmsk|blsr|bzhi|pdep|pext|rorx|sarx|shlx|shrx|mulx|lzcnt|movbe)$/
    if (above && !(fn in seen)) { seen[fn] = insn; order[++n] = fn }
  }
  END {
    if (n == 0) { print "isa containment: OK, no instruction above x86-64-v2 outside cfx::cpu::avx2 / avx512"; exit 0 }
    print "isa containment: " n " function(s) outside the per-capability kernels use instructions above x86-64-v2:"
    for (i = 1; i <= n && i <= 40; ++i) print "  " order[i] "    e.g. " seen[order[i]]
    exit 1
  }'
