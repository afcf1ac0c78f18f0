#!/bin/bash
# fuzz/make_corpus.sh [BUILD]: fills BUILD/corpus/<target>/ (default build-fuzz) with seeds, at
# fuzz time, never committed:
#   - conflux_fuzz_seeds (fuzz/make_seeds.cpp): inputs made by the library's own writers
#     (write_d4rl, save_tensors, binarize, Dictionary::save, encode_jpeg, the LRA generators...);
#   - when ../shared/data is there (CONFLUX_SHARED_DATA overrides), a few small slices of the
#     real files: the first rows of a ListOps TSV, 2 CIFAR-10 records, the header and first
#     cases of UEA .ts/.arff files, 3 Imagenette JPEGs, 40 WikiText lines for the dictionary.
# The committed seeds of fuzz/corpus/<target>/ are passed to libFuzzer as a second corpus
# directory by fuzz/run_fuzz.sh. Inputs found by earlier runs stay in BUILD/corpus.
set -euo pipefail
build=${1:-build-fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${CONFLUX_SHARED_DATA:-$root/../shared/data}
corpus=$build/corpus
seeds=$build/seeds

rm -rf "$seeds"
wikitext=()
[ -f "$shared/wikitext/valid.txt" ] && wikitext=(--wikitext "$shared/wikitext/valid.txt")
"$build/conflux_fuzz_seeds" "$seeds" "${wikitext[@]}"
for dir in "$seeds"/*/; do
  target=$(basename "$dir")
  mkdir -p "$corpus/$target"
  for f in "$dir"*; do cat "$f" > "$corpus/$target/seed-$(basename "$f")"; done
done

# The header of a .ts/.arff file and its first $2 cases.
head_cases() { awk -v n="$2" '{ print } d && ++k >= n { exit } tolower($0) ~ /^@data/ { d = 1 }' "$1"; }

if [ -d "$shared" ]; then
  s=$shared
  [ -f "$s/lra_listops/test_d20s_first8000.tsv" ] &&
    head -n 6 "$s/lra_listops/test_d20s_first8000.tsv" > "$corpus/lra_listops_tsv/shared-listops.tsv"
  [ -f "$s/lra_image_cifar10/first10_data_batch_1.bin" ] &&
    head -c 6146 "$s/lra_image_cifar10/first10_data_batch_1.bin" > "$corpus/lra_cifar_bin/shared-cifar2.bin"
  for name in JapaneseVowels BasicMotions; do
    f=$s/uea/$name/${name}_TRAIN.ts
    [ -f "$f" ] && head_cases "$f" 3 > "$corpus/uea_ts/shared-$name.ts"
  done
  f=$s/uea/SelfRegulationSCP1/SelfRegulationSCP1Dimension1_TRAIN.arff
  [ -f "$f" ] && head_cases "$f" 2 > "$corpus/uea_arff/shared-SCP1Dimension1.arff"
  if [ -d "$s/imagenet" ]; then
    find "$s/imagenet" -name '*.JPEG' -size -8k | sort | head -n 3 | while read -r f; do
      cat "$f" > "$corpus/image_decode/shared-$(basename "$f")"
    done
  fi
fi
for dir in "$corpus"/*/; do echo "corpus $(basename "$dir"): $(ls "$dir" | wc -l) files"; done
