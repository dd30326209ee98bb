#include "coordinator.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "progress_view.hpp"
#include "processes.hpp"

namespace mvrl::host {

namespace {

volatile sig_atomic_t g_interrupts = 0;
extern "C" void count_interrupt(int) { g_interrupts = g_interrupts + 1; }

bool is_crash_signal(int sig) {
    return sig == SIGSEGV || sig == SIGABRT || sig == SIGBUS || sig == SIGFPE || sig == SIGILL || sig == SIGSYS;
}

class WorkerPool {
public:
    explicit WorkerPool(const CoordinatorOptions& o) : options_(o) {}

    void start_one() {
        std::string name = "w" + std::to_string(++started_);
        std::filesystem::path log = options_.log_dir / ("sweep-" + std::to_string(options_.sweep_id) + "-" + name + ".log");
        std::vector<std::string> args = {options_.worker_executable.string()};
        args.insert(args.end(), options_.worker_args.begin(), options_.worker_args.end());
        for (const std::string& a : {std::string("--db"), options_.db.string(), std::string("--sweep"), std::to_string(options_.sweep_id),
                                     std::string("--name"), name, std::string("--threads"),
                                     std::to_string(options_.threads_per_worker), std::string("--max-attempts"),
                                     std::to_string(options_.max_attempts), std::string("--stale-after"),
                                     std::to_string(options_.stale_after_seconds)})
            args.push_back(a);
        pid_t pid = fork();
        if (pid < 0) throw std::runtime_error(std::string("cannot start a worker: ") + strerror(errno));
        if (pid == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) dup2(fd, STDOUT_FILENO), dup2(fd, STDERR_FILENO);
            int null = ::open("/dev/null", O_RDONLY);
            if (null >= 0) dup2(null, STDIN_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        alive_[pid] = name;
    }

    void signal_all(int sig) {
        for (const auto& [pid, name] : alive_) kill(pid, sig);
    }

    // Reaps exited workers; records what a dead worker's run became: failed after a crash inside
    // a plugin, queued again (within max_attempts) after a kill from outside, interrupted when the
    // sweep itself is stopping. Returns what a person should be told.
    std::vector<std::string> reap(Store& store, const std::string& host, bool stopping) {
        std::vector<std::string> notices;
        int status = 0;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
            auto it = alive_.find(pid);
            if (it == alive_.end()) continue;
            std::string log = (options_.log_dir / ("sweep-" + std::to_string(options_.sweep_id) + "-" + it->second + ".log")).string();
            if (WIFSIGNALED(status)) {
                int sig = WTERMSIG(status);
                if (is_crash_signal(sig))
                    store.end_runs_of_worker(pid, host, "failed", "worker crashed with signal " + describe_signal(sig) + "; see " + log);
                else if (stopping)
                    store.end_runs_of_worker(pid, host, "interrupted", "worker killed by signal " + describe_signal(sig));
                else if (store.requeue_runs_of_killed_worker(pid, host, "worker killed by signal " + describe_signal(sig),
                                                             options_.max_attempts))
                    notices.push_back("worker " + it->second + " (pid " + std::to_string(pid) + ") killed by signal " +
                                      describe_signal(sig) + ": its run is queued again");
            } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 130) {
                store.end_runs_of_worker(pid, host, "failed",
                                         "worker exited with code " + std::to_string(WEXITSTATUS(status)) + "; see " + log);
            }
            alive_.erase(it);
        }
        return notices;
    }

    size_t alive() const { return alive_.size(); }
    std::set<int64_t> pids() const {
        std::set<int64_t> out;
        for (const auto& [pid, name] : alive_) out.insert(pid);
        return out;
    }
    int started() const { return started_; }

private:
    const CoordinatorOptions& options_;
    std::map<pid_t, std::string> alive_;
    int started_ = 0;
};

}  // namespace

SweepOutcome coordinate_sweep(Store& store, const std::vector<PlannedRun>& runs, const CoordinatorOptions& options) {
    std::vector<std::string> keys;
    for (const auto& r : runs) keys.push_back(r.key);
    std::filesystem::create_directories(options.log_dir);

    struct sigaction action {}, previous_int {}, previous_term {};
    action.sa_handler = count_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previous_int);
    sigaction(SIGTERM, &action, &previous_term);
    g_interrupts = 0;

    const std::string host = this_host_name();
    export_worker_thread_environment(options.threads_per_worker, options.jobs);
    WorkerPool pool(options);
    ProgressView view(runs);
    StatusCounts counts = count_statuses(store.runs_of_keys(keys));
    // A crash or kill ends one attempt, so more workers than that means workers die before
    // claiming anything (a broken store or install): stop replacing them.
    const int max_workers = int(runs.size()) * options.max_attempts + options.jobs;

    int interrupts_handled = 0;
    std::vector<RunRow> rows;
    for (int poll = 0;; ++poll) {
        if (interrupts_handled == 0)
            while (pool.alive() < size_t(std::min(options.jobs, counts.queued)) && pool.started() < max_workers)
                pool.start_one();
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        if (g_interrupts > interrupts_handled) {
            interrupts_handled = g_interrupts;
            if (interrupts_handled == 1) {
                view.message("stopping: workers finish their current step and mark their runs interrupted "
                             "(Ctrl-C again to kill them)");
                pool.signal_all(SIGINT);
            } else {
                pool.signal_all(SIGKILL);
            }
        }
        for (const auto& notice : pool.reap(store, host, interrupts_handled > 0)) view.message(notice);
        // Runs another sweep's worker held when it vanished (its coordinator killed too).
        if (interrupts_handled == 0 && poll % 8 == 7)
            store.requeue_orphaned_runs(host, worker_process_alive, options.stale_after_seconds, options.max_attempts);
        rows = store.runs_of_keys(keys);  // one query per poll: the counts come from the rows
        counts = count_statuses(rows);
        view.update(rows, counts, pool.pids());
        if (pool.alive() > 0) continue;
        if (interrupts_handled > 0) break;
        const bool stuck = counts.queued > 0 && pool.started() >= max_workers;
        if (stuck || (counts.queued == 0 && counts.running == 0)) break;
        // Otherwise: runs another process is running, or queued ones a new worker takes.
    }
    view.finish();
    if (interrupts_handled == 0 && counts.queued > 0)
        view.message(std::to_string(counts.queued) + " runs are still queued: workers exited without running them; "
                     "see the worker logs in " + options.log_dir.string());

    sigaction(SIGINT, &previous_int, nullptr);
    sigaction(SIGTERM, &previous_term, nullptr);

    SweepOutcome outcome;
    outcome.counts = counts;
    outcome.interrupted = interrupts_handled > 0;
    for (auto& r : rows)
        if (r.status == "failed" || r.status == "interrupted") outcome.unfinished.push_back(std::move(r));
    return outcome;
}

}  // namespace mvrl::host
