#!/usr/bin/python3
"""Writes randaug_pil.bin: a small sample image and what Pillow makes of it under every
RandAugment op, called exactly as timm's auto_augment.py calls it (fill = ImageNet mean,
resample = BICUBIC), so tests/data/test_rand_augment.cpp can compare without Python.

Run with Pillow 9.4 (Debian 12's python3-pil) and timm 0.4.12's auto_augment.py (it needs
only PIL and numpy), e.g.
  git -C pytorch-image-models show v0.4.12:timm/data/auto_augment.py > /tmp/auto_augment.py
  /usr/bin/python3 make_randaug_reference.py /tmp/auto_augment.py

Format: records of one text line
  "<case> <op> <arg> <height> <width> <channels> <level> <negated>\n"
followed by height*width*channels bytes (HWC). The first three records are the inputs
("input" op: RGB 24x32, L 12x12, RGB 12x16). Then the Pillow calls: <op> is a name of
apply() below, the output of <op>(<arg>) on the input with the same channel count and
size; <level> is -1. Then timm's own AugmentOp(<op>, magnitude=9, hparams of
create_transform with mstd 0.5) on the 12x16 input, with Python's random replaced by
fixed draws: applied, gauss -> <level> before clipping, negation coin <negated>; <arg> is
the level argument timm computed. Floats are repr(), so they read back exactly.
"""
import importlib.util
import os
import sys

import numpy as np
import PIL
from PIL import Image, ImageEnhance, ImageOps

FILL_RGB = tuple(min(255, round(255 * x)) for x in (0.485, 0.456, 0.406))  # (124, 116, 104)
FILL_L = (FILL_RGB[0] * 19595 + FILL_RGB[1] * 38470 + FILL_RGB[2] * 7471 + 0x8000) >> 16


def make_input_rgb():
    # Gradients with texture, a bright disc and a dark block; channels span different
    # ranges (G reaches 0 and 255) so autocontrast and equalize differ per channel.
    rng = np.random.RandomState(0)
    h, w = 24, 32
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 20 + 200 * x / (w - 1) + rng.normal(0, 12, (h, w))
    g = 255 * y / (h - 1) + rng.normal(0, 20, (h, w))
    b = 50 + 130 * (0.5 + 0.5 * np.sin(x / 3.0 + y / 5.0)) + rng.normal(0, 6, (h, w))
    disc = (x - 20) ** 2 + (y - 9) ** 2 < 30
    r[disc] += 60
    b[disc] += 40
    block = (x >= 4) & (x < 11) & (y >= 14) & (y < 21)
    r[block] -= 70
    g[block] *= 0.3
    r, b = np.clip(r, 20, 220), np.clip(b, 50, 180)
    g = np.clip(g, 0, 255)
    g[0, 0], g[-1, -1] = 0, 255
    return Image.fromarray(np.stack([r, g, b], -1).round().astype(np.uint8), "RGB")


def make_input_l():
    # Square, so the 90/270-degree transposes of rotate are reachable.
    rng = np.random.RandomState(1)
    y, x = np.mgrid[0:12, 0:12].astype(np.float64)
    v = 60 + 9 * x + 4 * y + rng.normal(0, 10, (12, 12))
    return Image.fromarray(np.clip(v, 30, 210).round().astype(np.uint8), "L")


def solarize_add(img, add, thresh=128):  # timm's solarize_add
    lut = [min(255, i + add) if i < thresh else i for i in range(256)]
    return img.point(lut * len(img.getbands()))


def affine(img, matrix, fill):
    return img.transform(img.size, Image.AFFINE, matrix, resample=Image.BICUBIC, fillcolor=fill)


def apply(op, img, arg):
    fill = FILL_RGB if img.mode == "RGB" else FILL_L
    if op == "autocontrast": return ImageOps.autocontrast(img)
    if op == "equalize": return ImageOps.equalize(img)
    if op == "invert": return ImageOps.invert(img)
    if op == "posterize": return ImageOps.posterize(img, int(arg))
    if op == "solarize": return ImageOps.solarize(img, int(arg))
    if op == "solarize_add": return solarize_add(img, int(arg))
    if op == "color": return ImageEnhance.Color(img).enhance(arg)
    if op == "contrast": return ImageEnhance.Contrast(img).enhance(arg)
    if op == "brightness": return ImageEnhance.Brightness(img).enhance(arg)
    if op == "sharpness": return ImageEnhance.Sharpness(img).enhance(arg)
    if op == "rotate": return img.rotate(arg, resample=Image.BICUBIC, fillcolor=fill)
    if op == "shear_x": return affine(img, (1, arg, 0, 0, 1, 0), fill)
    if op == "shear_y": return affine(img, (1, 0, 0, arg, 1, 0), fill)
    if op == "translate_x_rel": return affine(img, (1, 0, arg * img.size[0], 0, 1, 0), fill)
    if op == "translate_y_rel": return affine(img, (1, 0, 0, 0, 1, arg * img.size[1]), fill)
    raise ValueError(op)


# (op, args): the m9 arguments of the inc1 list (level 9 -> 27 deg, 0.27, 0.405, 1 +- 0.81,
# posterize 1 bit, solarize 26, solarize_add 99), ends of the ranges, and odd values.
RGB_CASES = [
    ("autocontrast", [0.0]), ("equalize", [0.0]), ("invert", [0.0]),
    ("posterize", [0, 1, 2, 4]),
    ("solarize", [0, 26, 128, 256]),
    ("solarize_add", [99, 30]),
    ("color", [0.1, 0.55, 1.3567, 1.9]),
    ("contrast", [0.1, 0.7, 1.9]),
    ("brightness", [0.1, 1.23, 1.9]),
    ("sharpness", [0.1, 0.5, 1.9]),
    ("rotate", [27.0, -27.0, 13.7, -3.3, 180.0]),
    ("shear_x", [0.27, -0.27, 0.113]),
    ("shear_y", [0.27, -0.2]),
    ("translate_x_rel", [0.405, -0.405, 0.1234]),
    ("translate_y_rel", [0.405, -0.2]),
]
L_CASES = [
    ("autocontrast", [0.0]), ("equalize", [0.0]), ("color", [0.3]), ("contrast", [1.6]),
    ("sharpness", [1.9]), ("rotate", [90.0, 270.0, 21.5]), ("shear_y", [-0.25]),
]


def record(f, case, op, arg, img, level=-1.0, negated=0):
    a = np.asarray(img)
    c = 1 if a.ndim == 2 else a.shape[2]
    f.write(f"{case} {op} {float(arg)!r} {a.shape[0]} {a.shape[1]} {c} {float(level)!r} {negated}\n".encode())
    f.write(a.astype(np.uint8).tobytes())


class FixedRandom:
    """Stands in for Python's `random` in timm's module: fixed random() and gauss() values."""

    def __init__(self, uniforms, gauss):
        self.uniforms, self.g = list(uniforms), gauss

    def random(self):
        return self.uniforms.pop(0)

    def gauss(self, mu, sigma):
        return self.g


# (timm op name, gauss draw, negate?): the inc1 list at m9, with draws that clip at both ends.
TIMM_CASES = [
    ("AutoContrast", 9.2, 0), ("Equalize", 8.8, 0), ("Invert", 9.0, 0), ("Rotate", 9.4, 1),
    ("Rotate", 10.8, 0), ("PosterizeIncreasing", 9.1, 0), ("PosterizeIncreasing", -0.3, 0),
    ("SolarizeIncreasing", 8.6, 0), ("SolarizeAdd", 9.3, 0), ("ColorIncreasing", 9.6, 1),
    ("ContrastIncreasing", 8.9, 0), ("BrightnessIncreasing", 9.5, 1), ("SharpnessIncreasing", 8.7, 0),
    ("ShearX", 9.2, 1), ("ShearY", 8.4, 0), ("TranslateXRel", 9.0, 1), ("TranslateYRel", 9.7, 0),
]


def timm_records(f, timm_path, img):
    spec = importlib.util.spec_from_file_location("timm_auto_augment", timm_path)
    aa = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aa)
    assert "_RAND_INCREASING_TRANSFORMS" in dir(aa) and aa._MAX_LEVEL == 10, "expected timm 0.4.x auto_augment.py"
    # create_transform(224, auto_augment='rand-m9-mstd0.5-inc1', interpolation='bicubic')
    hparams = dict(translate_const=int(224 * 0.45), img_mean=FILL_RGB, interpolation=Image.BICUBIC,
                   magnitude_std=0.5)
    for i, (name, gauss, negate) in enumerate(TIMM_CASES):
        op = aa.AugmentOp(name, prob=0.5, magnitude=9, hparams=hparams)
        # draws: prob check (0.25 <= 0.5: applied), gauss, then the coin (> 0.5 negates)
        aa.random = FixedRandom([0.25, 0.75 if negate else 0.25], gauss)
        out = op(img)
        level = min(aa._MAX_LEVEL, max(0, gauss))
        aa.random = FixedRandom([0.75 if negate else 0.25], gauss)
        arg = op.level_fn(level, op.hparams)[0] if op.level_fn else 0.0
        record(f, f"timm{i}_{name}", name, arg, out, level, negate)


def main():
    assert PIL.__version__.startswith("9.4"), f"made with Pillow 9.4, this is {PIL.__version__}"
    assert len(sys.argv) == 2, "usage: make_randaug_reference.py PATH/TO/timm-0.4.12/auto_augment.py"
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "randaug_pil.bin")
    rgb, gray = make_input_rgb(), make_input_l()
    small = rgb.crop((8, 6, 24, 18))  # 16 x 12
    with open(out, "wb") as f:
        record(f, "input_rgb", "input", 0.0, rgb)
        record(f, "input_l", "input", 0.0, gray)
        record(f, "input_rgb_small", "input", 0.0, small)
        for tag, img, cases in (("rgb", rgb, RGB_CASES), ("l", gray, L_CASES)):
            for op, args in cases:
                for arg in args:
                    record(f, f"{tag}_{op}_{arg!r}", op, arg, apply(op, img, arg))
        timm_records(f, sys.argv[1], small)
    print(out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
