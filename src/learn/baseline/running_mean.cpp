#include "rtml/learn/baseline/running_mean.h"

namespace rtml {

std::unique_ptr<Model> RunningMean::make(ParamSet&) { return std::make_unique<RunningMean>(); }

void RunningMean::predict(const Features&, Prediction& out, Workspace&) const {
  out.value = mean_;
  out.has_label = false;
}

void RunningMean::learn(const Features&, const Target& y, double weight) {
  seen_ += weight;
  mean_ += weight / seen_ * (y.value - mean_);
}

void RunningMean::save(BinaryWriter& out) const {
  out.put(mean_);
  out.put(seen_);
}

void RunningMean::load(BinaryReader& in) {
  mean_ = in.get<double>();
  seen_ = in.get<double>();
}

}  // namespace rtml
