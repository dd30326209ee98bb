// A finished run's representations, kept beside the store so that `mvrl-run evaluate` can score
// them with another metric, label or parameters without training again.
//
// After encoding, the worker writes <database folder>/artifacts/<run key>/representations.pt and
// records it in the store's `artifacts` table (name "representations", path relative to the
// database folder, bytes, SHA-256). The file is torch::pickle_save of a dict
//   {"representations": {name: N × ... tensor}, "labels": {name: N tensor}}
// on the CPU — `torch.load(path)` reads it in Python too. Kept: every representation of at most
// kMaxStoredWidth values per sample — codes and latents, whatever the [[evaluate]] entries use —
// but not wide ones such as the raw model's pixels, which would cost hundreds of MB per run and
// need no training to compute again. "labels" are every dataset tensor but the views: "label",
// "split", "present" and any further label.
#pragma once

#include <filesystem>
#include <string>

#include <mvrl/tensor.hpp>

#include "store/store.hpp"

namespace mvrl::host {

constexpr int64_t kMaxStoredWidth = 1024;

struct StoredRepresentations {
    TensorMap representations, labels;
};

// Writes the file under `files_dir` (the folder of the store's run files: the store's own folder,
// or the main store's for a Slurm task's shard) and returns its record, relative to that folder.
ArtifactRecord save_representations(const std::filesystem::path& files_dir, const std::string& run_key, const TensorMap& reps,
                                    const TensorMap& data);

// Reads a recorded file back; throws std::runtime_error when it is missing or its SHA-256 differs.
StoredRepresentations load_representations(const std::filesystem::path& database, const ArtifactRecord& record);

}  // namespace mvrl::host
