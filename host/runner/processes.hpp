// Facts about processes on this host, shared by the coordinator and the workers (no torch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mvrl::host {

std::string this_host_name();

// Whether `pid` on this host is a live mvrl process (not a zombie, not a reused pid).
bool worker_process_alive(int64_t pid);

// Exports, for the worker processes this process starts, how their libraries' threads behave
// (libgomp and OpenBLAS read these variables when they load, too early for a worker to set them):
// OpenBLAS's own pool, when the installed BLAS has one, gets `threads` threads like torch's; and
// when `workers` > 1 share the cores, OpenMP threads sleep when idle instead of spinning
// (OMP_WAIT_POLICY=PASSIVE), so one worker's idle threads do not take the cores another needs.
// A variable the user already set is left as it is.
void export_worker_thread_environment(int threads, int workers);

// "11 (SIGSEGV, Segmentation fault)"
std::string describe_signal(int sig);

// What a child process printed on stdout and how it ended (a waitpid status).
struct CapturedOutput {
    std::string out;
    int status = 0;
    bool succeeded() const;             // exited with code 0
    std::string how_it_ended() const;  // "exited with code 3", "was killed by signal 11 (SIGSEGV, ...)"
};

// Runs argv[0] with `argv` (stdin from /dev/null, stderr shared with this process) until it ends.
// Throws when it cannot be started.
CapturedOutput run_capturing_stdout(const std::vector<std::string>& argv);

// The file behind a loaded shared library, found by the start of its name ("libblas.so"): which
// BLAS the dynamic loader picked for libtorch. Empty when none is loaded.
std::string loaded_library_path(const std::string& name_prefix);

}  // namespace mvrl::host
