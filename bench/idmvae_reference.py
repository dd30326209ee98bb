#!/usr/bin/env python3
"""The PyTorch side of scripts/bench-idmvae: MMVAE+ (and IDMVAE's three extra terms, each off at
weight 0) with the same networks, parameterisations, losses and Adam as our mmvae-plus plugin
(sdk/include/mvrl/nn/{leaky_resnet,distributions,mmvae_plus,infonce}.hpp), trained on random
images of the dataset's shape (M modalities of 3×S×S in [0, 1], resident on the device as the
host keeps polymnist-quadrant's tensors): a training step's cost does not depend on the pixels.
--data FILE trains on our polymnist-quadrant images instead (read from our dataset cache), so that
the losses can be compared with ours, not only their magnitudes.

It trains one warm-up batch (untimed: its loss is step 1's), then one timed epoch of N samples in
shuffled batches as the host loop does (the last, partial batch included; a batch of one skipped),
reading every step's losses back to the host (.item()) as the host does, and prints one line of
key=value pairs: samples_per_second, step1_loss, and the epoch's sample-weighted mean of each
loss term (the names of our curves: loss, reconstruction, cross_reconstruction, kl, and for
IDMVAE cross_mi, gen_aug, diffusion).

IDMVAE's terms follow the authors' release (chatzikon/IDMVAE @ 5695781, src/objectives.py
compute_idmvae_loss; src/models/diffusion_prior.py):
  cross_mi  sum over ordered pairs i != j of NT-Xent(mean q(z|x_i), mean q(z|x_j)), / (M - 1)
            (cosine, temperature 1: the release's ContrastiveLoss(tau=1, normalize=True));
  gen_aug   per modality m, 0.5 (roll_private + roll_shared): decode [roll(w_m sample, 1), z
            sample] (resp. [w_m sample, roll(z sample, 1)]) with fresh posterior samples, re-encode
            the image with modality m's whole encoder (both branches, as the release's Enc), and
            NT-Xent (or least squares) between the original and the re-encoded z (resp. w_m) means;
  diffusion per z (shared by the modalities) and per w_m a latent DDPM prior: MLP denoiser of width
            H with a sinusoidal time embedding, T = 1000, sigmoid schedule, x0-prediction, loss
            weight clamp(SNR, 1, 100); the loss on the posterior means (gradient into them: the
            release's PolyMNIST runs leave diffusion_stop_grad_on_input off), averaged over the
            modalities. Its denoisers train with the same Adam.
"""
import argparse
import math
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

SCALE_FLOOR = 1e-6  # the releases' Constants.eta


def add_network_arguments(a, batch, width, z_dim, w_dim, latent):
    """The data, network and run options both references take (idmvae's and dcmem's), with each
    one's defaults."""
    a.add_argument("--device", default="cpu")
    a.add_argument("--samples", type=int, default=1000, help="N: samples in the timed epoch")
    a.add_argument("--batch", type=int, default=batch)
    a.add_argument("--size", type=int, default=32)
    a.add_argument("--width", type=int, default=width)
    a.add_argument("--max-width", type=int, default=512)
    a.add_argument("--levels", type=int, default=0, help="0: as released by size (28 px: 2, else 3)")
    a.add_argument("--z-dim", type=int, default=z_dim)
    a.add_argument("--w-dim", type=int, default=w_dim)
    a.add_argument("--latent", choices=["laplace", "normal"], default=latent)
    a.add_argument("--likelihood-scale", type=float, default=0.75)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--data", help="train on these images instead of noise: one of our dataset caches "
                                  "(<store folder>/cache/polymnist-quadrant-*.pt and its .names), for the loss check")


def parse():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_network_arguments(a, batch=128, width=64, z_dim=32, w_dim=128, latent="laplace")
    a.add_argument("--modalities", type=int, default=3)
    a.add_argument("--beta", type=float, default=2.5)
    a.add_argument("--no-sigmoid", action="store_true", help="the MMVAE+ release's unbounded decoder mean")
    a.add_argument("--learning-rate", type=float, default=5e-4)
    a.add_argument("--amsgrad", action="store_true")
    a.add_argument("--cross-mi-weight", type=float, default=0.0, help="IDMVAE: 80")
    a.add_argument("--gen-aug-weight", type=float, default=0.0, help="IDMVAE: 20")
    a.add_argument("--gen-aug-loss", choices=["contrastive", "least_squares"], default="contrastive")
    a.add_argument("--diffusion-weight", type=float, default=0.0, help="IDMVAE: 1")
    a.add_argument("--diffusion-hidden", type=int, default=512)
    return a.parse_args()


# --- networks: mvrl/nn/leaky_resnet.hpp ------------------------------------------------------------
def lrelu(x):
    return F.leaky_relu(x, 0.2)


def conv3x3(i, o):
    return nn.Conv2d(i, o, 3, padding=1)


class Block(nn.Module):  # the release's ResnetBlock: hidden min(in, out), bias-free 1×1 shortcut
    def __init__(self, i, o):
        super().__init__()
        h = min(i, o)
        self.conv0, self.conv1 = conv3x3(i, h), conv3x3(h, o)
        self.shortcut = nn.Conv2d(i, o, 1, bias=False) if i != o else None

    def forward(self, x):
        dx = self.conv1(lrelu(self.conv0(lrelu(x))))
        return (self.shortcut(x) if self.shortcut is not None else x) + 0.1 * dx


class Net:
    def __init__(s, channels, size, width, max_width, levels):
        s.channels, s.size, s.width, s.max_width = channels, size, width, max_width
        s.levels = levels if levels > 0 else (2 if size == 28 else 3)
        assert size % (1 << s.levels) == 0, "the size must halve `levels` times"
        s.side = size >> s.levels

    def width_at(s, level):
        return min(s.width << level, s.max_width)

    def features(s):
        return s.width_at(s.levels) * s.side * s.side


def encoder(n):
    layers = [conv3x3(n.channels, n.width), Block(n.width, n.width)]
    for level in range(n.levels):
        layers += [nn.AvgPool2d(3, stride=2, padding=1), Block(n.width_at(level), n.width_at(level + 1))]
    return nn.Sequential(*layers, nn.Flatten(1))


class Decoder(nn.Module):
    def __init__(self, n, code_dim, sigmoid):
        super().__init__()
        self.n, self.sigmoid = n, sigmoid
        self.from_code = nn.Linear(code_dim, n.features())
        layers = []
        for level in range(n.levels, 0, -1):
            layers += [Block(n.width_at(level), n.width_at(level - 1)), nn.Upsample(scale_factor=2.0, mode="nearest")]
        self.body = nn.Sequential(*layers, Block(n.width, n.width))
        self.to_image = conv3x3(n.width, n.channels)

    def forward(self, code):
        n = self.n
        h = self.body(self.from_code(code).view(code.shape[0], n.width_at(n.levels), n.side, n.side))
        image = self.to_image(lrelu(h))
        return torch.sigmoid(image) if self.sigmoid else image


# --- distributions: mvrl/nn/distributions.hpp -----------------------------------------------------
def scale_from_raw(family, raw):
    if family == "laplace":
        return torch.softmax(raw, -1) * raw.shape[-1] + SCALE_FLOOR
    return F.softplus(raw) + SCALE_FLOOR


class Dist:
    def __init__(self, family, loc, scale):
        self.family, self.loc, self.scale = family, loc, scale

    def log_prob(self, x):
        if self.family == "normal":
            return -(x - self.loc).pow(2) / (2 * self.scale.pow(2)) - self.scale.log() - 0.5 * math.log(2 * math.pi)
        return -(x - self.loc).abs() / self.scale - (2 * self.scale).log()

    def rsample(self, leading=()):
        shape = tuple(leading) + tuple(torch.broadcast_shapes(self.loc.shape, self.scale.shape))
        if self.family == "normal":
            eps = torch.randn(shape, device=self.loc.device)
        else:
            margin = torch.finfo(torch.float32).eps
            u = (torch.rand(shape, device=self.loc.device) * 2 - 1).clamp(margin - 1, 1 - margin)
            eps = -u.sign() * torch.log1p(-u.abs())
        return self.loc + self.scale * eps


def mixture_log_prob(components, x):
    return torch.logsumexp(torch.stack([q.log_prob(x).sum(-1) for q in components]), 0) - math.log(len(components))


def unit_prior(family, dim, device):
    return Dist(family, torch.zeros(1, dim, device=device), torch.ones(1, dim, device=device))


# --- MMVAE+: mvrl/nn/mmvae_plus.hpp ---------------------------------------------------------------
class ModalityVae(nn.Module):
    def __init__(self, net, z_dim, w_dim, family, likelihood_scale, sigmoid):
        super().__init__()
        self.family, self.likelihood_scale = family, likelihood_scale
        f = net.features()
        self.w_body, self.z_body = encoder(net), encoder(net)
        self.w_loc, self.w_raw_scale = nn.Linear(f, w_dim), nn.Linear(f, w_dim)
        self.z_loc, self.z_raw_scale = nn.Linear(f, z_dim), nn.Linear(f, z_dim)
        self.decoder = Decoder(net, w_dim + z_dim, sigmoid)
        unit_raw = 0.0 if family == "laplace" else math.log(math.e - 1)
        self.auxiliary_raw_scale = nn.Parameter(torch.full((1, w_dim), unit_raw))

    def posterior(self, x):  # (q(w|x), q(z|x))
        hw, hz = self.w_body(x), self.z_body(x)
        return (Dist(self.family, self.w_loc(hw), scale_from_raw(self.family, self.w_raw_scale(hw))),
                Dist(self.family, self.z_loc(hz), scale_from_raw(self.family, self.z_raw_scale(hz))))

    def decode(self, z, w):
        return self.decoder(torch.cat([w, z], 1))

    def log_likelihood(self, mean, x):
        return Dist("laplace", mean, torch.full((), self.likelihood_scale, device=mean.device)).log_prob(x).flatten(1).sum(1)

    def auxiliary_prior(self):
        raw = self.auxiliary_raw_scale
        return Dist(self.family, torch.zeros_like(raw), scale_from_raw(self.family, raw))


def mmvae_plus_objective(vaes, views, beta, z_dim, w_dim):
    """K = 1: each decoder runs once on the stacked codes of all M source modalities."""
    M, B, K = len(vaes), views[0].shape[0], 1
    posteriors = [vae.posterior(x) for vae, x in zip(vaes, views)]
    zs = [q_z.rsample((K,)) for _, q_z in posteriors]
    ws = [q_w.rsample((K,)) for q_w, _ in posteriors]
    all_z = torch.cat([z.reshape(K * B, z_dim) for z in zs], 0)  # source-major
    by_decoder = []
    for n in range(M):
        w_for_n = [ws[n].reshape(K * B, w_dim) if m == n else vaes[n].auxiliary_prior().rsample((K * B,)).squeeze(1)
                   for m in range(M)]
        mean = vaes[n].decode(all_z, torch.cat(w_for_n, 0))
        by_decoder.append(vaes[n].log_likelihood(mean, views[n].repeat(M * K, 1, 1, 1)).view(M, K, B))
    log_lik = torch.stack(by_decoder)  # n×m×K×B
    family, device = vaes[0].family, views[0].device
    p_z, p_w = unit_prior(family, z_dim, device), unit_prior(family, w_dim, device)
    shared = [q_z for _, q_z in posteriors]
    self_terms, cross_terms, ratios = [], [], []
    for m in range(M):
        self_terms.append(log_lik[m][m])
        cross_terms.append(log_lik.select(1, m).sum(0) - log_lik[m][m])
        ratios.append(mixture_log_prob(shared, zs[m]) + posteriors[m][0].log_prob(ws[m]).sum(-1)
                      - p_z.log_prob(zs[m]).sum(-1) - p_w.log_prob(ws[m]).sum(-1))
    terms = {"reconstruction": -torch.stack(self_terms).mean(), "cross_reconstruction": -torch.stack(cross_terms).mean(),
             "kl": torch.stack(ratios).mean()}
    terms["loss"] = terms["reconstruction"] + terms["cross_reconstruction"] + beta * terms["kl"]
    return terms, posteriors


# --- IDMVAE's terms (release: src/objectives.py, src/models/diffusion_prior.py) -------------------
def nt_xent(a, b, tau=1.0):  # mvrl/nn/infonce.hpp nt_xent
    n = a.shape[0]
    z = F.normalize(torch.cat([a, b], 0), dim=1)
    sim = (z @ z.t()) / tau
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=sim.device), -1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(sim.device)
    return F.cross_entropy(sim, target)


def cross_mi_loss(posteriors):
    M = len(posteriors)
    total = sum(nt_xent(posteriors[i][1].loc, posteriors[j][1].loc) for i in range(M) for j in range(M) if i != j)
    return total / (M - 1)


def gen_aug_loss(vaes, posteriors, kind):
    match = nt_xent if kind == "contrastive" else (lambda a, b: (a - b).pow(2).sum(-1).mean())
    total = 0.0
    for vae, (q_w, q_z) in zip(vaes, posteriors):
        # roll_private: another sample's w with this sample's z; the re-encoded z should match.
        w, z = q_w.rsample((1,)).roll(1, 1), q_z.rsample((1,))
        rolled_private = vae.decode(z.flatten(0, 1), w.flatten(0, 1))
        roll_private = match(q_z.loc, vae.posterior(rolled_private)[1].loc)
        # roll_shared: this sample's w with another sample's z; the re-encoded w should match.
        w, z = q_w.rsample((1,)), q_z.rsample((1,)).roll(1, 1)
        rolled_shared = vae.decode(z.flatten(0, 1), w.flatten(0, 1))
        roll_shared = match(q_w.loc, vae.posterior(rolled_shared)[0].loc)
        total = total + 0.5 * (roll_private + roll_shared)
    return total


def sigmoid_beta_schedule(T, start=-3, end=3, tau=1):
    t = torch.linspace(0, T, T + 1, dtype=torch.float64) / T
    v_start, v_end = torch.tensor(start / tau).sigmoid(), torch.tensor(end / tau).sigmoid()
    alphas_cumprod = (-((t * (end - start) + start) / tau).sigmoid() + v_end) / (v_end - v_start)
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    return torch.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)


class DiffusionPrior(nn.Module):
    """LatentDiffusionPrior + GaussianDiffusion.p_losses (pred_x0) with DNNWithTimeEmb."""

    def __init__(self, dim, hidden, T=1000):
        super().__init__()
        self.hidden, self.T = hidden, T
        self.net1 = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.time_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden))
        self.net2 = nn.Sequential(nn.GELU(), nn.Linear(hidden, dim))
        alphas_cumprod = torch.cumprod(1 - sigmoid_beta_schedule(T), 0)
        snr = alphas_cumprod / (1 - alphas_cumprod)
        self.register_buffer("sqrt_ac", alphas_cumprod.sqrt().float())
        self.register_buffer("sqrt_one_minus_ac", (1 - alphas_cumprod).sqrt().float())
        self.register_buffer("loss_weight", snr.clamp(1, 100).float())

    def time_embedding(self, t):  # SinusoidalPosEmb(hidden)
        half = self.hidden // 2
        freq = torch.exp(torch.arange(half, device=t.device) * -(math.log(10000) / (half - 1)))
        e = t[:, None] * freq[None, :]
        return torch.cat([e.sin(), e.cos()], -1)

    def forward(self, x0):
        t = torch.randint(0, self.T, (x0.shape[0],), device=x0.device)
        noise = torch.randn_like(x0)
        x = self.sqrt_ac[t][:, None] * x0 + self.sqrt_one_minus_ac[t][:, None] * noise
        out = self.net2(self.net1(x) + self.time_mlp(self.time_embedding(t)))
        return (F.mse_loss(out, x0, reduction="none") * self.loss_weight[t][:, None]).sum(-1).mean()


def load_views(path, modalities):
    """view0..view{M-1} of a tensor cache (mvrl/data/tensor_cache.hpp: torch::save of a tensor list,
    the names one a line after the key line in PATH.names)."""
    names = open(path + ".names").read().splitlines()[1:]
    archive = torch.jit.load(path, map_location="cpu")
    tensors = {name: getattr(archive, str(i)) for i, name in enumerate(names) if hasattr(archive, str(i))}
    return [tensors[f"view{m}"].float() for m in range(modalities)]


def device_and_net(a):
    """The run's threads and seed set; its device and the networks' shape (add_network_arguments)."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    return torch.device(a.device), Net(3, a.size, a.width, a.max_width, a.levels)


def timed_epoch(step, data, batch, device):
    """One untimed warm-up step (its loss is step 1's), then one timed epoch of the N samples of
    `data` in shuffled batches as the host loop does (the last, partial batch included; a batch of
    one skipped). step(views) returns the step's scalars; the result is one line of key=value
    pairs: samples_per_second, step1_loss and each scalar's sample-weighted epoch mean."""
    n, dev = data[0].shape[0], data[0].device
    first = step([x[torch.randperm(n, device=dev)[:batch]] for x in data])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    order = torch.randperm(n, device=dev)
    sums, seen = {}, 0
    start = time.perf_counter()
    for begin in range(0, n, batch):
        idx = order[begin:begin + batch]
        if idx.numel() == 1 and n > 1:
            continue
        for k, v in step([x.index_select(0, idx) for x in data]).items():
            sums[k] = sums.get(k, 0.0) + v * idx.numel()
        seen += idx.numel()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    out = {"samples_per_second": seen / seconds, "step1_loss": first["loss"]}
    out.update({k: v / seen for k, v in sums.items()})
    return " ".join(f"{k}={v:.6g}" for k, v in out.items())


def main():
    a = parse()
    dev, net = device_and_net(a)
    vaes = nn.ModuleList([ModalityVae(net, a.z_dim, a.w_dim, a.latent, a.likelihood_scale, not a.no_sigmoid)
                          for _ in range(a.modalities)]).to(dev)
    modules = [vaes]
    if a.diffusion_weight > 0:
        pz = DiffusionPrior(a.z_dim, a.diffusion_hidden).to(dev)
        pws = nn.ModuleList([DiffusionPrior(a.w_dim, a.diffusion_hidden) for _ in range(a.modalities)]).to(dev)
        modules += [pz, pws]
    opt = torch.optim.Adam([p for m in modules for p in m.parameters()], lr=a.learning_rate, amsgrad=a.amsgrad)
    n = a.samples
    data = load_views(a.data, a.modalities) if a.data else [torch.rand(n, 3, a.size, a.size) for _ in range(a.modalities)]
    data = [x.to(dev) for x in data]
    assert all(x.shape == (n, 3, a.size, a.size) for x in data), f"--data holds {[tuple(x.shape) for x in data]}, not {n}×3×{a.size}×{a.size}"

    def step(views):
        terms, posteriors = mmvae_plus_objective(list(vaes), views, a.beta, a.z_dim, a.w_dim)
        loss = terms["loss"]
        if a.cross_mi_weight > 0:
            terms["cross_mi"] = cross_mi_loss(posteriors)
            loss = loss + a.cross_mi_weight * terms["cross_mi"]
        if a.gen_aug_weight > 0:
            terms["gen_aug"] = gen_aug_loss(list(vaes), posteriors, a.gen_aug_loss)
            loss = loss + a.gen_aug_weight * terms["gen_aug"]
        if a.diffusion_weight > 0:
            terms["diffusion"] = sum(pz(q_z.loc) + pws[m](q_w.loc) for m, (q_w, q_z) in enumerate(posteriors)) / len(posteriors)
            loss = loss + a.diffusion_weight * terms["diffusion"]
        terms["loss"] = loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {k: v.item() for k, v in terms.items()}  # every step's scalars reach the host, as ours

    print(timed_epoch(step, data, a.batch, a.device))


if __name__ == "__main__":
    sys.exit(main())
