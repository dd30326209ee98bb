// mvrl/nn/distillation.hpp — the KL divergence between two heads' class distributions that
// variational distillation minimises (Tian et al., "Variational Distillation for Multi-View
// Learning", Eqs. 9, 13, 17, 18: D_KL[P_teacher ‖ P_student], P = softmax of a head's logits).
#pragma once

#include <torch/torch.h>

namespace mvrl::nn {

struct DistillationOptions {
    double temperature = 1.0;    // logits / T before the softmax
    bool detach_teacher = true;  // no gradient through the teacher (the authors' released VSD code)
    bool reverse = false;        // KL(student ‖ teacher) instead
};

// KL(P_teacher ‖ P_student), mean over the batch (rows), from logits: zero exactly when the two
// distributions agree, positive otherwise.
inline torch::Tensor distillation_kl(const torch::Tensor& teacher_logits, const torch::Tensor& student_logits,
                                     const DistillationOptions& o = {}) {
    torch::Tensor teacher = teacher_logits / o.temperature, student = student_logits / o.temperature;
    if (o.detach_teacher) teacher = teacher.detach();
    if (o.reverse) std::swap(teacher, student);
    torch::Tensor log_p = torch::log_softmax(teacher, 1), log_q = torch::log_softmax(student, 1);
    return (log_p.exp() * (log_p - log_q)).sum(1).mean();
}

}  // namespace mvrl::nn
