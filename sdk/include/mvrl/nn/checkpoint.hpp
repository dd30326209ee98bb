// mvrl/nn/checkpoint.hpp — a model's checkpoint as one archive: its modules (weights and buffers),
// its optimisers (moments, step counts and each group's options, so a learning-rate schedule set in
// end_epoch resumes where it was) and any generator it owns. A model lists these once and its
// save/load become one line each:
//
//   checkpoint_.add("net", net_).add("adam", *optimizer_).add("noise", generator_);
//   void save(const std::string& path) { checkpoint_.save(path); }
//   void load(const std::string& path) { checkpoint_.load(path, device_); }
//
// The default generators need not be listed: the host keeps their state with the checkpoint
// (mvrl/abi.h).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mvrl::nn {

class Checkpoint {
public:
    Checkpoint& add(const std::string& name, std::shared_ptr<torch::nn::Module> module) {
        parts_.push_back({"module." + name, [module](torch::serialize::OutputArchive& a) { module->save(a); },
                          [module](torch::serialize::InputArchive& a) { module->load(a); }});
        return *this;
    }

    template <class ModuleHolder, class = decltype(std::declval<ModuleHolder&>().ptr())>
    Checkpoint& add(const std::string& name, ModuleHolder& holder) {
        return add(name, std::static_pointer_cast<torch::nn::Module>(holder.ptr()));
    }

    // The optimiser must outlive the checkpoint (both are members of the model). libtorch's
    // Optimizer::load restores the moments but not the groups' options (1.13 and 2.x), so a
    // schedule's learning rate would restart: each group's options are kept beside.
    Checkpoint& add(const std::string& name, torch::optim::Optimizer& optimizer) {
        parts_.push_back({"optimizer." + name,
                          [&optimizer](torch::serialize::OutputArchive& a) {
                              optimizer.save(a);
                              for (size_t i = 0; i < optimizer.param_groups().size(); ++i) {
                                  torch::serialize::OutputArchive options;
                                  optimizer.param_groups()[i].options().serialize(options);
                                  a.write("group_options." + std::to_string(i), options);
                              }
                          },
                          [&optimizer](torch::serialize::InputArchive& a) {
                              optimizer.load(a);
                              for (size_t i = 0; i < optimizer.param_groups().size(); ++i) {
                                  torch::serialize::InputArchive options;
                                  a.read("group_options." + std::to_string(i), options);
                                  optimizer.param_groups()[i].options().serialize(options);
                              }
                          }});
        return *this;
    }

    Checkpoint& add(const std::string& name, torch::Generator generator) {
        parts_.push_back({"generator." + name,
                          [generator](torch::serialize::OutputArchive& a) mutable { a.write("state", generator.get_state(), true); },
                          [generator](torch::serialize::InputArchive& a) mutable {
                              torch::Tensor state;
                              a.read("state", state, true);
                              generator.set_state(state.cpu());
                          }});
        return *this;
    }

    void save(const std::string& path) const {
        torch::serialize::OutputArchive archive;
        for (const auto& part : parts_) {
            torch::serialize::OutputArchive sub;
            part.write(sub);
            archive.write(part.name, sub);
        }
        archive.save_to(path);
    }

    // Reads every listed part; a part missing from the file is an error naming it (a checkpoint
    // written by another version of the model).
    void load(const std::string& path, const torch::Device& device) const {
        torch::serialize::InputArchive archive;
        archive.load_from(path, device);
        for (const auto& part : parts_) {
            torch::serialize::InputArchive sub;
            if (!archive.try_read(part.name, sub))
                throw std::runtime_error("checkpoint " + path + " has no '" + part.name + "' (written by another version of the model?)");
            part.read(sub);
        }
    }

private:
    struct Part {
        std::string name;
        std::function<void(torch::serialize::OutputArchive&)> write;
        std::function<void(torch::serialize::InputArchive&)> read;
    };
    std::vector<Part> parts_;
};

}  // namespace mvrl::nn
