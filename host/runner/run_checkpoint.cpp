#include "run_checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <mutex>

namespace mvrl::host {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStateFile = "state.json";

// fsync of a file or folder by path; a checkpoint that is renamed into place must be on disk first.
void sync_path(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

// Moves a fully written file into place so that no reader (nor a later attempt) sees it half written.
void commit_file(const fs::path& partial, const fs::path& final_path) {
    sync_path(partial);
    fs::rename(partial, final_path);
    sync_path(final_path.parent_path());
}

at::Generator default_generator(const torch::Device& device) {
    return device.is_cuda() ? at::globalContext().defaultGenerator(device) : at::detail::getDefaultCPUGenerator();
}

torch::Tensor state_of(const at::Generator& generator) {
    std::lock_guard<std::mutex> lock(const_cast<at::Generator&>(generator).mutex());
    return generator.get_state();
}

void set_state_of(at::Generator generator, const torch::Tensor& state) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
}

json read_state(const fs::path& file) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    return json::parse(in);
}

}  // namespace

RunCheckpoint::RunCheckpoint(const fs::path& files_dir, const std::string& run_key)
    : folder_(files_dir / "checkpoints" / run_key) {}

std::optional<TrainingPosition> RunCheckpoint::find(std::string& why_not) const {
    why_not.clear();
    const fs::path state_file = folder_ / kStateFile;
    std::error_code ec;
    if (!fs::exists(state_file, ec)) return std::nullopt;
    try {
        const json state = read_state(state_file);
        for (const char* file : {"model", "host"})
            if (!fs::exists(folder_ / state.at(file).get<std::string>()))
                throw std::runtime_error(std::string("its ") + file + " file " + state.at(file).get<std::string>() + " is missing");
        TrainingPosition at;
        at.stage = state.at("stage").get<size_t>();
        at.epoch = state.at("epoch").get<int>();
        at.stage_name = state.at("stage_name").get<std::string>();
        at.train_seconds = state.at("train_seconds").get<double>();
        at.samples = state.at("samples").get<int64_t>();
        if (!state.at("final_loss").is_null()) at.final_loss = state.at("final_loss").get<double>();
        at.next_row = state.value("next_row", int64_t(0));
        at.epoch_rows = state.value("epoch_rows", int64_t(0));
        for (const auto& sum : state.value("epoch_sums", json::array())) at.epoch_sums.emplace_back(sum.at(0), sum.at(1));
        return at;
    } catch (const std::exception& e) {
        why_not = "the checkpoint in " + folder_.string() + " cannot be used (" + e.what() + "): starting from scratch";
        return std::nullopt;
    }
}

void RunCheckpoint::restore(ModelHandle& model, torch::Generator& shuffle, const torch::Device& device) const {
    const json state = read_state(folder_ / kStateFile);
    model.load((folder_ / state.at("model").get<std::string>()).string());
    torch::serialize::InputArchive host;
    host.load_from((folder_ / state.at("host").get<std::string>()).string());
    torch::Tensor cpu, shuffled, cuda;
    host.read("cpu_generator", cpu, true);
    host.read("shuffle_generator", shuffled, true);
    set_state_of(at::detail::getDefaultCPUGenerator(), cpu);
    set_state_of(shuffle, shuffled);
    if (device.is_cuda() && host.try_read("cuda_generator", cuda, true)) set_state_of(default_generator(device), cuda);
}

void RunCheckpoint::write(ModelHandle& model, const TrainingPosition& at, const torch::Generator& shuffle,
                          const torch::Device& device) const {
    fs::create_directories(folder_);
    const std::string tag = "s" + std::to_string(at.stage) + "-e" + std::to_string(at.epoch) +
                            (at.next_row > 0 ? "-r" + std::to_string(at.next_row) : "");
    const std::string partial_suffix = ".partial." + std::to_string(getpid());
    const std::string model_file = "model-" + tag + ".pt", host_file = "host-" + tag + ".pt";

    model.save((folder_ / (model_file + partial_suffix)).string());
    commit_file(folder_ / (model_file + partial_suffix), folder_ / model_file);

    torch::serialize::OutputArchive host;
    host.write("cpu_generator", state_of(at::detail::getDefaultCPUGenerator()), true);
    host.write("shuffle_generator", state_of(shuffle), true);
    if (device.is_cuda()) host.write("cuda_generator", state_of(default_generator(device)), true);
    host.save_to((folder_ / (host_file + partial_suffix)).string());
    commit_file(folder_ / (host_file + partial_suffix), folder_ / host_file);

    const json state = {{"stage", at.stage},     {"epoch", at.epoch},     {"stage_name", at.stage_name},
                        {"model", model_file},   {"host", host_file},     {"train_seconds", at.train_seconds},
                        {"samples", at.samples}, {"final_loss", at.final_loss ? json(*at.final_loss) : json()},
                        {"next_row", at.next_row}, {"epoch_rows", at.epoch_rows}, {"epoch_sums", at.epoch_sums}};
    const fs::path state_partial = folder_ / (std::string(kStateFile) + partial_suffix);
    {
        std::ofstream out(state_partial, std::ios::trunc);
        out << state.dump(2) << "\n";
        if (!out.flush()) throw std::runtime_error("cannot write " + state_partial.string());
    }
    commit_file(state_partial, folder_ / kStateFile);

    // The previous checkpoint's files (and any partial file of a killed attempt) are now unused.
    for (const auto& entry : fs::directory_iterator(folder_)) {
        const std::string name = entry.path().filename().string();
        if (name != kStateFile && name != model_file && name != host_file) fs::remove(entry.path());
    }
}

void RunCheckpoint::remove() const {
    std::error_code ec;
    fs::remove_all(folder_, ec);
    fs::remove(folder_.parent_path(), ec);  // only when empty: other runs' checkpoints stay
}

}  // namespace mvrl::host
