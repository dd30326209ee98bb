// host/slurm — a sweep as Slurm job arrays. A submission is one folder beside the main store that
// holds everything a task needs (so no task opens the main store, which may sit on NFS) and
// everything a user needs to see or redo what was submitted:
//   <store folder>/slurm/<experiment>-<sweep id>/
//     submission.json        experiment, sweep record, main store, task count, sbatch options
//     tasks/<i>.json         the runs of task i: key, labels and resolved config
//     task.sbatch            the array's script, as submitted (rerunnable by hand)
//     merge.sbatch           the merge job's script (afterany on every array)
//     jobs.json              the job ids sbatch returned
//     shards/task-<i>.sqlite what task i has published (copy + rename)
//     logs/                  Slurm's output of each task and of the merge, and the workers' logs
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "store/store.hpp"

namespace mvrl::host::slurm {

struct SbatchOptions {
    std::string partition, time, mem, gpus_per_task;  // empty: the site's default
    int cpus_per_task = 1;
    int array_parallelism = 0;  // at most this many tasks at once (%K); 0: no limit
    int runs_per_task = 1;
    std::vector<std::string> extra;  // --sbatch-arg, verbatim
};

struct Submission {
    std::filesystem::path folder, main_db;
    std::string experiment;
    int64_t sweep_id = 0;
    SweepRecord sweep;
    int tasks = 0;
    SbatchOptions sbatch;
};

std::filesystem::path submission_folder(const std::filesystem::path& main_db, const std::string& experiment, int64_t sweep_id);
std::filesystem::path shard_of_task(const std::filesystem::path& folder, int task);

// Writes submission.json and tasks/<i>.json (runs split in order, runs_per_task each).
void write_submission(const Submission& submission, const std::vector<PlannedRun>& runs);
Submission read_submission(const std::filesystem::path& folder);
std::vector<PlannedRun> read_task_runs(const std::filesystem::path& folder, int task);
// Every submission of this experiment beside the main store, oldest first.
std::vector<Submission> submissions_of(const std::filesystem::path& main_db, const std::string& experiment);

// The scripts. `mvrl_run`: the command line that starts mvrl-run with its global options.
std::string task_script(const Submission& submission, const std::vector<std::string>& mvrl_run);
std::string merge_script(const Submission& submission, const std::vector<std::string>& mvrl_run);

// 'text' with every ' escaped: one word for bash.
std::string shell_quoted(const std::string& text);

}  // namespace mvrl::host::slurm
