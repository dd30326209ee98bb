// host/runner — a run's checkpoint: where training stood, the model's own file (its save/load,
// ABI 1.1) and the host's generators, in checkpoints/<run key>/ beside the store. Every file is
// written beside and renamed into place; state.json, renamed last, is what makes a checkpoint
// exist, so a run killed mid-write resumes from the previous one. Deleted when the run finishes.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "plugin_handles.hpp"

namespace mvrl::host {

// Where training stands: the next epoch to train (stage index, epoch within it) and what the
// epochs before it took.
struct TrainingPosition {
    size_t stage = 0;
    int epoch = 0;
    std::string stage_name;  // of `stage`, or of the last stage once all are done
    double train_seconds = 0;
    int64_t samples = 0;
    std::optional<double> final_loss;
    // Inside an epoch (a checkpoint written when the run was stopped between two steps): the first
    // row of the next batch in the epoch's order, and the epoch's loss sums and rows so far; the
    // shuffle generator is saved as it was at the epoch's start, so that the order is drawn again.
    int64_t next_row = 0;  // 0: at the epoch's start
    int64_t epoch_rows = 0;
    std::vector<std::pair<std::string, double>> epoch_sums;
};

class RunCheckpoint {
public:
    // `files_dir`: the folder of the store's run files (see stored_representations.hpp).
    RunCheckpoint(const std::filesystem::path& files_dir, const std::string& run_key);

    // The last complete checkpoint's position, if any. A checkpoint that cannot be read is reported
    // through `why_not` and treated as absent (the run starts from scratch).
    std::optional<TrainingPosition> find(std::string& why_not) const;
    // Loads the model's file and the host's generators of the checkpoint find() returned.
    void restore(ModelHandle& model, torch::Generator& shuffle, const torch::Device& device) const;
    // Writes a new checkpoint at `at`, then removes the previous one.
    void write(ModelHandle& model, const TrainingPosition& at, const torch::Generator& shuffle, const torch::Device& device) const;
    void remove() const;

    const std::filesystem::path& folder() const { return folder_; }

private:
    std::filesystem::path folder_;
};

}  // namespace mvrl::host
