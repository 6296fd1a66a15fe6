#!/usr/bin/python3
"""An idiomatic PyTorch training loop on CIFAR-10, the yardstick for `cifarbench train`.

What a practitioner would write: a torch.utils.data.Dataset over the CIFAR binary batches that
hands out PIL images as torchvision.datasets.CIFAR10 does, torchvision's RandomCrop(32,
padding=4), RandomHorizontalFlip, ToTensor and Normalize, a shuffling DataLoader, the nn.Modules
of bench/torch_train_step.py (simple-cnn, resnet20, resnet56), SGD with Nesterov momentum, and
`zero_grad / forward / backward / step` with `loss.item()` every step. PIPELINE "tensor"
applies the same transforms to uint8 tensors instead of PIL images (torchvision >= 0.8).
Prints the throughput after the warm-up steps:

  python_loop.py DATA_DIR MODEL BATCH THREADS WORKERS STEPS WARMUP [pil|tensor]
  -> "images_per_s 312.4"

DATA_DIR is a CIFAR-10 binary folder (data_batch_1.bin ... as `cifarbench data import`
writes). Run it with /usr/bin/python3 (Debian's python3-torch: the LibTorch cifarbench links).
"""
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torchvision import transforms

from torch_train_step import MODELS  # the same nn.Module definitions as the step benchmark

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


class CifarBinary(torch.utils.data.Dataset):
    def __init__(self, root, transform, pil):
        raw = np.concatenate([
            np.fromfile(os.path.join(root, f"data_batch_{i}.bin"), dtype=np.uint8).reshape(-1, 3073)
            for i in range(1, 6)])
        self.labels = raw[:, 0].astype(np.int64)
        chw = raw[:, 1:].reshape(-1, 3, 32, 32)
        # torchvision.datasets.CIFAR10 keeps HWC uint8 arrays and makes a PIL image per item.
        self.images = chw.transpose(0, 2, 3, 1).copy() if pil else torch.from_numpy(chw.copy())
        self.pil = pil
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        image = Image.fromarray(self.images[i]) if self.pil else self.images[i]
        return self.transform(image), int(self.labels[i])


def main():
    if len(sys.argv) not in (8, 9):
        sys.exit(__doc__)
    root, model_name = sys.argv[1], sys.argv[2]
    batch, threads, workers, steps, warmup = map(int, sys.argv[3:8])
    pipeline = sys.argv[8] if len(sys.argv) == 9 else "pil"
    if pipeline not in ("pil", "tensor"):
        print(f"error: pipeline {pipeline!r}: expected pil or tensor", file=sys.stderr)
        sys.exit(2)
    if model_name not in MODELS:
        print(f"error: model {model_name!r}: expected one of {', '.join(MODELS)}", file=sys.stderr)
        sys.exit(2)
    if warmup >= steps:
        print(f"error: warm-up {warmup} must be below steps {steps}", file=sys.stderr)
        sys.exit(2)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    transform = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor() if pipeline == "pil" else transforms.ConvertImageDtype(torch.float32),
        transforms.Normalize(MEAN, STD),
    ])
    dataset = CifarBinary(root, transform, pipeline == "pil")
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch,
                                         shuffle=True, num_workers=workers, drop_last=True,
                                         persistent_workers=workers > 0)
    model = MODELS[model_name]()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    model.train()
    step, running_loss, start = 0, 0.0, None
    while step < steps:
        for images, labels in loader:
            if step == warmup:
                start = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
            step += 1
            if step == steps:
                break
    seconds = time.perf_counter() - start
    print(f"images_per_s {(steps - warmup) * batch / seconds:.1f}")
    print(f"mean_loss {running_loss / steps:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
