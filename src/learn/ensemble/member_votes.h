// What the ensembles share: adding their members' class probabilities into one vote (which
// set_votes_prediction, learn/model.h, then normalises), and remembering what each member
// answered for the event predicted last, so that learn() on the same event (progressive
// validation's predict-then-learn) need not ask again.
#pragma once

#include <cstdint>
#include <vector>

#include "rtml/core/features.h"
#include "rtml/learn/model.h"

namespace rtml::ensemble {

// Adds weight * member.proba to out.proba (grown to the member's classes). A member
// without an opinion (no label) adds nothing.
inline void add_vote(Prediction& out, const Prediction& member, double weight) {
  if (!member.has_label) return;
  if (out.proba.size() < member.proba.size()) out.proba.resize(member.proba.size(), 0.0);
  for (size_t c = 0; c < member.proba.size(); ++c) out.proba[c] += weight * member.proba[c];
}

// Each member's answer for one event, with a copy of the event's features to recognise
// it by. Lives in a Workspace's scratch; allocates only while the event grows.
struct RememberedAnswers {
  struct Answer {
    bool has_label = false;
    uint32_t label = 0;
    double value = 0;
  };
  std::vector<Answer> answers;  // by member
  std::vector<Feature> numbers;
  std::vector<Category> categories;
  std::vector<uint64_t> hashed;
  bool valid = false;

  void remember(const Features& event) {
    numbers.assign(event.numbers().begin(), event.numbers().end());
    categories.assign(event.categories().begin(), event.categories().end());
    hashed.assign(event.hashed_categories().begin(), event.hashed_categories().end());
    valid = true;
  }
  void set(size_t member, const Prediction& p) {
    if (answers.size() <= member) answers.resize(member + 1);
    answers[member] = {p.has_label, p.label, p.value};
  }
  // True if the answers are for this event and cover n members.
  bool remembered(const Features& event, size_t n) const {
    if (!valid || answers.size() < n || numbers.size() != event.numbers().size() ||
        categories.size() != event.categories().size() ||
        hashed.size() != event.hashed_categories().size()) {
      return false;
    }
    for (size_t i = 0; i < numbers.size(); ++i) {
      const Feature& a = numbers[i];
      const Feature& b = event.numbers()[i];
      if (a.index != b.index || a.value != b.value) return false;
    }
    for (size_t i = 0; i < categories.size(); ++i) {
      if (categories[i].column != event.categories()[i].column ||
          categories[i].id != event.categories()[i].id) {
        return false;
      }
    }
    for (size_t i = 0; i < hashed.size(); ++i) {
      if (hashed[i] != event.hashed_categories()[i]) return false;
    }
    return true;
  }
};

}  // namespace rtml::ensemble
