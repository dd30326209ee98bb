#include "submission.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mvrl::host::slurm {

namespace fs = std::filesystem;

namespace {

void write_json_file(const fs::path& file, const json& value) {
    const fs::path partial = file.string() + ".partial";
    {
        std::ofstream out(partial, std::ios::trunc);
        out << value.dump(1) << "\n";
        if (!out) throw std::runtime_error("cannot write " + file.string());
    }
    fs::rename(partial, file);
}

json read_json_file(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string() + " (is this a folder mvrl-run slurm wrote?)");
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        throw std::runtime_error(file.string() + ": " + e.what());
    }
}

json run_to_json(const PlannedRun& r) {
    return {{"key", r.key}, {"experiment", r.experiment}, {"variant", r.variant}, {"grid_point", r.grid_point}, {"seed", r.seed},
            {"config", r.config}};
}

PlannedRun run_from_json(const json& j) {
    PlannedRun r;
    r.key = j.at("key");
    r.experiment = j.at("experiment");
    r.variant = j.at("variant");
    r.grid_point = j.at("grid_point");
    r.seed = j.at("seed");
    r.config = j.at("config");
    return r;
}

// "#SBATCH --name=value" lines for the options that are set.
std::string sbatch_lines(const SbatchOptions& o) {
    std::ostringstream out;
    auto line = [&](const std::string& name, const std::string& value) {
        if (!value.empty()) out << "#SBATCH --" << name << "=" << value << "\n";
    };
    line("partition", o.partition);
    line("time", o.time);
    line("cpus-per-task", std::to_string(o.cpus_per_task));
    line("mem", o.mem);
    line("gpus-per-task", o.gpus_per_task);
    for (const auto& extra : o.extra) out << "#SBATCH " << extra << "\n";
    return out.str();
}

std::string command_text(const std::vector<std::string>& words) {
    std::string text;
    for (const auto& w : words) text += (text.empty() ? "" : " ") + shell_quoted(w);
    return text;
}

}  // namespace

std::string shell_quoted(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

fs::path submission_folder(const fs::path& main_db, const std::string& experiment, int64_t sweep_id) {
    return fs::absolute(main_db).parent_path() / "slurm" / (experiment + "-" + std::to_string(sweep_id));
}

fs::path shard_of_task(const fs::path& folder, int task) { return folder / "shards" / ("task-" + std::to_string(task) + ".sqlite"); }

void write_submission(const Submission& s, const std::vector<PlannedRun>& runs) {
    for (const char* sub : {"tasks", "shards", "logs"}) fs::create_directories(s.folder / sub);
    const int per_task = std::max(1, s.sbatch.runs_per_task);
    for (int t = 0; t < s.tasks; ++t) {
        json task = json::array();
        for (size_t i = size_t(t) * per_task; i < std::min(runs.size(), size_t(t + 1) * per_task); ++i) task.push_back(run_to_json(runs[i]));
        write_json_file(s.folder / "tasks" / (std::to_string(t) + ".json"), task);
    }
    const SbatchOptions& o = s.sbatch;
    write_json_file(s.folder / "submission.json",
                    {{"format", 1}, {"experiment", s.experiment}, {"sweep_id", s.sweep_id}, {"main_db", fs::absolute(s.main_db).string()},
                     {"tasks", s.tasks},
                     {"sweep", {{"experiment", s.sweep.experiment}, {"experiment_path", s.sweep.experiment_path},
                                {"experiment_toml", s.sweep.experiment_toml}, {"command_line", s.sweep.command_line},
                                {"host", s.sweep.host}, {"revision", s.sweep.revision}}},
                     {"sbatch", {{"partition", o.partition}, {"time", o.time}, {"mem", o.mem}, {"gpus_per_task", o.gpus_per_task},
                                 {"cpus_per_task", o.cpus_per_task}, {"array_parallelism", o.array_parallelism},
                                 {"runs_per_task", o.runs_per_task}, {"extra", o.extra}}}});
}

Submission read_submission(const fs::path& folder) {
    const json j = read_json_file(folder / "submission.json");
    Submission s;
    s.folder = folder;
    s.main_db = j.at("main_db").get<std::string>();
    s.experiment = j.at("experiment");
    s.sweep_id = j.at("sweep_id");
    s.tasks = j.at("tasks");
    const json& w = j.at("sweep");
    s.sweep = {w.at("experiment"), w.at("experiment_path"), w.at("experiment_toml"), w.at("command_line"), w.at("host"), w.at("revision")};
    const json& o = j.at("sbatch");
    s.sbatch = {o.at("partition"), o.at("time"), o.at("mem"), o.at("gpus_per_task"), o.at("cpus_per_task"),
                o.at("array_parallelism"), o.at("runs_per_task"), o.at("extra").get<std::vector<std::string>>()};
    return s;
}

std::vector<PlannedRun> read_task_runs(const fs::path& folder, int task) {
    std::vector<PlannedRun> runs;
    for (const auto& j : read_json_file(folder / "tasks" / (std::to_string(task) + ".json"))) runs.push_back(run_from_json(j));
    return runs;
}

std::vector<Submission> submissions_of(const fs::path& main_db, const std::string& experiment) {
    std::vector<Submission> found;
    const fs::path root = fs::absolute(main_db).parent_path() / "slurm";
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return found;
    for (const auto& entry : fs::directory_iterator(root)) {
        if (!fs::exists(entry.path() / "submission.json")) continue;
        Submission s = read_submission(entry.path());
        if (s.experiment == experiment) found.push_back(std::move(s));
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.sweep_id < b.sweep_id; });
    return found;
}

std::string task_script(const Submission& s, const std::vector<std::string>& mvrl_run) {
    const std::string folder = s.folder.string();
    std::vector<std::string> command = mvrl_run;
    command.insert(command.end(), {"slurm-task", folder});
    std::ostringstream out;
    out << "#!/bin/bash\n"
        << "# Written by mvrl-run slurm: sweep " << s.sweep_id << " of experiment '" << s.experiment << "', " << s.tasks
        << " task(s) of at most " << s.sbatch.runs_per_task << " run(s).\n"
        << "# Each task trains its runs into its own SQLite shard on node-local disk and publishes it\n"
        << "# (copy + rename) as shards/task-<i>.sqlite here. 90 s before the time limit Slurm sends USR2:\n"
        << "# the task stops its run at the next step and checkpoints it there, publishes the shard and\n"
        << "# requeues itself; started again, the run goes on from that step. Rerun by hand: sbatch " << shell_quoted(folder + "/task.sbatch") << "\n"
        << "#SBATCH --job-name=mvrl-" << s.experiment << "\n"
        << "#SBATCH --array=0-" << s.tasks - 1 << (s.sbatch.array_parallelism > 0 ? "%" + std::to_string(s.sbatch.array_parallelism) : "")
        << "\n"
        << "#SBATCH --output=" << folder << "/logs/task-%A_%a.out\n"
        << "#SBATCH --open-mode=append\n"
        << "#SBATCH --signal=B:USR2@90\n"
        << "#SBATCH --requeue\n"
        << sbatch_lines(s.sbatch)
        << "# Where the site's MaxArraySize is lower than the task count, mvrl-run submits several arrays,\n"
        << "# each with its first task: sbatch --array=0-<count - 1> --export=ALL,MVRL_TASK_OFFSET=<first> task.sbatch\n"
        << "exec " << command_text(command) << " --task \"$((${MVRL_TASK_OFFSET:-0} + SLURM_ARRAY_TASK_ID))\"\n";
    return out.str();
}

std::string merge_script(const Submission& s, const std::vector<std::string>& mvrl_run) {
    std::vector<std::string> command = mvrl_run;
    command.insert(command.end(), {"merge", (s.folder / "shards").string(), "--db", fs::absolute(s.main_db).string()});
    SbatchOptions one_core = s.sbatch;
    one_core.cpus_per_task = 1;
    one_core.gpus_per_task.clear();
    std::ostringstream out;
    out << "#!/bin/bash\n"
        << "# Written by mvrl-run slurm: folds the shards of sweep " << s.sweep_id << " into the main store, after every\n"
        << "# task has ended (--dependency=afterany). Merging is idempotent: rerun it by hand at any time.\n"
        << "#SBATCH --job-name=mvrl-" << s.experiment << "-merge\n"
        << "#SBATCH --output=" << s.folder.string() << "/logs/merge-%j.out\n"
        << sbatch_lines(one_core) << "exec " << command_text(command) << "\n";
    return out.str();
}

}  // namespace mvrl::host::slurm
