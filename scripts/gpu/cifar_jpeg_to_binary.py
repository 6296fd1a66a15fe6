#!/usr/bin/env python3
"""Converts an image-folder archive of CIFAR (root/{train,test}/<class>/*.jpg|png, as
../shared/data/cifar10-jpeg.tar.gz) to the CIFAR-10 binary layout that cifarbench reads
(data_batch_1..5.bin, test_batch.bin, batches.meta.txt), with Pillow.

It is `cifarbench data import` for machines whose build has no libarchive or libjpeg (the GPU
machine): the same order (split, class in sorted order, file name), so the same data order.

    cifar_jpeg_to_binary.py ARCHIVE OUT_DIR
"""
import io
import os
import sys
import tarfile

from PIL import Image


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    archive, out = sys.argv[1], sys.argv[2]
    entries = {"train": [], "test": []}
    with tarfile.open(archive) as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = member.name.split("/")
            if len(parts) < 3 or parts[-3] not in entries or parts[-1].startswith("."):
                continue
            entries[parts[-3]].append((parts[-2], parts[-1], tar.extractfile(member).read()))
    classes = sorted({c for c, _, _ in entries["train"]})
    if not classes or sorted({c for c, _, _ in entries["test"]}) != classes:
        print(f"{archive}: expected train/<class>/ and test/<class>/ with the same classes", file=sys.stderr)
        return 2
    label = {c: i for i, c in enumerate(classes)}
    os.makedirs(out, exist_ok=True)

    def records(items):
        items.sort(key=lambda e: (label[e[0]], e[1]))
        for cls, name, data in items:
            img = Image.open(io.BytesIO(data)).convert("RGB")
            if img.size != (32, 32):
                raise SystemExit(f"{archive}: {cls}/{name} is {img.size[0]}x{img.size[1]}, expected 32x32")
            r, g, b = img.split()
            yield bytes([label[cls]]) + r.tobytes() + g.tobytes() + b.tobytes()

    train = list(records(entries["train"]))
    per_batch = (len(train) + 4) // 5
    for i in range(5):
        with open(os.path.join(out, f"data_batch_{i + 1}.bin"), "wb") as f:
            f.write(b"".join(train[i * per_batch:(i + 1) * per_batch]))
    with open(os.path.join(out, "test_batch.bin"), "wb") as f:
        f.write(b"".join(records(entries["test"])))
    with open(os.path.join(out, "batches.meta.txt"), "w") as f:
        f.write("\n".join(classes) + "\n")
    print(f"{out}: {len(train)} training and {len(entries['test'])} test images, {len(classes)} classes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
