#include "scheduler.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace mvrl::host::slurm {

namespace fs = std::filesystem;

namespace {

struct CommandOutput {
    int status = -1;  // exit status; -1 when it could not start
    std::string text;  // stdout and stderr
};

CommandOutput run_command(const std::vector<std::string>& words) {
    std::string line;
    for (const auto& w : words) line += shell_quoted(w) + " ";
    CommandOutput out;
    FILE* pipe = popen((line + "2>&1").c_str(), "r");
    if (!pipe) return out;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.text.append(buffer, n);
    const int status = pclose(pipe);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (out.status == 127) out.text = words.front() + ": not found on PATH (mvrl-run slurm needs Slurm's client commands; "
                                      "on a machine without Slurm use mvrl-run sweep, or scripts/local-slurm start)";
    return out;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

// `scontrol show config`'s value of one key ("" when absent).
std::string config_value(const std::string& key) {
    CommandOutput out = run_command({"scontrol", "show", "config"});
    if (out.status != 0) return "";
    std::smatch m;
    if (std::regex_search(out.text, m, std::regex("\\n" + key + "\\s*=\\s*(\\S+)"))) return m[1];
    return "";
}

// `sbatch --parsable` prints "jobid" or "jobid;cluster".
std::string sbatch(std::vector<std::string> args) {
    args.insert(args.begin(), {"sbatch", "--parsable"});
    CommandOutput out = run_command(args);
    std::string id = trimmed(out.text);
    if (out.status != 0 || id.empty() || id.find_first_not_of("0123456789;_-abcdefghijklmnopqrstuvwxyz") != std::string::npos) {
        std::string words;
        for (const auto& a : args) words += " " + a;
        throw std::runtime_error("sbatch failed (" + words.substr(1) + "): " + trimmed(out.text));
    }
    return id.substr(0, id.find(';'));
}

void write_jobs(const fs::path& folder, const SubmittedJobs& jobs) {
    json arrays = json::array();
    for (const auto& a : jobs.arrays) arrays.push_back({{"job_id", a.job_id}, {"offset", a.offset}, {"count", a.count}});
    std::ofstream out(folder / "jobs.json", std::ios::trunc);
    out << json{{"arrays", arrays}, {"merge_job", jobs.merge_job}}.dump(1) << "\n";
}

}  // namespace

int max_array_size() {
    const std::string value = config_value("MaxArraySize");
    try {
        return value.empty() ? 1001 : std::max(1, std::stoi(value));
    } catch (const std::exception&) {
        return 1001;
    }
}

SubmittedJobs submit(const Submission& s) {
    SubmittedJobs jobs;
    const int limit = max_array_size();
    const std::string parallelism = s.sbatch.array_parallelism > 0 ? "%" + std::to_string(s.sbatch.array_parallelism) : "";
    std::string dependency = "afterany";
    try {
        for (int offset = 0; offset < s.tasks; offset += limit) {
            const int count = std::min(limit, s.tasks - offset);
            ArrayJob array{sbatch({"--array=0-" + std::to_string(count - 1) + parallelism,
                                   "--export=ALL,MVRL_TASK_OFFSET=" + std::to_string(offset), (s.folder / "task.sbatch").string()}),
                           offset, count};
            dependency += ":" + array.job_id;
            jobs.arrays.push_back(array);
        }
        jobs.merge_job = sbatch({"--dependency=" + dependency, (s.folder / "merge.sbatch").string()});
    } catch (...) {
        write_jobs(s.folder, jobs);  // what was submitted before the failure
        throw;
    }
    write_jobs(s.folder, jobs);
    return jobs;
}

SubmittedJobs read_jobs(const fs::path& folder) {
    SubmittedJobs jobs;
    std::ifstream in(folder / "jobs.json");
    if (!in) return jobs;
    const json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) return jobs;
    for (const auto& a : j.value("arrays", json::array())) jobs.arrays.push_back({a.at("job_id"), a.at("offset"), a.at("count")});
    jobs.merge_job = j.value("merge_job", "");
    return jobs;
}

std::map<std::string, std::string> scheduler_states(const std::vector<std::string>& job_ids) {
    std::map<std::string, std::string> states;
    if (job_ids.empty()) return states;
    // Ended jobs first, from the jobcomp file (last record wins: a requeued task has several).
    const std::string jobcomp = config_value("JobCompLoc");
    if (!jobcomp.empty() && fs::is_regular_file(jobcomp)) {
        std::ifstream in(jobcomp);
        std::string line;
        const std::regex job("JobId=(\\d+) "), state("JobState=(\\S+)"), array_job("ArrayJobId=(\\d+)"), array_task("ArrayTaskId=(\\d+)");
        std::smatch m;
        while (std::getline(in, line)) {
            std::string id, s;
            if (std::regex_search(line, m, state)) s = m[1];
            if (std::regex_search(line, m, array_job) && m[1] != "0" && std::regex_search(line, m, array_task)) {
                std::smatch a;
                std::regex_search(line, a, array_job);
                id = std::string(a[1]) + "_" + std::string(m[1]);
            } else if (std::regex_search(line, m, job)) {
                id = m[1];
            }
            if (!id.empty() && !s.empty()) states[id] = s;
        }
    }
    // What the scheduler still holds: one line per array task (-r), "123_4 RUNNING". One call per
    // job: squeue refuses a whole list when one job in it has left its memory.
    for (const auto& job : job_ids) {
        CommandOutput out = run_command({"squeue", "-h", "-r", "-o", "%i %T", "-j", job});
        std::istringstream lines(out.status == 0 ? out.text : "");
        std::string id, state;
        while (lines >> id >> state) states[id] = state;
    }
    return states;
}

void requeue_array_task(const std::string& array_job, const std::string& task) {
    CommandOutput out = run_command({"scontrol", "requeue", array_job + "_" + task});
    if (out.status != 0) throw std::runtime_error("scontrol requeue " + array_job + "_" + task + " failed: " + trimmed(out.text));
}

bool is_active_state(const std::string& state) {
    return state == "PENDING" || state == "RUNNING" || state == "REQUEUED" || state == "CONFIGURING" || state == "COMPLETING" ||
           state == "RESIZING" || state == "SUSPENDED" || state == "REQUEUE_HOLD" || state == "REQUEUE_FED" || state == "SIGNALING" ||
           state == "STAGE_OUT";
}

}  // namespace mvrl::host::slurm
