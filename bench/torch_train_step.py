"""Training throughput of an idiomatic PyTorch loop, for comparison with bench_torch_train_step.

The same architectures as cifarbench's zoo (src/model/zoo.cpp), written as nn.Modules the way
CIFAR code usually writes them; the same optimizer (SGD, Nesterov momentum 0.9, lr 0.1, weight
decay 5e-4), batch, thread count, warm-up and timed windows as the C++ driver.
Usage: python3 torch_train_step.py [model] [batch] [threads] [warmup] [windows] [steps]
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def simple_cnn(num_classes=10):
    layers, c = [], 3
    for width in (32, 64, 128):
        for _ in range(2):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                       nn.ReLU(inplace=True)]
            c = width
        layers.append(nn.MaxPool2d(2, 2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return nn.Sequential(*layers)


class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Identity()
        if stride != 1 or in_planes != planes:
            extra = planes - in_planes  # option A: subsample, then zero channels on both sides
            self.shortcut = LambdaLayer(lambda x: F.pad(
                x[:, :, ::stride, ::stride], (0, 0, 0, 0, extra // 2, extra - extra // 2)))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, blocks, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for i, planes in enumerate((16, 32, 64)):
            for j in range(blocks):
                layers.append(BasicBlock(in_planes, planes, 2 if i > 0 and j == 0 else 1))
                in_planes = planes
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


MODELS = {"simple-cnn": simple_cnn, "resnet20": lambda: ResNet(3), "resnet56": lambda: ResNet(9)}


def main():
    args = sys.argv[1:]
    model_name = args[0] if len(args) > 0 else "resnet20"
    batch, threads, warmup, windows, steps = (
        [int(a) for a in args[1:6]] + [128, 2, 5, 5, 10][len(args[1:6]):])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = MODELS[model_name]()
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                                weight_decay=5e-4)
    batches = [(torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))) for _ in range(4)]
    model.train()
    step_no = 0

    def step():
        nonlocal step_no
        x, y = batches[step_no % len(batches)]
        step_no += 1
        optimizer.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        optimizer.step()
        return loss.item(), (out.argmax(1) == y).sum().item()

    for _ in range(warmup):
        step()
    rates = []
    for w in range(windows):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - start))
        print(f"window {w + 1}: {rates[-1]:.1f} images/s")
    print(f"python {model_name} batch={batch} threads={threads} params={n_params}: "
          f"median {statistics.median(rates):.1f} images/s (torch {torch.__version__})")


if __name__ == "__main__":
    main()
