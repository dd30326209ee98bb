// mvrl/nn/latent_diffusion.hpp — the latent diffusion prior of IDMVAE (Zhang, Shen & Wang,
// "Disentanglement of Variations with Multimodal Generative Modeling", §2 "Diffusion Priors"):
// p(z) is a denoising process from pure noise, and the E_q(z|x)[-log p(z)] half of the KL of Eq. 3,
//   KL(q(z|x) || p(z)) = E_q[log q(z|x)] + E_q[-log p(z)],
// is replaced by a diffusion loss on codes from q(z|x). IDMVAE keeps one prior for the shared z and
// one per modality for w_m.
//
// Where the paper leaves the details open we follow the authors' release (diffusion_prior.py, after
// lucidrains' denoising-diffusion-pytorch):
//   - a Gaussian diffusion with T = 1000 steps and the sigmoid schedule (start -3, end 3, tau 1);
//   - the denoiser predicts x0, not the noise. The paper says it models the mean "with the DDPM
//     parameterization (Ho et al., 2020)"; we read that as the DDPM forward/backward process and
//     keep the release's x0 target;
//   - the loss is the x0 MSE weighted by the SNR clamped to [1, 100], one uniform t per row, summed
//     over dimensions and averaged over rows. This is the release's loss, not the ELBO the paper
//     invokes for "valid upper bounds" of the KL: the clamped weights are a reweighting of it;
//   - samples come from deterministic DDIM (eta 0) over 100 of the T steps.
// What is fed to loss() is the caller's choice: the release passes the posterior means q(z|x).loc
// (objectives.py, compute_diffusion_prior_loss), the paper speaks of samples z ~ q(z|x).
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <vector>

namespace mvrl::nn {

struct LatentDiffusionOptions {
    LatentDiffusionOptions(int64_t dim) : dim_(dim) {}
    TORCH_ARG(int64_t, dim);                    // the latent's size: 32 for IDMVAE's z, 128 for w_m
    TORCH_ARG(int64_t, timesteps) = 1000;       // T
    TORCH_ARG(int64_t, sampling_steps) = 100;   // DDIM steps in sample()
    TORCH_ARG(int64_t, hidden) = 512;           // the denoiser's width
    TORCH_ARG(int64_t, time_embedding) = 512;   // sinusoidal features of t (release: the width)
    TORCH_ARG(int64_t, layers) = 2;             // Linear layers in each of the x and t branches
    TORCH_ARG(bool, stop_grad_on_input) = false;  // detach x0: the prior then does not move the encoders
};

// The sigmoid schedule (Jabri, Fleet & Chen, arXiv:2212.11972, Fig. 8) as the release computes it,
// in double: alpha-bar on the grid s = i/T is (sigmoid(end/tau) - sigmoid((s (end-start) + start)/tau))
// normalised to [0, 1]; beta_i = 1 - alphabar(s_{i+1}) / alphabar(s_i), clipped to [0, 0.999]. Only the
// last step is clipped (it would be 1), so alphas_cumprod ends at 0.001 · alphabar((T-1)/T), not 0.
// (The release's clamp_min = 1e-5 argument is never used, so there is none here.)
inline torch::Tensor sigmoid_schedule_betas(int64_t timesteps, double start = -3, double end = 3, double tau = 1) {
    auto sigmoid = [](double v) { return 1 / (1 + std::exp(-v)); };
    const double v_start = sigmoid(start / tau), v_end = sigmoid(end / tau);
    torch::Tensor s = torch::linspace(0, double(timesteps), timesteps + 1, torch::kFloat64) / double(timesteps);
    torch::Tensor alphabar = (v_end - torch::sigmoid((s * (end - start) + start) / tau)) / (v_end - v_start);
    alphabar = alphabar / alphabar[0];
    torch::Tensor betas = 1 - alphabar.slice(0, 1) / alphabar.slice(0, 0, timesteps);
    return betas.clamp(0, 0.999);
}

// The time steps DDIM visits, from T-1 down, as the release picks them: linspace(-1, T-1, steps + 1)
// in float32, truncated to integers, reversed; the final -1 means "return the x0 prediction".
inline std::vector<int64_t> ddim_timesteps(int64_t timesteps, int64_t steps) {
    torch::Tensor grid = torch::linspace(-1, double(timesteps - 1), steps + 1, torch::kFloat32).to(torch::kInt64);
    std::vector<int64_t> times(grid.data_ptr<int64_t>(), grid.data_ptr<int64_t>() + grid.numel());
    return {times.rbegin(), times.rend()};
}

// Transformer-style features of the integer step t (not rescaled to [0, 1], as released):
// [sin(t f_k), cos(t f_k)] with f_k = 10000^(-k / (size/2 - 1)), k = 0 .. size/2 - 1.
inline torch::Tensor sinusoidal_time_embedding(const torch::Tensor& t, int64_t size) {
    const int64_t half = size / 2;
    torch::Tensor k = torch::arange(half, torch::TensorOptions().dtype(torch::kFloat32).device(t.device()));
    torch::Tensor angles = t.to(torch::kFloat32).unsqueeze(1) * torch::exp(k * (-std::log(10000.0) / double(half - 1))).unsqueeze(0);
    return torch::cat({angles.sin(), angles.cos()}, 1);
}

// The release's DNNWithTimeEmb: x and the embedded t each go through Linear (GELU Linear)^(layers-1),
// are added, and GELU Linear maps the sum back to the latent's size.
struct LatentDenoiserImpl : torch::nn::Module {
    explicit LatentDenoiserImpl(const LatentDiffusionOptions& o) : options(o) {
        TORCH_CHECK(o.time_embedding() >= 4 && o.time_embedding() % 2 == 0, "latent diffusion: time_embedding must be even and >= 4");
        TORCH_CHECK(o.layers() >= 1, "latent diffusion: layers must be >= 1");
        x_branch = register_module("x_branch", branch(o.dim()));
        t_branch = register_module("t_branch", branch(o.time_embedding()));
        head = register_module("head", torch::nn::Sequential(torch::nn::GELU(), torch::nn::Linear(o.hidden(), o.dim())));
    }

    // The x0 prediction from x_t (B×D) at integer steps t (B, or 1 for one step shared by all rows:
    // its embedding is computed once and broadcast).
    torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t) {
        torch::Tensor time = sinusoidal_time_embedding(t, options.time_embedding()).to(x_t.scalar_type());
        return head->forward(x_branch->forward(x_t) + t_branch->forward(time));
    }

    LatentDiffusionOptions options;
    torch::nn::Sequential x_branch{nullptr}, t_branch{nullptr}, head{nullptr};

private:
    torch::nn::Sequential branch(int64_t in) const {
        torch::nn::Sequential s(torch::nn::Linear(in, options.hidden()));
        for (int64_t l = 1; l < options.layers(); ++l) {
            s->push_back(torch::nn::GELU());
            s->push_back(torch::nn::Linear(options.hidden(), options.hidden()));
        }
        return s;
    }
};
TORCH_MODULE(LatentDenoiser);

struct LatentDiffusionPriorImpl : torch::nn::Module {
    // The release's SNR clamp on the x0 loss weight (min-SNR weighting, Hang et al.,
    // arXiv:2303.09556, with a floor of 1 added by the release).
    static constexpr double kMinLossWeight = 1, kMaxLossWeight = 100;

    explicit LatentDiffusionPriorImpl(const LatentDiffusionOptions& o) : options(o) {
        TORCH_CHECK(o.dim() >= 1 && o.timesteps() >= 2, "latent diffusion: dim >= 1 and timesteps >= 2");
        TORCH_CHECK(o.sampling_steps() >= 1 && o.sampling_steps() <= o.timesteps(),
                    "latent diffusion: sampling_steps must be in [1, timesteps]");
        denoiser = register_module("denoiser", LatentDenoiser(o));
        // Computed in double and kept in float32, as released; buffers, so they follow .to() and
        // are in the saved state.
        torch::Tensor b = sigmoid_schedule_betas(o.timesteps());
        torch::Tensor abar = torch::cumprod(1 - b, 0);
        auto keep = [this](const char* name, const torch::Tensor& v) { return register_buffer(name, v.to(torch::kFloat32)); };
        betas = keep("betas", b);
        alphas_cumprod = keep("alphas_cumprod", abar);
        sqrt_alphas_cumprod = keep("sqrt_alphas_cumprod", abar.sqrt());
        sqrt_one_minus_alphas_cumprod = keep("sqrt_one_minus_alphas_cumprod", (1 - abar).sqrt());
        sqrt_recip_alphas_cumprod = keep("sqrt_recip_alphas_cumprod", (1 / abar).sqrt());
        sqrt_recipm1_alphas_cumprod = keep("sqrt_recipm1_alphas_cumprod", (1 / abar - 1).sqrt());
        loss_weight = keep("loss_weight", (abar / (1 - abar)).clamp(kMinLossWeight, kMaxLossWeight));
    }

    // The diffusion prior's term of the objective for codes x0 (B×D, or any ...×D, flattened to rows
    // as the release does): for each row a uniform t in [0, T), x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps,
    //   loss = mean_rows sum_d w_t (x0_hat(x_t, t) - x0)^2,   w_t = clamp(SNR_t, 1, 100).
    torch::Tensor loss(const torch::Tensor& x0) {
        TORCH_CHECK(x0.dim() >= 1 && x0.size(-1) == options.dim(), "latent diffusion: codes of size ", options.dim(), " expected, got ",
                    x0.sizes());
        torch::Tensor x = x0.reshape({-1, options.dim()});
        if (options.stop_grad_on_input()) x = x.detach();
        torch::Tensor t = torch::randint(0, options.timesteps(), {x.size(0)}, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
        torch::Tensor x_t = at_step(sqrt_alphas_cumprod, t) * x + at_step(sqrt_one_minus_alphas_cumprod, t) * torch::randn_like(x);
        return (at_step(loss_weight, t) * (denoiser(x_t, t) - x).pow(2)).sum(1).mean();
    }

    // n draws from the prior (n×D on the module's device): deterministic DDIM (eta 0) from
    // x_{T-1} ~ N(0, I) over sampling_steps steps, each
    //   eps_hat = (x_t / sqrt(abar_t) - x0_hat) / sqrt(1/abar_t - 1),
    //   x_next = sqrt(abar_next) x0_hat + sqrt(1 - abar_next) eps_hat,
    // and the last step's x0_hat returned. Uses the default generator; no autograd graph (the release
    // runs under inference_mode; NoGradGuard keeps the result usable as a constant in later graphs).
    // With sampling_steps == timesteps the release switches to ancestral DDPM sampling; we stay with
    // DDIM over every step (IDMVAE samples with 100 of 1000, where both agree).
    torch::Tensor sample(int64_t n) {
        torch::NoGradGuard no_grad;
        torch::Tensor x = torch::randn({n, options.dim()}, alphas_cumprod.options());
        const std::vector<int64_t> times = ddim_timesteps(options.timesteps(), options.sampling_steps());
        for (size_t i = 0; i + 1 < times.size(); ++i) {
            const int64_t now = times[i], next = times[i + 1];
            torch::Tensor x0_hat = denoiser(x, torch::full({1}, now, torch::TensorOptions().dtype(torch::kInt64).device(x.device())));
            if (next < 0) return x0_hat;
            torch::Tensor eps_hat = (sqrt_recip_alphas_cumprod[now] * x - x0_hat) / sqrt_recipm1_alphas_cumprod[now];
            torch::Tensor abar_next = alphas_cumprod[next];
            x = x0_hat * abar_next.sqrt() + (1 - abar_next).sqrt() * eps_hat;
        }
        return x;  // not reached: the release's grid always ends at -1
    }

    LatentDiffusionOptions options;
    LatentDenoiser denoiser{nullptr};
    torch::Tensor betas, alphas_cumprod, sqrt_alphas_cumprod, sqrt_one_minus_alphas_cumprod, sqrt_recip_alphas_cumprod,
        sqrt_recipm1_alphas_cumprod, loss_weight;

private:
    // A per-step schedule value for each row, as a B×1 column.
    static torch::Tensor at_step(const torch::Tensor& schedule, const torch::Tensor& t) { return schedule.index_select(0, t).unsqueeze(1); }
};
TORCH_MODULE(LatentDiffusionPrior);

}  // namespace mvrl::nn
