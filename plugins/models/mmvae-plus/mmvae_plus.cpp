// mmvae-plus: MMVAE+ (Palumbo, Daunhawer & Vogt, "MMVAE+: Enhancing the Generative Quality of
// Multimodal VAEs without Compromises", ICLR 2023). Per modality m a shared code z and a private
// code w_m from separate encoder branches, a decoder p(x_m|z, w_m) with a Laplace likelihood of
// fixed scale 0.75, and the mixture-of-experts ELBO in which cross-reconstructions draw w from a
// learnable auxiliary prior r(w). The model is mvrl/models/mmvae_plus.hpp (readings, generate's
// modes), the objective and its equation mvrl/nn/mmvae_plus.hpp; idmvae builds on both.
#include <mvrl/models/mmvae_plus.hpp>

namespace {

class MmvaePlus : public mvrl::models::MmvaePlusModel {
public:
    static constexpr const char* name = "mmvae-plus";
    static constexpr const char* version = "1.0.0";
    static constexpr const char* description =
        "MMVAE+ (Palumbo et al., ICLR 2023): per-modality shared z and private w encoders, Laplace likelihood (scale 0.75), "
        "mixture-of-experts ELBO with cross-reconstruction from an auxiliary prior r(w) (K = 1; IWAE for k > 1). encode gives z0..z{M-1}, "
        "w0..w{M-1} (posterior means), z (their mean over modalities) and concat = [z, w0, ..., w{M-1}]; generate: cross, "
        "private, unconditional, decode";

    MmvaePlus(const mvrl::Params& p, const mvrl::DatasetInfo& info, const mvrl::Context& ctx) : MmvaePlusModel(name, p, info, ctx) {}
};

}  // namespace

MVRL_EXPORT_PLUGINS(mvrl::model_plugin<MmvaePlus>())
