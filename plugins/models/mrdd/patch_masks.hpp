// Masks for MRDD's masked cross-view prediction (Sec. 3.2): an image is cut into patch×patch
// squares and exactly int(ratio · patches) of them are zeroed, independently per sample and view,
// with a fresh draw every step (as the released code's MAE-style `mask_image`). Strategies of
// Table 4:
//   random — uniformly chosen patches (MAE, He et al. 2022);
//   block  — BEiT's block-wise masking (Bao et al. 2022, Alg. 1): random rectangles of patches with
//            aspect ratio in [0.3, 1/0.3] until the budget is reached, topped up at random;
//   grid   — a regular pattern: patches ranked by an ordered-dither (Bayer) matrix under a random
//            cyclic shift, so masked patches are spread evenly (at 75% exactly one patch of every
//            2×2 is kept, MAE's grid-wise sampling), for any ratio.
// Block and grid masks are drawn from a bank built once on the device, so no step does host work.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

namespace mrdd {

enum class MaskStrategy { Random, Block, Grid };

inline MaskStrategy mask_strategy_from_name(const std::string& name) {
    if (name == "random") return MaskStrategy::Random;
    if (name == "block") return MaskStrategy::Block;
    if (name == "grid") return MaskStrategy::Grid;
    throw std::invalid_argument("unknown mask strategy '" + name + "' (random, block or grid)");
}

class PatchMasker {
public:
    PatchMasker(MaskStrategy strategy, double ratio, int64_t patch, int64_t height, int64_t width, uint64_t seed,
                torch::Device device)
        : strategy_(strategy), patch_(patch), rows_(height / patch), cols_(width / patch) {
        if (height % patch != 0 || width % patch != 0)
            throw std::invalid_argument("mask_patch " + std::to_string(patch) + " does not divide the " + std::to_string(height) +
                                        "×" + std::to_string(width) + " views");
        masked_ = int64_t(ratio * double(rows_ * cols_));
        if (strategy_ == MaskStrategy::Block) bank_ = block_bank(seed).to(device);
        if (strategy_ == MaskStrategy::Grid) bank_ = grid_bank().to(device);
    }

    int64_t masked_patches() const { return masked_; }
    int64_t patches() const { return rows_ * cols_; }

    // [batch, rows, cols] bool, true = masked; exactly masked_patches() per sample.
    torch::Tensor patch_mask(int64_t batch, torch::Device device) const {
        if (strategy_ == MaskStrategy::Random) {
            torch::Tensor chosen = torch::rand({batch, patches()}, torch::TensorOptions().device(device)).argsort(int64_t(1), false).narrow(1, 0, masked_);
            return torch::zeros({batch, patches()}, torch::TensorOptions().dtype(torch::kBool).device(device))
                .scatter_(1, chosen, true)
                .view({batch, rows_, cols_});
        }
        torch::Tensor pick = torch::randint(bank_.size(0), {batch}, torch::TensorOptions().dtype(torch::kLong).device(device));
        return bank_.index_select(0, pick);
    }

    // x with the masked patches zeroed; x is [batch, channels, height, width].
    torch::Tensor apply(const torch::Tensor& x) const {
        if (masked_ == 0) return x;
        torch::Tensor mask = patch_mask(x.size(0), x.device()).repeat_interleave(patch_, 1).repeat_interleave(patch_, 2);
        return x.masked_fill(mask.unsqueeze(1), 0.0);
    }

private:
    static constexpr int64_t kBankSize = 2048;

    torch::Tensor block_bank(uint64_t seed) const {
        std::mt19937_64 rng(seed);
        torch::Tensor bank = torch::zeros({kBankSize, rows_, cols_}, torch::kBool);
        for (int64_t i = 0; i < kBankSize; ++i) fill_blocks(bank[i], rng);
        return bank;
    }

    // BEiT Alg. 1 with its constants (minimum block of 4 patches, aspect ratio 0.3–3.3, 10 tries).
    void fill_blocks(torch::Tensor mask, std::mt19937_64& rng) const {
        auto m = mask.accessor<bool, 2>();
        int64_t count = 0;
        const int64_t min_block = std::min<int64_t>(4, std::max<int64_t>(masked_, 1));
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        while (count < masked_) {
            int64_t budget = masked_ - count, gained = 0;
            for (int attempt = 0; attempt < 10 && gained == 0; ++attempt) {
                double area = min_block + unit(rng) * double(std::max<int64_t>(budget - min_block, 0));
                double aspect = std::exp(std::log(0.3) + unit(rng) * (std::log(1 / 0.3) - std::log(0.3)));
                int64_t h = std::llround(std::sqrt(area * aspect)), w = std::llround(std::sqrt(area / aspect));
                if (h < 1 || w < 1 || h > rows_ || w > cols_) continue;
                int64_t top = int64_t(unit(rng) * double(rows_ - h + 1)), left = int64_t(unit(rng) * double(cols_ - w + 1));
                int64_t fresh = 0;
                for (int64_t r = top; r < top + h; ++r)
                    for (int64_t c = left; c < left + w; ++c) fresh += !m[r][c];
                if (fresh == 0 || fresh > budget) continue;
                for (int64_t r = top; r < top + h; ++r)
                    for (int64_t c = left; c < left + w; ++c) m[r][c] = true;
                gained = fresh;
            }
            if (gained == 0) break;
            count += gained;
        }
        while (count < masked_) {  // top up where no block fits the remaining budget
            int64_t r = int64_t(unit(rng) * double(rows_)), c = int64_t(unit(rng) * double(cols_));
            if (!m[r][c]) m[r][c] = true, ++count;
        }
    }

    // Bayer matrix of side n (a power of two): M_2n = [[4M, 4M+2], [4M+3, 4M+1]] by quadrant.
    static std::vector<int64_t> bayer(int64_t n) {
        std::vector<int64_t> m{0};
        for (int64_t side = 1; side < n; side *= 2) {
            std::vector<int64_t> next(4 * side * side);
            const int64_t offset[2][2] = {{0, 2}, {3, 1}};
            for (int64_t r = 0; r < 2 * side; ++r)
                for (int64_t c = 0; c < 2 * side; ++c)
                    next[r * 2 * side + c] = 4 * m[(r % side) * side + (c % side)] + offset[r / side][c / side];
            m = std::move(next);
        }
        return m;
    }

    // One mask per cyclic shift of the dither matrix: the masked_ lowest-ranked patches.
    torch::Tensor grid_bank() const {
        int64_t n = 1;
        while (n < std::max(rows_, cols_)) n *= 2;
        const auto order = bayer(n);
        torch::Tensor bank = torch::zeros({n * n, rows_, cols_}, torch::kBool);
        for (int64_t shift = 0; shift < n * n; ++shift) {
            torch::Tensor rank = torch::empty({rows_ * cols_}, torch::kLong);
            auto rk = rank.accessor<int64_t, 1>();
            for (int64_t r = 0; r < rows_; ++r)
                for (int64_t c = 0; c < cols_; ++c)
                    rk[r * cols_ + c] = order[((r + shift / n) % n) * n + (c + shift % n) % n];
            torch::Tensor lowest = rank.argsort(int64_t(0), false).narrow(0, 0, masked_);
            bank[shift].view({-1}).index_fill_(0, lowest, true);
        }
        return bank;
    }

    MaskStrategy strategy_;
    int64_t patch_, rows_, cols_, masked_ = 0;
    torch::Tensor bank_;
};

}  // namespace mrdd
