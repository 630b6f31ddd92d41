// Workspace: the scratch memory a const predict() borrows from its caller.
#pragma once

#include <any>
#include <memory>
#include <vector>

namespace rtml {

// Scratch that Model::predict(x, out, workspace) uses instead of the model's own
// members, so that one model can predict on many threads at once, each thread with a
// workspace of its own, and so that predicting allocates nothing once the buffers have
// grown. A model keeps what it needs in a struct of its own type (scratch<T>()); an
// ensemble lends each member a nested workspace (member(i)).
//
// A workspace may serve different models in turn (the scratch is rebuilt when the type
// asked for changes), but only one thread at a time: not thread-safe.
class Workspace {
 public:
  Workspace() = default;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // The scratch of type T, default-constructed the first time it is asked for (or the
  // first time after another type was).
  template <typename T>
  T& scratch() {
    if (T* t = std::any_cast<T>(&scratch_)) return *t;
    return scratch_.emplace<T>();
  }
  // The workspace that member i of an ensemble predicts with.
  Workspace& member(size_t i) {
    while (members_.size() <= i) members_.push_back(std::make_unique<Workspace>());
    return *members_[i];
  }

 private:
  std::any scratch_;
  std::vector<std::unique_ptr<Workspace>> members_;
};

}  // namespace rtml
