// host/slurm — what mvrl asks of Slurm's client commands (sbatch, squeue, scontrol), and only that.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "submission.hpp"

namespace mvrl::host::slurm {

// One `sbatch --array`: tasks offset .. offset + count - 1 of the submission.
struct ArrayJob {
    std::string job_id;
    int offset = 0, count = 0;
};

struct SubmittedJobs {
    std::vector<ArrayJob> arrays;
    std::string merge_job;
};

// The site's MaxArraySize (the highest array index + 1); Slurm's default, 1001, when unknown.
int max_array_size();
// Submits the task arrays (several when the submission has more tasks than MaxArraySize) and the
// merge job after them; writes jobs.json. Throws std::runtime_error with sbatch's own words.
SubmittedJobs submit(const Submission& submission);
SubmittedJobs read_jobs(const std::filesystem::path& folder);

// The scheduler's state of each job and array task it still knows ("123_4" -> "RUNNING",
// "125" -> "PENDING"), from squeue, then from the jobcomp file for those that ended (there is no
// accounting database on every cluster).
std::map<std::string, std::string> scheduler_states(const std::vector<std::string>& job_ids);
// Task `task` of array job `array_job` back into the queue (not `$SLURM_JOB_ID`: that is the whole array).
void requeue_array_task(const std::string& array_job, const std::string& task);

// The scheduler says this task is still to run or running.
bool is_active_state(const std::string& state);

}  // namespace mvrl::host::slurm
