// mvrl-run merge SHARD... [--db MAIN]: fold shards (a Slurm array task's own stores) into the main
// store by run key, one shard at a time (SQLite attaches at most 10 databases at once).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include <boost/program_options.hpp>

#include "commands.hpp"
#include "store/store.hpp"

namespace mvrl::cli {

namespace {

namespace po = boost::program_options;

// A folder stands for the *.sqlite files in it, in name order.
std::vector<std::filesystem::path> shard_files(const std::vector<std::string>& arguments) {
    std::vector<std::filesystem::path> files;
    for (const auto& a : arguments) {
        if (!std::filesystem::is_directory(a)) {
            files.emplace_back(a);
            continue;
        }
        std::vector<std::filesystem::path> inside;
        for (const auto& entry : std::filesystem::directory_iterator(a))
            if (entry.is_regular_file() && entry.path().extension() == ".sqlite") inside.push_back(entry.path());
        std::sort(inside.begin(), inside.end());
        files.insert(files.end(), inside.begin(), inside.end());
    }
    return files;
}

}  // namespace

MergeSummary merge_shards(host::Store& store, const std::vector<std::filesystem::path>& shards, const char* command) {
    MergeSummary summary;
    for (const auto& shard : shards) {
        std::error_code ec;
        if (std::filesystem::equivalent(shard, store.path(), ec)) {
            std::fprintf(stderr, "mvrl-run %s: skipping '%s': it is the main store itself\n", command, shard.c_str());
            continue;
        }
        try {
            const host::MergeCounts c = store.merge_shard(shard);
            std::fprintf(stderr, "merged %s: %d added, %d updated, %d unchanged, %d finished kept\n", shard.c_str(), c.added,
                         c.updated, c.unchanged, c.kept_finished);
            ++summary.merged;
        } catch (const host::StoreError& e) {
            std::fprintf(stderr, "mvrl-run %s: %s\n", command, e.what());
            summary.refused.push_back(shard);
        }
    }
    return summary;
}

int run_merge_command(const std::vector<std::string>& args, const GlobalOptions&) {
    po::options_description options("mvrl-run merge SHARD... [--db MAIN]  (SHARD: a store file, or a folder of *.sqlite)");
    options.add_options()
        ("help,h", "show this help")
        ("db", po::value<std::string>()->default_value(kDefaultDatabase), "the main store (created when absent)")
        ("shard", po::value<std::vector<std::string>>(), "a shard, or a folder of shards (repeatable, positional)");
    po::positional_options_description positional;
    positional.add("shard", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mvrl-run merge: " << e.what() << "\n" << options;
        return kExitUsage;
    }
    if (vm.count("help") || !vm.count("shard")) {
        std::cout << options;
        return vm.count("help") ? kExitOk : kExitUsage;
    }
    const std::vector<std::filesystem::path> shards = shard_files(vm["shard"].as<std::vector<std::string>>());
    if (shards.empty()) {
        std::cerr << "mvrl-run merge: no *.sqlite file in the folders given\n";
        return kExitUsage;
    }
    host::Store store = host::Store::open_for_writing(vm["db"].as<std::string>());
    const MergeSummary summary = merge_shards(store, shards, "merge");
    std::fprintf(stderr, "%d of %zu shards merged into %s", summary.merged, shards.size(), store.path().c_str());
    if (!summary.refused.empty()) std::fprintf(stderr, "; %zu refused (named above), the others merged", summary.refused.size());
    std::fprintf(stderr, "\n");
    return summary.refused.empty() ? kExitOk : kExitFailure;
}

}  // namespace mvrl::cli
