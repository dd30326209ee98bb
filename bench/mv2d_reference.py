#!/usr/bin/env python3
"""The PyTorch side of scripts/bench-mv2d: MV2D ("Variational Distillation for Multi-View Learning",
Tian et al., TPAMI 2023, Eq. 9) and its special cases as our mv2d plugin computes them
(plugins/models/mv2d/mv2d.cpp, mirrored line by line; sdk/include/mvrl/nn/{distillation,gaussian}.hpp),
trained on a multi-view .mat file (the UCI Handwritten set) as the host loop trains it.

What it trains, for the chosen --variant (mv2d, vsd, vcd, vmd, vcd+vmd, encoder, encoder+ib; cib
with the VIB bound):
  per view i: E_θ = Linear(d_i, 512), ReLU, Linear(512, 256), ReLU giving v_i; a head P_{v_i} =
  Linear(256, K); with a bottleneck (all variants but encoder) E_φ = Linear(256, z) for μ_i and
  for log σ²_i, z_i = μ_i + exp(log σ²_i / 2)·ε, a head P_{z_i} = Linear(z, K); a joint head P_Z
  on the concatenated z's (the encoder variant: on the v's) and, with a bottleneck, leave-one-out
  heads P_{Z\\i} on the concatenation of the other views' z's. The loss: cross-entropy on every
  head once, plus the variant's KL terms KL(teacher ‖ student) of softmax distributions at
  temperature 1 with the teacher detached (mv2d: Σ_i KL(P_{v_i} ‖ P_{z_i}) + Σ_i KL(P_Z ‖ P_{Z\\i})),
  weights 1; Adam(lr, betas (β1, β2)), the learning rate ×0.05 after epochs 30 and 60.
The plugin's parameter defaults that the benchmark does not vary (joint_head = concat,
detach_teacher, kl_direction = teacher_student, stochastic_z, temperature 1, ce_weight and
distill_weight 1) are the only ones implemented here.

The data and the loop follow the host's: the .mat file read as plugins/datasets/mat reads it (X a
cell array of view matrices, the samples on the axis as long as Y, Y's sorted distinct values as
classes 0..K-1, each feature mapped to [0, 1] over all samples in float64, then float32); the
host's per-class split of [train] split = [0.7, 0.2, 0.1] (host/runner/stratified_split.hpp:
std::mt19937_64 seeded 300 and libstdc++'s std::shuffle, ported here) and training on its
training rows only, in their dataset order; each epoch a torch.randperm of them from a generator
seeded with the run's seed, batches of B (a last batch of one skipped), every step's scalars read
back with .item(), the epoch's sample-weighted means of the losses. Model and noise are seeded as
the plugin seeds them (torch.manual_seed(seed), then the modules built in the order the
plugin builds them; the same ops in the same order after that), so on the same libtorch build
the first epoch's losses agree with ours bit for bit.

It prints one line of key=value pairs: samples_per_second (the median of the per-epoch samples/s
over the epochs after the first; with one epoch, that epoch's), epochs_samples_per_second (every
epoch's, comma-separated), training_rows, threads, blas (the BLAS file mapped), and the first
epoch's mean of each of our curves (loss, cross_entropy, kl_sufficiency, kl_consistency, kl_cross,
kl_mutual, ib, train_accuracy), to 17 digits. An epoch's time runs from drawing its order to the
end of its last step, as the host's epoch_seconds.
"""
import argparse
import statistics
import sys
import time

import numpy as np
import scipy.io
import scipy.sparse
import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ["mv2d", "vsd", "vcd", "vmd", "vcd+vmd", "encoder", "encoder+ib", "cib"]


def parse():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--mat", required=True, help="the .mat file (X: cell array of views, Y: labels)")
    a.add_argument("--variant", choices=VARIANTS, default="mv2d")
    a.add_argument("--epochs", type=int, default=5)
    a.add_argument("--batch", type=int, default=64)
    a.add_argument("--lr", type=float, default=1e-3)
    a.add_argument("--beta1", type=float, default=0.5)
    a.add_argument("--beta2", type=float, default=0.9)
    a.add_argument("--lr-milestones", default="30,60")
    a.add_argument("--lr-decay", type=float, default=0.05)
    a.add_argument("--hidden", type=int, default=512)
    a.add_argument("--feature-dim", type=int, default=256)
    a.add_argument("--z-dim", type=int, default=64)
    a.add_argument("--ib-beta", type=float, default=1e-3, help="cib only (VIB bound)")
    a.add_argument("--split", default="0.7,0.2,0.1", help="per-class train, test[, validation] fractions")
    a.add_argument("--split-seed", type=int, default=300)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--seed", type=int, default=0)
    return a.parse_args()


# --- data: plugins/datasets/mat/mat.cpp --------------------------------------------------------------
def load_mat(path):
    """(views as N×d float32 tensors, labels 0..K-1 as int64, K)."""
    m = scipy.io.loadmat(path)
    y = np.asarray(m["Y"]).astype(np.float64).ravel()
    values, labels = np.unique(y, return_inverse=True)
    n = y.size
    views = []
    for x in np.asarray(m["X"]).ravel():
        if scipy.sparse.issparse(x):
            x = x.toarray()
        x = np.asarray(x).astype(np.float64)
        if x.shape[0] == n and x.shape[1] == n:
            raise SystemExit(f"mv2d_reference: a {n}×{n} view: either axis could hold the samples")
        if x.shape[0] != n:
            x = x.T
        assert x.shape[0] == n, f"a view of shape {x.shape} for {n} labels"
        t = torch.from_numpy(np.ascontiguousarray(x))
        lo = t.amin(0)
        span = t.amax(0) - lo
        t = (t - lo) / torch.where(span > 0, span, torch.ones_like(span))
        views.append(t.to(torch.float32).contiguous())
    return views, torch.from_numpy(labels.astype(np.int64)), len(values)


# --- the host's split: host/runner/stratified_split.hpp ----------------------------------------------
M64 = (1 << 64) - 1


class Mt19937_64:
    """std::mt19937_64."""

    def __init__(self, seed):
        self.mt = [seed & M64]
        for i in range(1, 312):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & M64)
        self.index = 312

    def __call__(self):
        if self.index >= 312:
            mt = self.mt
            for i in range(312):
                x = (mt[i] & 0xFFFFFFFF80000000) | (mt[(i + 1) % 312] & 0x7FFFFFFF)
                xa = x >> 1
                if x & 1:
                    xa ^= 0xB5026F5AA96619E9
                mt[i] = mt[(i + 156) % 312] ^ xa
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y & M64


def uniform_below(g, bound):
    """libstdc++'s uniform_int_distribution<uint64_t>{0, bound - 1}(g) for a 64-bit g: Lemire's method."""
    product = g() * bound
    low = product & M64
    if low < bound:
        threshold = ((1 << 64) - bound) % bound
        while low < threshold:
            product = g() * bound
            low = product & M64
    return product >> 64


def std_shuffle(rows, g):
    """libstdc++'s std::shuffle (GCC 12, bits/stl_algo.h): swap positions drawn two at a time."""
    n = len(rows)
    if n == 0:
        return
    assert M64 // n >= n
    i = 1
    if n % 2 == 0:
        j = uniform_below(g, 2)
        rows[i], rows[j] = rows[j], rows[i]
        i += 1
    while i != n:
        swap_range = i + 1
        x = uniform_below(g, swap_range * (swap_range + 1))
        first, second = x // (swap_range + 1), x % (swap_range + 1)
        rows[i], rows[first] = rows[first], rows[i]
        i += 1
        rows[i], rows[second] = rows[second], rows[i]
        i += 1


def training_rows(labels, fractions, seed):
    """The indices the host trains on with rows = "train", in dataset order."""
    llround = lambda v: int(np.floor(v + 0.5))  # non-negative here
    g = Mt19937_64(seed)
    split = [0] * len(labels)
    labels = labels.tolist()
    for label in sorted(set(labels)):
        rows = [i for i, y in enumerate(labels) if y == label]
        std_shuffle(rows, g)
        n = len(rows)
        train = min(n, llround(fractions[0] * n))
        test = n - train if len(fractions) == 2 else min(n - train, llround(fractions[1] * n))
        for k, r in enumerate(rows):
            split[r] = 0 if k < train else 1 if k < train + test else 2
    return torch.tensor([i for i, s in enumerate(split) if s == 0], dtype=torch.int64)


# --- the network: mv2d.cpp's ViewEncoder, Bottleneck, Mv2dNet (modules built in its order) ----------
class ViewEncoder(nn.Module):
    def __init__(self, d, hidden, feature):
        super().__init__()
        # The plugin builds its two Linear layers first to last (named locals: the order does not
        # depend on the compiler), so their initial weights are drawn in this order.
        first = nn.Linear(d, hidden)
        second = nn.Linear(hidden, feature)
        self.mlp = nn.Sequential(first, nn.ReLU(), second, nn.ReLU())

    def forward(self, x):
        return self.mlp(x.flatten(1))


class Bottleneck(nn.Module):
    def __init__(self, feature, z_dim):
        super().__init__()
        self.mu, self.logvar = nn.Linear(feature, z_dim), nn.Linear(feature, z_dim)


class Mv2dNet(nn.Module):
    def __init__(self, dims, classes, hidden, feature, z_dim, bottleneck):
        super().__init__()
        n = len(dims)
        self.encoders, self.v_heads = nn.ModuleList(), nn.ModuleList()
        self.bottlenecks, self.z_heads, self.loo_heads = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for d in dims:
            self.encoders.append(ViewEncoder(d, hidden, feature))
            self.v_heads.append(nn.Linear(feature, classes))
            if not bottleneck:
                continue
            self.bottlenecks.append(Bottleneck(feature, z_dim))
            self.z_heads.append(nn.Linear(z_dim, classes))
        self.joint_head = None
        if n > 1:  # joint_head = concat
            self.joint_head = nn.Linear(n * (z_dim if bottleneck else feature), classes)
            if bottleneck:
                for _ in range(n):
                    self.loo_heads.append(nn.Linear((n - 1) * z_dim, classes))

    @staticmethod
    def pooled_logits(codes, own_logits, members, head):
        if len(members) == 1:
            return own_logits[members[0]]
        return head(torch.cat([codes[m] for m in members], 1))

    def forward(self, views, sample):
        f = {k: [] for k in ("v", "z", "mu", "logvar", "v_logits", "z_logits", "loo_logits")}
        n = len(views)
        for i in range(n):
            f["v"].append(self.encoders[i](views[i]))
            f["v_logits"].append(self.v_heads[i](f["v"][i]))
            if len(self.bottlenecks) == 0:
                continue
            f["mu"].append(self.bottlenecks[i].mu(f["v"][i]))
            f["logvar"].append(self.bottlenecks[i].logvar(f["v"][i]))
            mu, logvar = f["mu"][i], f["logvar"][i]
            f["z"].append(mu + (0.5 * logvar).exp() * torch.randn_like(mu) if sample else mu)  # mvrl::nn::reparameterize
            f["z_logits"].append(self.z_heads[i](f["z"][i]))
        ib = len(self.bottlenecks) > 0
        f["joint_logits"] = self.pooled_logits(f["z"] if ib else f["v"], f["z_logits"] if ib else f["v_logits"],
                                               list(range(n)), self.joint_head)
        if ib and n > 1:
            for i in range(n):
                others = [j for j in range(n) if j != i]
                f["loo_logits"].append(self.pooled_logits(f["z"], f["z_logits"], others, self.loo_heads[i]))
        return f


# --- the loss: mv2d.cpp's terms and mvrl::nn::distillation_kl ----------------------------------------
def kl(teacher_logits, student_logits, temperature=1.0):
    """KL(P_teacher ‖ P_student), mean over the batch; the teacher detached."""
    teacher, student = teacher_logits / temperature, student_logits / temperature
    teacher = teacher.detach()
    log_p, log_q = torch.log_softmax(teacher, 1), torch.log_softmax(student, 1)
    return (log_p.exp() * (log_p - log_q)).sum(1).mean()


def terms(variant, f, y):
    zero = torch.zeros((), dtype=f["joint_logits"].dtype)
    t = dict(ce=zero, sufficiency=zero, consistency=zero, cross=zero, mutual=zero, distill=zero, ib=zero)
    n = len(f["v"])
    if n > 1:
        t["ce"] = F.cross_entropy(f["joint_logits"], y)
    for i in range(n):
        t["ce"] = t["ce"] + F.cross_entropy(f["v_logits"][i], y)
        if f["z_logits"]:
            t["ce"] = t["ce"] + F.cross_entropy(f["z_logits"][i], y)
    for loo in f["loo_logits"]:
        t["ce"] = t["ce"] + F.cross_entropy(loo, y)
    sufficiency = variant in ("mv2d", "vsd")
    cross = variant in ("vcd", "vcd+vmd")
    mutual = variant in ("vmd", "vcd+vmd")
    for i in range(n if f["z_logits"] else 0):
        if sufficiency:
            t["sufficiency"] = t["sufficiency"] + kl(f["v_logits"][i], f["z_logits"][i])
        if variant == "mv2d" and n > 1:
            t["consistency"] = t["consistency"] + kl(f["joint_logits"], f["loo_logits"][i])
        for j in range(n):
            if j == i:
                continue
            if cross:
                t["cross"] = t["cross"] + kl(f["v_logits"][j], f["z_logits"][i])
            if mutual:
                t["mutual"] = t["mutual"] + kl(f["z_logits"][i], f["z_logits"][j])
    t["distill"] = t["sufficiency"] + t["consistency"] + t["cross"] + t["mutual"]
    if variant == "cib":  # the VIB bound: Σ_i mean KL(q(z_i|v_i) ‖ N(0, I))
        total = torch.zeros((), dtype=f["joint_logits"].dtype)
        for mu, logvar in zip(f["mu"], f["logvar"]):
            total = total + (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        t["ib"] = total
    return t


def loaded_blas():
    """The BLAS library file this process mapped (libtorch's, behind the libblas.so.3 alternative)."""
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if path.rsplit("/", 1)[-1].startswith(("libblas", "libopenblas", "libmkl_rt", "libblis")):
            return path
    return "unknown"


def main():
    a = parse()
    torch.set_num_threads(a.threads)
    views_all, labels_all, classes = load_mat(a.mat)
    rows = training_rows(labels_all, [float(v) for v in a.split.split(",")], a.split_seed)
    data = [x.index_select(0, rows) for x in views_all]
    labels = labels_all.index_select(0, rows)
    n = rows.numel()

    torch.manual_seed(a.seed)  # as the plugin's constructor, right before the modules are built
    net = Mv2dNet([x.shape[1] for x in data], classes, a.hidden, a.feature_dim, a.z_dim, a.variant != "encoder")
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(a.beta1, a.beta2))
    milestones = [int(m) for m in a.lr_milestones.split(",") if m]
    shuffle_gen = torch.Generator()
    shuffle_gen.manual_seed(a.seed)

    def step(views, y):
        f = net(views, True)
        t = terms(a.variant, f, y)
        loss = 1.0 * t["ce"] + 1.0 * t["distill"] + a.ib_beta * t["ib"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        accuracy = (f["joint_logits"].argmax(1) == y).to(torch.float64).mean().item()
        return [("loss", loss.item()), ("cross_entropy", t["ce"].item()), ("kl_sufficiency", t["sufficiency"].item()),
                ("kl_consistency", t["consistency"].item()), ("kl_cross", t["cross"].item()),
                ("kl_mutual", t["mutual"].item()), ("ib", t["ib"].item()), ("train_accuracy", accuracy)]

    rates, first = [], None
    for epoch in range(a.epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=shuffle_gen, dtype=torch.int64)
        sums, seen = {}, 0
        for begin in range(0, n, a.batch):
            idx = order[begin:begin + a.batch]
            if idx.numel() == 1 and n > 1:
                continue  # as the host loop: no batch of one
            for k, v in step([x.index_select(0, idx) for x in data], labels.index_select(0, idx)):
                sums[k] = sums.get(k, 0.0) + v * idx.numel()
            seen += idx.numel()
        if epoch + 1 in milestones:
            for group in opt.param_groups:
                group["lr"] *= a.lr_decay
        rates.append(seen / max(time.perf_counter() - start, 1e-9))
        if first is None:
            first = {k: v / seen for k, v in sums.items()}
    out = {"samples_per_second": statistics.median(rates[1:] if len(rates) > 1 else rates),
           "epochs_samples_per_second": ",".join(f"{r:.6g}" for r in rates), "training_rows": n,
           "threads": torch.get_num_threads(), "blas": loaded_blas()}
    out.update(first)
    print(" ".join(f"{k}={v:.17g}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items()))  # round-trip


if __name__ == "__main__":
    sys.exit(main())
