#!/usr/bin/env python3
"""The PyTorch side of scripts/bench-dcmem: DCMEM in the paired setting with the same networks,
parameterisations, losses and two Adams as our dcmem plugin (plugins/models/dcmem/dcmem.cpp;
sdk/include/mvrl/nn/{mutual_supervision,club,infonce,distributions}.hpp), on two modalities of
3×S×S images resident on the device. The networks and distributions are idmvae_reference.py's (the
MMVAE+ release's ResNets, which both plugins share).

One step, on B paired samples (every sample observes both modalities: the benchmark's data, so the
single-modality terms, which only samples with a modality missing train, do not run):
  per direction s→t: MEME's bound with a private code: K samples of z_s, w_s; log p(s|z, w) and
    log q(t|z, w_t) with w_t drawn from p(w); log q̂(t|s) by log-mean-exp over K; importance weights
    ω_k = q(t|z_k)/q̂(t|s), detached; -elbo = -[mean_k ω_k (log p(s|.) - log q(z_k|s) + log q(z_k|t)
    - log q(t|z_k)) - KL(q(w_s|s) || N(0, I)) + λ log q̂(t|s)];
  β L_IB per direction: -mean_k log q(t|z_k) + CLUB(z_s; w_s) on the first sample;
  α InfoNCE between the centred, normalised shared means over a temperature, both ways averaged;
then one Adam step on the networks and one on the two CLUB networks (their q(w|z) on the step's
detached samples). Every step's eight scalars are read back (.item()), as the host does.

It prints one line of key=value pairs, as idmvae_reference.py: samples_per_second, step1_loss and
the epoch's sample-weighted mean of each term under our curves' names (loss, paired,
information_bottleneck, alignment, single, reconstruction, cross, kl).
"""
import argparse
import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

from idmvae_reference import ModalityVae, add_network_arguments, device_and_net, load_views, timed_epoch, unit_prior


def parse():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_network_arguments(a, batch=64, width=16, z_dim=16, w_dim=16, latent="normal")
    a.add_argument("--k", type=int, default=4)
    a.add_argument("--lambda", dest="lam", type=float, default=1.0)
    a.add_argument("--beta", type=float, default=1.0)
    a.add_argument("--alpha", type=float, default=1.0)
    a.add_argument("--temperature", type=float, default=0.5)
    a.add_argument("--club-hidden", type=int, default=64)
    a.add_argument("--learning-rate", type=float, default=1e-3)
    return a.parse_args()


def kl_divergence(q, p):  # mvrl/nn/distributions.hpp kl_divergence, closed forms
    ratio = p.scale.log() - q.scale.log()
    if q.family == "normal":
        return ratio + (q.scale.pow(2) + (q.loc - p.loc).pow(2)) / (2 * p.scale.pow(2)) - 0.5
    gap = (q.loc - p.loc).abs()
    return ratio + gap / p.scale + q.scale / p.scale * torch.exp(-gap / q.scale) - 1


class Club(nn.Module):  # mvrl/nn/club.hpp
    def __init__(self, x_dim, y_dim, hidden):
        super().__init__()
        self.mu = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim))
        self.logvar = nn.Sequential(nn.Linear(x_dim, hidden), nn.ReLU(), nn.Linear(hidden, y_dim), nn.Tanh())

    def learning_loss(self, x, y):
        m, lv = self.mu(x), self.logvar(x)
        return 0.5 * ((y - m).pow(2) / lv.exp() + lv + math.log(2 * math.pi)).sum(1).mean()

    def upper_bound(self, x, y):
        m, inv_var = self.mu(x), (-self.logvar(x)).exp()
        positive = -0.5 * ((y - m).pow(2) * inv_var).sum(1)
        negative = -0.5 * ((y.unsqueeze(0) - m.unsqueeze(1)).pow(2) * inv_var.unsqueeze(1)).sum(2).mean(1)
        return (positive - negative).mean()


def mutual_supervision(source, target, q_s, q_t_z, x_s, x_t, target_w, K, lam):  # mvrl/nn/mutual_supervision.hpp
    q_w, q_z = q_s
    B = x_s.shape[0]
    z_samples, w_samples = q_z.rsample((K,)), q_w.rsample((K,))
    z, w = z_samples.reshape(K * B, -1), w_samples.reshape(K * B, -1)
    log_self = source.log_likelihood(source.decode(z, w), x_s.repeat(K, 1, 1, 1)).view(K, B)
    log_cross = target.log_likelihood(target.decode(z, target_w), x_t.repeat(K, 1, 1, 1)).view(K, B)
    log_q_t_given_s = torch.logsumexp(log_cross, 0) - math.log(K)
    weights = (log_cross - log_q_t_given_s).exp().detach()
    log_ratio_z = q_z.log_prob(z_samples).sum(-1) - q_t_z.log_prob(z_samples).sum(-1)
    private_kl = kl_divergence(q_w, unit_prior(q_w.family, q_w.loc.shape[1], x_s.device)).sum(-1)
    elbo = (weights * (log_self - log_ratio_z - log_cross)).mean(0) - private_kl + lam * log_q_t_given_s
    return {"elbo": elbo, "reconstruction": -log_self.mean(0), "cross": -log_q_t_given_s,
            "kl": (weights * log_ratio_z).mean(0) + private_kl, "cross_likelihood": log_cross.mean(0),
            "z": z_samples[0], "w": w_samples[0]}


def alignment(z0, z1, temperature):  # dcmem.cpp alignment (centred)
    a, b = F.normalize(z0 - z0.mean(0, keepdim=True), dim=1), F.normalize(z1 - z1.mean(0, keepdim=True), dim=1)
    scores = a @ b.t() / temperature
    target = torch.arange(scores.shape[0], device=scores.device)
    return 0.5 * (F.cross_entropy(scores, target) + F.cross_entropy(scores.t(), target))


def main():
    a = parse()
    dev, net = device_and_net(a)
    vaes = nn.ModuleList([ModalityVae(net, a.z_dim, a.w_dim, a.latent, a.likelihood_scale, True) for _ in range(2)]).to(dev)
    clubs = nn.ModuleList([Club(a.z_dim, a.w_dim, a.club_hidden) for _ in range(2)]).to(dev)
    opt = torch.optim.Adam(vaes.parameters(), lr=a.learning_rate)
    club_opt = torch.optim.Adam(clubs.parameters(), lr=a.learning_rate)
    n = a.samples
    data = load_views(a.data, 2) if a.data else [torch.rand(n, 3, a.size, a.size) for _ in range(2)]
    data = [x.to(dev) for x in data]
    assert all(x.shape == (n, 3, a.size, a.size) for x in data), f"--data holds {[tuple(x.shape) for x in data]}, not {n}×3×{a.size}×{a.size}"

    def step(x):
        B = x[0].shape[0]
        q = [vae.posterior(v) for vae, v in zip(vaes, x)]
        terms = {k: torch.zeros((), device=dev) for k in ("paired", "information_bottleneck", "reconstruction", "cross", "kl")}
        club_inputs = []
        for s in range(2):
            t = 1 - s
            target_w = unit_prior(a.latent, a.w_dim, dev).rsample((a.k * B,)).squeeze(1)
            ms = mutual_supervision(vaes[s], vaes[t], q[s], q[t][1], x[s], x[t], target_w, a.k, a.lam)
            terms["paired"] = terms["paired"] - ms["elbo"].sum() / B
            for k in ("reconstruction", "cross", "kl"):
                terms[k] = terms[k] + ms[k].sum() / B
            if a.beta > 0:
                terms["information_bottleneck"] = terms["information_bottleneck"] + (
                    -ms["cross_likelihood"].sum() + clubs[s].upper_bound(ms["z"], ms["w"]) * B) / B
                club_inputs.append((s, ms["z"].detach(), ms["w"].detach()))
        terms["alignment"] = alignment(q[0][1].loc, q[1][1].loc, a.temperature) if a.alpha > 0 else torch.zeros((), device=dev)
        terms["single"] = torch.zeros((), device=dev)
        terms["loss"] = terms["paired"] + a.beta * terms["information_bottleneck"] + a.alpha * terms["alignment"]
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        if club_inputs:
            club_opt.zero_grad()
            torch.stack([clubs[s].learning_loss(z, w) for s, z, w in club_inputs]).sum().backward()
            club_opt.step()
        return {k: v.item() for k, v in terms.items()}  # every step's scalars reach the host, as ours

    print(timed_epoch(step, data, a.batch, a.device))


if __name__ == "__main__":
    sys.exit(main())
