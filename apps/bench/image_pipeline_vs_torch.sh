#!/bin/sh
# The ImageNet input pipeline, Conflux against PIL + torchvision, on the same files and threads:
#   (1) the Imagenette sample of ../shared/data (real ImageNet JPEGs, shorter side 160 px)
#   (2) the same photos re-encoded by PIL at ImageNet's typical size, 500 x 375, quality 90
#       (ImageNet train averages about 400 x 350 px and 110 KB), so decode costs what it costs there
# JSON lines on stdout; run on a quiet machine (see the loadavg fields).
#   apps/bench/image_pipeline_vs_torch.sh [BUILD_DIR] [THREADS]
set -eu
build=${1:-build}
threads=${2:-1}
here=$(cd "$(dirname "$0")" && pwd)
sample=$here/../../../shared/data/imagenet/imagenette2-160-subset
big=$(mktemp -d)
trap 'rm -rf "$big"' EXIT
/usr/bin/python3 - "$sample" "$big" <<'PY'
import os, sys
from PIL import Image
src, dst = sys.argv[1], sys.argv[2]
for r, _, fs in os.walk(src):
    for f in fs:
        if f.endswith(".JPEG"):
            Image.open(os.path.join(r, f)).convert("RGB").resize((500, 375), Image.BICUBIC).save(
                os.path.join(dst, f), quality=90)
PY
for data in "$sample" "$big"; do
  "$build/apps/conflux-bench-image-pipeline" --data "$data" --threads "$threads"
  /usr/bin/python3 "$here/image_pipeline_torch.py" --data "$data" --threads "$threads"
done
