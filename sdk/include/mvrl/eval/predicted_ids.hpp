// mvrl/eval/predicted_ids.hpp — what a model predicts per sample, as the metrics that score it read
// it (assignment: clusters, prediction: classes): N×K scores (logits, probabilities, a soft
// assignment), read by argmax over K, or N (or N×1) integer ids, stored as integers or as
// integer-valued floats.
#pragma once

#include <string>

#include "../plugin.hpp"

namespace mvrl::eval {

// N int64 ids on the CPU. `ids` names them in errors ("cluster labels", "class ids"), `scores` the
// N×K form ("soft assignments", "class scores"). Throws ParamError, prefixed with the metric's name,
// on another rank, NaN/Inf scores or a single column of non-integer values.
inline torch::Tensor predicted_ids(const torch::Tensor& representation, const std::string& metric, const std::string& ids,
                                   const std::string& scores) {
    const torch::Tensor a = representation.cpu();
    if (a.dim() == 0 || a.dim() > 2)
        throw ParamError(metric + ": expected N×K " + scores + " or N " + ids + ", got rank " + std::to_string(a.dim()));
    if (a.dim() == 2 && a.size(1) > 1) {
        if (!torch::isfinite(a).all().item<bool>()) throw ParamError(metric + ": the " + scores + " contain NaN or Inf");
        return a.argmax(1);
    }
    if (a.is_floating_point() && !torch::equal(a, a.round()))
        throw ParamError(metric + ": a single column must hold integer " + ids + "; for " + scores + " pass N×K scores");
    return a.reshape({-1}).to(torch::kInt64);
}

}  // namespace mvrl::eval
