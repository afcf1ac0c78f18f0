#!/usr/bin/env python3
"""The PyTorch twin of conflux-bench-image-pipeline: PIL + torchvision on the same files.

Stages, as the ImageNet recipe's loaders run them (BENCHMARKS.md 3.1):
  decode  Image.open(BytesIO(bytes)).convert("RGB") and load()
  train   decode -> RandomResizedCrop(224, bicubic) -> RandomHorizontalFlip -> RandAugment -> ToTensor -> Normalize
  eval    decode -> Resize(256, bicubic) -> CenterCrop(224) -> ToTensor -> Normalize
RandAugment: timm's rand-m9-mstd0.5-inc1 when timm is importable, else torchvision's
RandAugment(num_ops=2, magnitude=9) (a similar op list with the same PIL ops; printed in
"randaugment"). Bytes are read into memory first; --threads T runs T processes over disjoint
shares (what T DataLoader workers do). Debian: python3-torchvision, python3-pil.

  python3 image_pipeline_torch.py --data DIR [--what decode,train,eval] [--repeat 3] [--threads 1]
"""
import argparse
import io
import json
import multiprocessing as mp
import os
import platform
import time

import torch
from PIL import Image
from torchvision import transforms as T

torch.set_num_threads(1)


def randaugment():
    try:
        from timm.data.auto_augment import rand_augment_transform
        return rand_augment_transform("rand-m9-mstd0.5-inc1", dict(translate_const=100, img_mean=(124, 116, 104),
                                                                   interpolation=Image.BICUBIC)), "timm rand-m9-mstd0.5-inc1"
    except ImportError:
        return T.RandAugment(num_ops=2, magnitude=9, interpolation=T.InterpolationMode.BICUBIC,
                             fill=[124, 116, 104]), "torchvision RandAugment(2, 9)"


def pipeline(stage, size):
    norm = [T.ToTensor(), T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    if stage == "train":
        aug, _ = randaugment()
        return T.Compose([T.RandomResizedCrop(size, interpolation=T.InterpolationMode.BICUBIC),
                          T.RandomHorizontalFlip(), aug] + norm)
    if stage == "eval":
        return T.Compose([T.Resize(size * 256 // 224, interpolation=T.InterpolationMode.BICUBIC),
                          T.CenterCrop(size)] + norm)
    return None


def work(args):
    stage, files, repeat, size = args
    t = pipeline(stage, size)
    for _ in range(repeat):
        for b in files:
            img = Image.open(io.BytesIO(b)).convert("RGB")
            img.load()
            if t is not None:
                t(img)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--what", default="decode,train,eval")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--img-size", type=int, default=224)
    a = ap.parse_args()
    exts = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
    paths = sorted(os.path.join(r, f) for r, _, fs in os.walk(a.data) for f in fs if f.lower().endswith(exts))
    files = [open(p, "rb").read() for p in paths]
    print(json.dumps({"config": {"bench": "image_pipeline", "impl": "torch", "cpu": cpu_model(), "data": a.data,
                                 "files": len(files), "threads": a.threads, "repeat": a.repeat,
                                 "img_size": a.img_size, "torch": torch.__version__,
                                 "randaugment": randaugment()[1], "pil": Image.__version__},
                      "loadavg_1min": os.getloadavg()[0]}), flush=True)
    for stage in a.what.split(","):
        shares = [(stage, files[len(files) * t // a.threads:len(files) * (t + 1) // a.threads], a.repeat, a.img_size)
                  for t in range(a.threads)]
        t0 = time.perf_counter()
        if a.threads == 1:
            work(shares[0])
        else:
            with mp.Pool(a.threads) as pool:
                pool.map(work, shares)
        s = time.perf_counter() - t0
        rate = len(files) * a.repeat / s
        print(json.dumps({"bench": "image_pipeline", "impl": "torch", "stage": stage, "threads": a.threads,
                          "images": len(files), "repeat": a.repeat, "seconds": round(s, 4),
                          "images_per_s": round(rate, 1), "images_per_s_per_thread": round(rate / a.threads, 1)}),
              flush=True)
    print(json.dumps({"done": True, "loadavg_1min": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
