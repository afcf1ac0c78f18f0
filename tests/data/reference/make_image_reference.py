#!/usr/bin/python3
"""Writes tests/data/reference/image/: small images and what Pillow 9.4 / torchvision 0.14
make of them, so tests/data/test_image_decode.cpp and test_image_transforms.cpp compare the
C++ input pipeline with PIL without Python at test time.

Run with Debian 12's python3-pil (9.4), python3-torchvision (0.14) and libturbojpeg0:
    /usr/bin/python3 tests/data/reference/make_image_reference.py

Files (all under image/):
  sample_48x40.rgb         the resize input: 40 rows x 48 columns x RGB, raw HWC bytes
  *.jpg, *.JPEG, png_*.png the decode inputs (JPEG colour 4:2:0 / odd-sized 4:2:2 / progressive
                           4:4:4, grayscale, Adobe CMYK, YCCK, two damaged JPEGs PIL still
                           decodes, a PNG named .JPEG, every PNG colour type and bit depth)
  decode_pil.bin           records: "<file> <height> <width> 3\n" + Image.open(f).convert("RGB")
  resize_pil.bin           records: "<case> <op> <channels> <out_h> <out_w> <a> <b> <c> <d>\n" +
                           HWC bytes, where op is
                             resize          PIL im.resize((out_w, out_h), filter=<a>, box=(b..) or
                                             the whole image when <b> is "-"); <a>: the filter
                                             name; the box is "x0,y0,x1,y1" (repr floats)
                             resize_shorter  torchvision Resize(<a>, BICUBIC)
                             center_crop     torchvision CenterCrop((out_h, out_w)) of the input
                             resized_crop    torchvision F.resized_crop(top=<a>, left=<b>, h=<c>,
                                             w=<d>, (out_h, out_w), BICUBIC)
                           The input of every record is sample_48x40.rgb (channels 3) or its red
                           plane as an "L" image (channels 1).
  normalize_torch.bin      "normalize 3 <h> <w>\n" + the HWC input bytes, then h*w*3 float32
                           (CHW, little-endian) of ToTensor() + Normalize(ImageNet mean, std)
  imagenette_pil.txt       per file of ../shared/data/imagenet/imagenette2-160-subset (when
                           present): "<relative path> <height> <width> <fnv1a64 of PIL's RGB>
                           <fnv1a64 of Resize(256, BICUBIC) + CenterCrop(224)> <fnv1a64 of
                           Resize(137, BICUBIC)>" (the staged files are 224 x 224, so the eval
                           transform scales up; the second one scales down by a non-integer factor)
"""
import ctypes
import io
import os
import struct
import zlib

import numpy as np
import PIL
import torch
import torchvision
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "image")
SHARED = os.path.join(HERE, "..", "..", "..", "..", "shared", "data", "imagenet", "imagenette2-160-subset")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def make_sample():
    # Smooth gradients, a sinusoid, a sharp-edged block and noise: exercises ringing of the
    # bicubic kernel (values clipped at 0 and 255) and non-trivial chroma for JPEG.
    rng = np.random.RandomState(7)
    h, w = 40, 48
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1) + rng.normal(0, 10, (h, w))
    g = 128 + 127 * np.sin(x / 2.5) * np.cos(y / 4.0) + rng.normal(0, 6, (h, w))
    b = 255 * y / (h - 1)
    block = (x >= 10) & (x < 22) & (y >= 8) & (y < 19)
    r[block], g[block], b[block] = 255, 0, 255
    b[(x + y) % 7 == 0] = 0
    img = np.stack([r, g, b], axis=-1)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


# ---- a minimal PNG writer: every colour type and bit depth, which PIL cannot all write ----
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(rows, width, height, color_type, depth, plte=None, trns=None):
    """rows: list of per-row sample lists (already in the PNG's sample order)."""
    raw = bytearray()
    for row in rows:
        raw.append(0)  # filter type None
        if depth == 16:
            for v in row:
                raw += struct.pack(">H", v)
        elif depth == 8:
            raw += bytes(row)
        else:  # pack sub-byte samples, most significant bits first
            per = 8 // depth
            for i in range(0, len(row), per):
                byte = 0
                for k in range(per):
                    v = row[i + k] if i + k < len(row) else 0
                    byte |= v << (8 - depth * (k + 1))
                raw.append(byte)
    out = b"\x89PNG\r\n\x1a\n"
    out += png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0))
    if plte is not None:
        out += png_chunk(b"PLTE", bytes(plte))
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    out += png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
    out += png_chunk(b"IEND", b"")
    return out


def png_cases():
    w, h = 13, 11
    rng = np.random.RandomState(3)
    cases = {}

    def samples(n, maxv):
        return [[int(v) for v in rng.randint(0, maxv + 1, w * n)] for _ in range(h)]

    cases["png_gray1.png"] = png_bytes(samples(1, 1), w, h, 0, 1)
    cases["png_gray2.png"] = png_bytes(samples(1, 3), w, h, 0, 2)
    cases["png_gray4.png"] = png_bytes(samples(1, 15), w, h, 0, 4)
    cases["png_gray8.png"] = png_bytes(samples(1, 255), w, h, 0, 8)
    cases["png_gray8_trns.png"] = png_bytes(samples(1, 255), w, h, 0, 8, trns=struct.pack(">H", 7))
    # 16-bit gray: PIL opens it as mode "I" and convert("RGB") clips at 255 (not >> 8): keep
    # most values small so both the clip and the pass-through show.
    g16 = [[int(v) if k % 3 else int(v) * 257 for k, v in enumerate(rng.randint(0, 256, w))] for _ in range(h)]
    cases["png_gray16.png"] = png_bytes(g16, w, h, 0, 16)
    cases["png_ga8.png"] = png_bytes(samples(2, 255), w, h, 4, 8)
    cases["png_ga16.png"] = png_bytes(samples(2, 65535), w, h, 4, 16)
    cases["png_rgb8.png"] = png_bytes(samples(3, 255), w, h, 2, 8)
    cases["png_rgb8_trns.png"] = png_bytes(samples(3, 255), w, h, 2, 8, trns=struct.pack(">HHH", 1, 2, 3))
    cases["png_rgb16.png"] = png_bytes(samples(3, 65535), w, h, 2, 16)
    cases["png_rgba8.png"] = png_bytes(samples(4, 255), w, h, 6, 8)
    cases["png_rgba16.png"] = png_bytes(samples(4, 65535), w, h, 6, 16)
    for depth in (1, 2, 4, 8):
        n = 1 << depth
        plte = [int(v) for v in rng.randint(0, 256, 3 * n)]
        trns = bytes(int(v) for v in rng.randint(0, 256, n // 2 + 1)) if depth == 8 else None
        cases[f"png_pal{depth}.png"] = png_bytes(samples(1, n - 1), w, h, 3, depth, plte=plte, trns=trns)
    return cases


def write_ycck_jpeg(cmyk, path):
    # TurboJPEG compresses packed CMYK pixels into a YCCK JPEG (PIL can only write CMYK).
    tj = ctypes.CDLL("libturbojpeg.so.0")
    tj.tjInitCompress.restype = ctypes.c_void_p
    handle = ctypes.c_void_p(tj.tjInitCompress())
    buf = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    h, w, _ = cmyk.shape
    src = np.ascontiguousarray(cmyk)
    TJPF_CMYK, TJSAMP_420 = 11, 2
    rc = tj.tjCompress2(handle, src.ctypes.data_as(ctypes.c_void_p), w, 0, h, TJPF_CMYK, ctypes.byref(buf),
                        ctypes.byref(size), TJSAMP_420, 90, 0)
    assert rc == 0, "tjCompress2 failed"
    data = ctypes.string_at(buf, size.value)
    tj.tjFree(buf)
    tj.tjDestroy(handle)
    with open(path, "wb") as f:
        f.write(data)


def record(f, header, payload):
    f.write((header + "\n").encode())
    f.write(payload)


def main():
    assert PIL.__version__.startswith("9.4"), f"expected Pillow 9.4 (Debian 12), got {PIL.__version__}"
    os.makedirs(OUT, exist_ok=True)
    sample = make_sample()
    with open(os.path.join(OUT, "sample_48x40.rgb"), "wb") as f:
        f.write(sample.tobytes())
    im = Image.fromarray(sample, "RGB")

    # ---- decode inputs ----
    files = {}
    def save(name, image, **kw):
        image.save(os.path.join(OUT, name), **kw)
        files[name] = True

    odd = Image.fromarray(sample[3:32, 5:42], "RGB")  # 29 x 37: partial MCUs
    save("color_420.jpg", im, quality=90)
    save("color_odd_422.jpg", odd, quality=85, subsampling=1)
    save("color_progressive_444.jpg", im, quality=95, subsampling=0, progressive=True)
    save("gray_odd.jpg", odd.convert("L"), quality=90)
    save("cmyk_adobe.jpg", im.convert("CMYK"), quality=90)  # PIL writes inverted CMYK + Adobe marker
    cmyk = np.array(im.convert("CMYK"))
    cmyk[..., 3] = np.clip(np.arange(48)[None, :] * 5, 0, 255)  # a real K ramp
    write_ycck_jpeg(cmyk, os.path.join(OUT, "ycck.jpg"))
    files["ycck.jpg"] = True
    # Damaged but complete JPEGs, which PIL decodes (libjpeg only warns): noise in the
    # entropy-coded data (no 0xff, so no false markers) and junk bytes between two segments.
    data = bytearray(open(os.path.join(OUT, "color_420.jpg"), "rb").read())
    for i in range(len(data) // 2, len(data) // 2 + 40):
        data[i] = (i * 37) & 0x7F
    with open(os.path.join(OUT, "garbled_entropy.jpg"), "wb") as f:
        f.write(bytes(data))
    files["garbled_entropy.jpg"] = True
    data = open(os.path.join(OUT, "color_odd_422.jpg"), "rb").read()
    with open(os.path.join(OUT, "junk_before_marker.jpg"), "wb") as f:
        assert data[2:4] == b"\xff\xe0"  # junk after the JFIF segment: "extraneous bytes before marker 0xdb"
        end = 4 + struct.unpack(">H", data[4:6])[0]
        f.write(data[:end] + b"\x00junk" + data[end:])
    files["junk_before_marker.jpg"] = True
    png = io.BytesIO()
    odd.save(png, format="PNG")
    with open(os.path.join(OUT, "png_named.JPEG"), "wb") as f:  # ImageNet has one such file
        f.write(png.getvalue())
    files["png_named.JPEG"] = True
    for name, data in png_cases().items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        files[name] = True

    with open(os.path.join(OUT, "decode_pil.bin"), "wb") as f:
        for name in sorted(files):
            with Image.open(os.path.join(OUT, name)) as src:
                mode = src.mode
                rgb = src.convert("RGB")
            print(f"{name}: PIL mode {mode} -> RGB {rgb.size}")
            record(f, f"{name} {rgb.height} {rgb.width} 3", rgb.tobytes())

    # PIL refuses a truncated JPEG (the C++ decoder must too).
    data = open(os.path.join(OUT, "color_420.jpg"), "rb").read()
    try:
        Image.open(io.BytesIO(data[: len(data) // 2])).convert("RGB")
        raise AssertionError("PIL decoded a truncated JPEG")
    except OSError as e:
        print("truncated JPEG, PIL:", e)

    # ---- resize / transforms ----
    gray = Image.fromarray(sample[..., 0], "L")
    filters = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "box": Image.BOX,
               "hamming": Image.HAMMING, "lanczos": Image.LANCZOS}
    resize_cases = [  # (filter, (out_w, out_h), box or None, rgb?)
        ("bicubic", (24, 20), None, True),    # exact 2x down
        ("bicubic", (17, 13), None, True),    # non-integer down
        ("bicubic", (7, 5), None, True),      # strong down: wide support
        ("bicubic", (61, 50), None, True),    # up
        ("bicubic", (48, 23), None, True),    # vertical pass only
        ("bicubic", (31, 40), None, True),    # horizontal pass only
        ("bicubic", (20, 16), (3.5, 2.25, 40.75, 33.0), True),
        ("bicubic", (48, 40), (0.0, 0.0, 24.0, 20.0), True),  # zoom into a corner
        ("bicubic", (13, 11), (5.0, 4.0, 18.0, 15.0), True),  # integer box of the output size: a crop
        ("bicubic", (17, 13), None, False),
        ("bicubic", (61, 50), None, False),
        ("bilinear", (24, 20), None, True),
        ("bilinear", (17, 13), None, True),
        ("bilinear", (61, 50), None, True),
        ("bilinear", (20, 16), (3.5, 2.25, 40.75, 33.0), True),
        ("box", (17, 13), None, True),
        ("hamming", (17, 13), None, True),
        ("lanczos", (17, 13), None, True),
        ("lanczos", (61, 50), None, False),
    ]
    with open(os.path.join(OUT, "resize_pil.bin"), "wb") as f:
        for k, (flt, size, box, rgb) in enumerate(resize_cases):
            src = im if rgb else gray
            out = src.resize(size, filters[flt], box=box)
            b = "-" if box is None else ",".join(repr(float(v)) for v in box)
            record(f, f"r{k} resize {len(src.getbands())} {out.height} {out.width} {flt} {b} - -", out.tobytes())
        # torchvision 0.14 on PIL images, bicubic as timm's eval transform uses it.
        for k, (src, size) in enumerate([(im, 32), (im, 44), (gray, 27), (im, 40)]):
            out = transforms.Resize(size, interpolation=InterpolationMode.BICUBIC)(src)
            record(f, f"s{k} resize_shorter {len(src.getbands())} {out.height} {out.width} {size} - - -", out.tobytes())
        for k, (src, crop) in enumerate([(im, (24, 24)), (im, (27, 27)), (im, (13, 30)), (gray, (21, 8)),
                                         (im, (44, 30)), (im, (45, 53))]):
            out = transforms.CenterCrop(crop)(src)  # the last two pad with zeros
            record(f, f"c{k} center_crop {len(src.getbands())} {out.height} {out.width} - - - -", out.tobytes())
        for k, (src, (t, l, h, w), size) in enumerate([(im, (3, 5, 30, 21), (24, 24)),
                                                        (im, (0, 0, 40, 48), (16, 16)),
                                                        (gray, (10, 2, 9, 40), (20, 20))]):
            out = F.resized_crop(src, t, l, h, w, list(size), InterpolationMode.BICUBIC)
            record(f, f"x{k} resized_crop {len(src.getbands())} {out.height} {out.width} {t} {l} {h} {w}",
                   out.tobytes())

    # ---- ToTensor + Normalize ----
    small = sample[:5, :4]
    norm = transforms.Compose([transforms.ToTensor(),
                               transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    t = norm(Image.fromarray(small, "RGB"))
    assert t.dtype == torch.float32 and tuple(t.shape) == (3, 5, 4)
    with open(os.path.join(OUT, "normalize_torch.bin"), "wb") as f:
        record(f, "normalize 3 5 4", small.tobytes())
        f.write(t.numpy().astype("<f4").tobytes())

    # ---- Imagenette: PIL's decode and the eval transform, as hashes ----
    if os.path.isdir(SHARED):
        eval_tf = transforms.Compose([transforms.Resize(256, interpolation=InterpolationMode.BICUBIC),
                                      transforms.CenterCrop(224)])
        lines = []
        for root, _, names in sorted(os.walk(SHARED)):
            for name in sorted(names):
                path = os.path.join(root, name)
                with Image.open(path) as src:
                    rgb = src.convert("RGB")
                ev = eval_tf(rgb)
                down = transforms.Resize(137, interpolation=InterpolationMode.BICUBIC)(rgb)
                rel = os.path.relpath(path, SHARED)
                lines.append(f"{rel} {rgb.height} {rgb.width} {fnv1a64(rgb.tobytes()):016x} "
                             f"{fnv1a64(ev.tobytes()):016x} {fnv1a64(down.tobytes()):016x}")
        with open(os.path.join(OUT, "imagenette_pil.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(f"imagenette: {len(lines)} files")
    else:
        print("imagenette sample not found; imagenette_pil.txt not rewritten")
    print("PIL", PIL.__version__, "torchvision", torchvision.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
