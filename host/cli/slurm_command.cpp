// mvrl-run slurm FILE: the sweep as Slurm job arrays, one SQLite shard per task, merged after.
// mvrl-run slurm-task FOLDER --task I: what one array task runs (host/slurm/submission.hpp).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "config/experiment.hpp"
#include "runner/coordinator.hpp"
#include "runner/processes.hpp"
#include "slurm/scheduler.hpp"
#include "slurm/submission.hpp"
#include "store/plugin_records.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace host;
using namespace host::slurm;

// mvrl-run as a task starts it: this executable and the plugin folders, by absolute path.
std::vector<std::string> mvrl_run_words(const GlobalOptions& global) {
    std::vector<std::string> words = {fs::absolute(global.executable).string()};
    for (const auto& p : global.plugin_paths) words.insert(words.end(), {"--plugin-path", fs::absolute(p).string()});
    return words;
}

// The array task ("123_4") that runs task `task` of a submission, from its jobs.json.
std::string array_task_of(const SubmittedJobs& jobs, int task) {
    for (const auto& a : jobs.arrays)
        if (task >= a.offset && task < a.offset + a.count) return a.job_id + "_" + std::to_string(task - a.offset);
    return "";
}

std::vector<std::string> job_ids_of(const SubmittedJobs& jobs) {
    std::vector<std::string> ids;
    for (const auto& a : jobs.arrays) ids.push_back(a.job_id);
    if (!jobs.merge_job.empty()) ids.push_back(jobs.merge_job);
    return ids;
}

// An earlier submission as its folder and the scheduler have it, read once per command: each
// scheduler_states call is an `scontrol show config` and one squeue per job, and a task's file
// holds every resolved config of its runs.
struct SubmissionView {
    const Submission* submission = nullptr;
    SubmittedJobs jobs;
    std::map<std::string, std::string> states;      // scheduler_states of its jobs
    std::vector<std::vector<std::string>> task_keys;  // the run keys of each task
};

std::vector<SubmissionView> views_of(const std::vector<Submission>& submissions) {
    std::vector<SubmissionView> views;
    for (const auto& s : submissions) {
        SubmissionView v{&s, read_jobs(s.folder), {}, {}};
        v.states = scheduler_states(job_ids_of(v.jobs));
        for (int t = 0; t < s.tasks; ++t) {
            v.task_keys.emplace_back();
            for (const auto& run : read_task_runs(s.folder, t)) v.task_keys.back().push_back(run.key);
        }
        views.push_back(std::move(v));
    }
    return views;
}

// Where each run of earlier submissions stands with the scheduler.
struct SubmittedRun {
    const Submission* submission = nullptr;
    int task = 0;
    std::string array_task, state;  // state: "" when the scheduler no longer knows the task
};

std::map<std::string, SubmittedRun> submitted_runs(const std::vector<SubmissionView>& views) {
    std::map<std::string, SubmittedRun> by_key;  // a later submission's entry replaces an earlier one's
    for (const auto& v : views)
        for (int t = 0; t < v.submission->tasks; ++t) {
            SubmittedRun entry{v.submission, t, array_task_of(v.jobs, t), ""};
            if (auto it = v.states.find(entry.array_task); it != v.states.end()) entry.state = it->second;
            for (const auto& key : v.task_keys[t]) by_key[key] = entry;
        }
    return by_key;
}

std::vector<fs::path> published_shards(const std::vector<Submission>& submissions) {
    std::vector<fs::path> shards;
    for (const auto& s : submissions)
        for (int t = 0; t < s.tasks; ++t)
            if (fs::exists(shard_of_task(s.folder, t))) shards.push_back(shard_of_task(s.folder, t));
    return shards;
}

// key -> status of the runs in the published shards (a shard being replaced is read as it was).
std::map<std::string, std::string> shard_statuses(const std::vector<SubmissionView>& views) {
    std::map<std::string, std::string> status;
    for (const auto& v : views)
        for (int t = 0; t < v.submission->tasks; ++t) {
            const fs::path shard = shard_of_task(v.submission->folder, t);
            if (!fs::exists(shard)) continue;
            const std::vector<std::string>& keys = v.task_keys[t];
            try {
                for (const auto& row : Store::open_existing(shard, false).runs_of_keys(keys)) status[row.key] = row.status;
            } catch (const StoreError&) {
                for (const auto& key : keys) status[key] = "unreadable";
            }
        }
    return status;
}

std::map<std::string, std::string> store_statuses(const fs::path& db, const std::vector<PlannedRun>& runs) {
    std::map<std::string, std::string> status;
    if (!fs::exists(db)) return status;
    std::vector<std::string> keys;
    for (const auto& r : runs) keys.push_back(r.key);
    for (const auto& row : Store::open_existing(db, false).runs_of_keys(keys)) status[row.key] = row.status;
    return status;
}

// `mvrl-run slurm FILE --status`: per run the store's status, its shard's and the scheduler's.
int print_status(const std::vector<PlannedRun>& runs, const fs::path& db, const std::string& experiment) {
    const std::vector<Submission> submissions = submissions_of(db, experiment);
    const std::vector<SubmissionView> views = views_of(submissions);
    const auto stored = store_statuses(db, runs);
    const auto in_shard = shard_statuses(views);
    const auto submitted = submitted_runs(views);
    std::printf("%-4s %-12s %-20s %-5s %-11s %-11s %-12s %s\n", "#", "KEY", "VARIANT", "SEED", "STORE", "SHARD", "TASK", "SCHEDULER");
    StatusCounts counts;
    for (size_t i = 0; i < runs.size(); ++i) {
        const auto& r = runs[i];
        auto value_or = [&](const std::map<std::string, std::string>& m, const char* none) {
            auto it = m.find(r.key);
            return it == m.end() ? std::string(none) : it->second;
        };
        const std::string status = value_or(stored, "new");
        counts.add(status);
        auto job = submitted.find(r.key);
        const std::string task = job == submitted.end() || job->second.array_task.empty() ? "-" : job->second.array_task;
        const std::string state = job == submitted.end()          ? "-"
                                  : job->second.array_task.empty() ? "not submitted"
                                  : job->second.state.empty()      ? "ended"
                                                                   : job->second.state;
        std::printf("%-4zu %-12s %-20s %-5lld %-11s %-11s %-12s %s\n", i + 1, r.key.substr(0, 12).c_str(), r.variant.c_str(),
                    (long long)r.seed, status.c_str(), value_or(in_shard, "-").c_str(), task.c_str(), state.c_str());
    }
    for (const auto& v : views) {
        const Submission& s = *v.submission;
        auto state_of = [&](const std::string& id) { return v.states.count(id) ? v.states.at(id) : std::string("ended"); };
        std::printf("sweep %lld: %d task(s) in %s", (long long)s.sweep_id, s.tasks, s.folder.c_str());
        if (v.jobs.arrays.empty()) std::printf(" (not submitted: sbatch failed)");
        if (!v.jobs.merge_job.empty()) std::printf("; merge job %s: %s", v.jobs.merge_job.c_str(), state_of(v.jobs.merge_job).c_str());
        std::printf("\n");
    }
    std::printf("store %s: %d finished, %d failed, %d interrupted, %d queued, %d running (published shards are merged by the "
                "merge job, or by hand: mvrl-run merge <folder>/shards --db %s)\n",
                db.c_str(), counts.finished, counts.failed, counts.interrupted, counts.queued, counts.running, db.c_str());
    return kExitOk;
}

void write_script(const fs::path& file, const std::string& text) {
    std::ofstream(file, std::ios::trunc) << text;
    fs::permissions(file, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

SbatchOptions sbatch_options_of(const po::variables_map& vm) {
    SbatchOptions o;
    o.partition = vm["partition"].as<std::string>();
    o.time = vm["time"].as<std::string>();
    o.mem = vm["mem"].as<std::string>();
    o.gpus_per_task = vm["gpus-per-task"].as<std::string>();
    o.cpus_per_task = vm["cpus-per-task"].as<int>();
    o.array_parallelism = vm["array-parallelism"].as<int>();
    o.runs_per_task = vm["runs-per-task"].as<int>();
    if (vm.count("sbatch-arg")) o.extra = vm["sbatch-arg"].as<std::vector<std::string>>();
    if (o.cpus_per_task < 1 || o.runs_per_task < 1 || o.array_parallelism < 0)
        throw std::invalid_argument("--cpus-per-task and --runs-per-task must be at least 1, --array-parallelism at least 0");
    return o;
}

// Runs to submit: queued in the store (new, interrupted, or failed with --retry-failed) and not in
// a task the scheduler still holds.
std::vector<PlannedRun> runs_to_submit(const std::vector<PlannedRun>& distinct, const std::map<std::string, std::string>& status,
                                       const std::map<std::string, SubmittedRun>& submitted, bool retry_failed, int& in_flight) {
    std::vector<PlannedRun> out;
    in_flight = 0;
    for (const auto& r : distinct) {
        auto job = submitted.find(r.key);
        if (job != submitted.end() && is_active_state(job->second.state)) {
            ++in_flight;
            continue;
        }
        auto it = status.find(r.key);
        const std::string s = it == status.end() ? "new" : it->second;
        if (s == "new" || s == "queued" || s == "interrupted" || (s == "failed" && retry_failed)) out.push_back(r);
    }
    return out;
}

}  // namespace

int run_slurm_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("mvrl-run slurm FILE [options]");
    options.add_options()
        ("help,h", "show this help")
        ("file", po::value<std::string>(), "the TOML experiment")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "the main store (tasks never open it: they write shards)")
        ("set", po::value<std::vector<std::string>>()->composing(), "override a key, as for sweep (repeatable)")
        ("partition", po::value<std::string>()->default_value(""), "sbatch --partition")
        ("time", po::value<std::string>()->default_value(""), "sbatch --time, per task (e.g. 04:00:00)")
        ("cpus-per-task", po::value<int>()->default_value(1), "sbatch --cpus-per-task: the torch threads of each task")
        ("mem", po::value<std::string>()->default_value(""), "sbatch --mem, per task")
        ("gpus-per-task", po::value<std::string>()->default_value(""), "sbatch --gpus-per-task")
        ("array-parallelism", po::value<int>()->default_value(0), "at most this many tasks at once (--array=...%K); 0: no limit")
        ("runs-per-task", po::value<int>()->default_value(1), "runs one array task trains, one after the other")
        ("sbatch-arg", po::value<std::vector<std::string>>()->composing(), "another sbatch option, verbatim (repeatable)")
        ("retry-failed", "submit failed runs again (they are otherwise kept as failed)")
        ("status", "show per run the store's, the shard's and the scheduler's state; submit nothing")
        ("dry-run", "print what would be submitted and the task script; write and submit nothing");
    po::variables_map vm;
    if (auto exit = parse_command_options("slurm", args, options, vm, "file")) return *exit;
    const fs::path db = vm["db"].as<std::string>();
    const std::vector<std::string> sets = vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};

    PluginRegistry registry = load_registry(global);
    Experiment experiment;
    std::vector<PlannedRun> runs;
    SbatchOptions sbatch_options;
    try {
        experiment = load_experiment(vm["file"].as<std::string>(), sets);
        runs = expand_runs(experiment, registry);
        sbatch_options = sbatch_options_of(vm);
    } catch (const std::exception& e) {
        std::cerr << "mvrl-run slurm: " << e.what() << "\n";
        return kExitUsage;
    }
    const std::vector<PlannedRun> distinct = distinct_runs(runs);
    if (vm.count("status")) return print_status(distinct, db, experiment.name);
    const bool retry_failed = vm.count("retry-failed") > 0;
    std::vector<Submission> earlier = submissions_of(db, experiment.name);

    if (vm.count("dry-run")) {
        // What the real command would see after merging the published shards (merge never
        // replaces a finished run, nor brings a queued one).
        auto status = store_statuses(db, distinct);
        const std::vector<SubmissionView> views = views_of(earlier);
        for (const auto& [key, in_shard] : shard_statuses(views))
            if (status[key] != "finished" && in_shard != "queued" && in_shard != "unreadable") status[key] = in_shard;
        int in_flight = 0;
        const auto to_submit = runs_to_submit(distinct, status, submitted_runs(views), retry_failed, in_flight);
        Submission s{submission_folder(db, experiment.name, 0).parent_path() / (experiment.name + "-<sweep id>"), fs::absolute(db),
                     experiment.name, 0, {}, int((to_submit.size() + sbatch_options.runs_per_task - 1) / sbatch_options.runs_per_task),
                     sbatch_options};
        std::printf("%zu runs: %zu to submit in %d task(s), %d in tasks still queued or running\n", distinct.size(), to_submit.size(),
                    s.tasks, in_flight);
        if (s.tasks > 0) std::printf("\n%s", task_script(s, mvrl_run_words(global)).c_str());
        std::printf("(dry run: nothing was written or submitted)\n");
        return kExitOk;
    }

    Store store = Store::open_for_writing(db);
    // What earlier submissions' tasks published comes in first, so that a finished run is not submitted again.
    const MergeSummary merged = merge_shards(store, published_shards(earlier), "slurm");
    const auto submitted = submitted_runs(views_of(earlier));
    const SweepRecord record{experiment.name, fs::absolute(experiment.path).string(), experiment.source_text,
                             command_line_of("slurm", args), this_host_name(), MVRL_REVISION};
    const int64_t sweep_id = store.begin_sweep(record);
    store.record_plugins(records_of_plugins_used(runs, registry));
    store.queue_runs(sweep_id, runs, retry_failed);
    int in_flight = 0;
    const auto status = store_statuses(db, distinct);
    const auto to_submit = runs_to_submit(distinct, status, submitted, retry_failed, in_flight);
    StatusCounts counts;
    for (const auto& r : distinct) counts.add(status.at(r.key));
    std::fprintf(stderr, "sweep '%s' (#%lld, %s): %zu runs: %d finished, %d failed%s, %d in tasks still queued or running, %zu to submit\n",
                 experiment.name.c_str(), (long long)sweep_id, db.c_str(), distinct.size(), counts.finished, counts.failed,
                 counts.failed && !retry_failed ? " (kept; --retry-failed submits them again)" : "", in_flight, to_submit.size());
    if (!merged.refused.empty())
        std::fprintf(stderr, "warning: %zu published shard(s) could not be merged (named above); their runs are submitted again\n",
                     merged.refused.size());
    if (to_submit.empty()) {
        std::fprintf(stderr, "nothing to submit\n");
        return kExitOk;
    }

    Submission s{submission_folder(db, experiment.name, sweep_id), fs::absolute(db), experiment.name, sweep_id, record,
                 int((to_submit.size() + sbatch_options.runs_per_task - 1) / sbatch_options.runs_per_task), sbatch_options};
    write_submission(s, to_submit);
    write_script(s.folder / "task.sbatch", task_script(s, mvrl_run_words(global)));
    write_script(s.folder / "merge.sbatch", merge_script(s, mvrl_run_words(global)));
    SubmittedJobs jobs;
    try {
        jobs = submit(s);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mvrl-run slurm: %s\nthe runs stay queued in %s and the scripts are in %s: once the cause is "
                             "fixed, the same command submits them\n",
                     e.what(), db.c_str(), s.folder.c_str());
        return kExitFailure;
    }
    std::string arrays;
    for (const auto& a : jobs.arrays) arrays += (arrays.empty() ? "" : ", ") + a.job_id + " (" + std::to_string(a.count) + " tasks)";
    std::printf("submitted %zu runs in %d task(s): job array%s %s; merge job %s runs after them\n", to_submit.size(), s.tasks,
                jobs.arrays.size() > 1 ? "s" : "", arrays.c_str(), jobs.merge_job.c_str());
    std::printf("folder: %s\nwatch:  mvrl-run slurm %s --status%s\nmerge by hand: mvrl-run merge %s --db %s\n", s.folder.c_str(),
                experiment.path.c_str(), db != kDefaultDatabase ? (" --db " + db.string()).c_str() : "",
                (s.folder / "shards").c_str(), db.c_str());
    return kExitOk;
}

namespace {

volatile sig_atomic_t g_requeue_requested = 0;
// USR2, 90 s before the time limit: stop like SIGTERM (the coordinator's handler), then requeue.
extern "C" void stop_and_requeue(int) {
    g_requeue_requested = 1;
    kill(getpid(), SIGTERM);
}

// Copy + rename: the shard folder only ever holds whole shards.
void publish_shard(Store& shard, const fs::path& published) {
    const fs::path partial = published.parent_path() / ("." + published.filename().string() + ".partial");
    shard.write_snapshot(partial);
    fs::rename(partial, published);
}

fs::path node_local_folder(const Submission& s, int task) {
    const char* base = std::getenv("MVRL_SHARD_DIR");
    if (!base || !*base) base = std::getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    return fs::path(base) / ("mvrl-" + s.experiment + "-" + std::to_string(s.sweep_id) + "-task-" + std::to_string(task) + "-" +
                             std::to_string(getpid()));
}

}  // namespace

int run_slurm_task_command(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("mvrl-run slurm-task FOLDER --task I  (what a Slurm array task of mvrl-run slurm runs)");
    options.add_options()
        ("help,h", "show this help")
        ("folder", po::value<std::string>(), "the submission's folder")
        ("task", po::value<int>(), "the task's index in the submission");
    po::variables_map vm;
    if (auto exit = parse_command_options("slurm-task", args, options, vm, "folder")) return *exit;
    if (!vm.count("task")) {
        std::cerr << "mvrl-run slurm-task: --task is required\n";
        return kExitUsage;
    }
    const int task = vm["task"].as<int>();
    const Submission s = read_submission(vm["folder"].as<std::string>());
    if (task < 0 || task >= s.tasks) {
        std::cerr << "mvrl-run slurm-task: task " << task << " is not in " << s.folder << " (it has " << s.tasks << ")\n";
        return kExitUsage;
    }
    const std::vector<PlannedRun> runs = read_task_runs(s.folder, task);
    const fs::path published = shard_of_task(s.folder, task), local_folder = node_local_folder(s, task);
    const fs::path local = local_folder / published.filename();
    fs::create_directories(local_folder);
    // A requeued task goes on from what it published: its finished runs stay, an interrupted one resumes.
    if (fs::exists(published)) fs::copy_file(published, local, fs::copy_options::overwrite_existing);

    SweepOutcome outcome;
    {
        Store shard = Store::open_for_writing(local);
        shard.set_meta("shard_of_sweep", std::to_string(s.sweep_id));
        const int64_t sweep_id = shard.begin_sweep(s.sweep);
        const QueueCounts q = shard.queue_runs(sweep_id, runs, false);
        const char* restarts = std::getenv("SLURM_RESTART_COUNT");
        std::fprintf(stderr, "task %d of sweep %lld (restart %s): %zu runs: %d new, %d resumed, %d finished, %d failed kept; shard %s\n",
                     task, (long long)s.sweep_id, restarts ? restarts : "0", runs.size(), q.added, q.requeued, q.finished, q.failed_kept,
                     local.c_str());

        struct sigaction action {};
        action.sa_handler = stop_and_requeue;
        sigemptyset(&action.sa_mask);
        sigaction(SIGUSR2, &action, nullptr);

        CoordinatorOptions c;
        c.worker_executable = worker_executable(global);
        for (const auto& p : global.plugin_paths) c.worker_args.insert(c.worker_args.end(), {"--plugin-path", p});
        // Checkpoints, representations and caches beside the main store, on the shared file system:
        // a requeued task may start on another node.
        c.worker_args.insert(c.worker_args.end(), {"--files-dir", s.main_db.parent_path().string()});
        c.db = local;
        c.log_dir = s.folder / "logs" / ("task-" + std::to_string(task));
        c.sweep_id = sweep_id;
        c.jobs = 1;
        const char* cpus = std::getenv("SLURM_CPUS_PER_TASK");
        c.threads_per_worker = cpus ? std::max(1, std::atoi(cpus)) : s.sbatch.cpus_per_task;
        outcome = coordinate_sweep(shard, distinct_runs(runs), c);
        publish_shard(shard, published);
    }
    std::error_code ec;
    fs::remove_all(local_folder, ec);
    const auto& n = outcome.counts;
    std::fprintf(stderr, "task %d: %d finished, %d failed, %d interrupted; published %s\n", task, n.finished, n.failed, n.interrupted,
                 published.c_str());
    for (const auto& row : outcome.unfinished) std::fprintf(stderr, "  %s %s: %s\n", row.status.c_str(), row.key.substr(0, 12).c_str(), row.error.c_str());
    if (g_requeue_requested) {
        const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
        const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
        if (array_job && array_task) {
            requeue_array_task(array_job, array_task);
            std::fprintf(stderr, "task %d: requeued itself as %s_%s\n", task, array_job, array_task);
        }
        return kExitInterrupted;
    }
    if (outcome.interrupted || n.interrupted) return kExitInterrupted;
    return n.finished == n.total() ? kExitOk : kExitFailure;
}

}  // namespace mvrl::cli
