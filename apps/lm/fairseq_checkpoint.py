#!/usr/bin/env python3
"""Moves a fairseq checkpoint's weights to and from HDF5 (one dataset per state-dict key), the
file `conflux-lm convert` reads and writes (apps/lm/fairseq_keys.h has the key mapping).

  python3 apps/lm/fairseq_checkpoint.py to-h5   checkpoint_best.pt fairseq.h5
  conflux-lm convert --checkpoint fairseq.h5 --to conflux --file conflux.h5     # then nn::load / --checkpoint
  conflux-lm convert --checkpoint runs/lm/best.h5 --to fairseq --file fairseq.h5
  python3 apps/lm/fairseq_checkpoint.py from-h5 fairseq.h5 model_state.pt       # {"model": state dict}

Needs torch and h5py (Debian: python3-torch, python3-h5py); the Conflux build does not.
"""
import sys

import h5py
import torch


def to_h5(pt, h5):
    state = torch.load(pt, map_location="cpu")
    model = state["model"] if "model" in state else state
    with h5py.File(h5, "w") as f:
        for key, value in model.items():
            f[key] = value.float().numpy() if value.is_floating_point() else value.numpy()


def from_h5(h5, pt):
    model = {}
    with h5py.File(h5, "r") as f:
        f.visititems(lambda name, obj: model.__setitem__(name, torch.from_numpy(obj[()])) if isinstance(obj, h5py.Dataset) else None)
    torch.save({"model": model}, pt)


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("to-h5", "from-h5"):
        sys.exit(__doc__)
    (to_h5 if sys.argv[1] == "to-h5" else from_h5)(sys.argv[2], sys.argv[3])
