#include "rtml/learn/pipeline.h"

#include <charconv>

#include "rtml/core/error.h"
#include "rtml/core/hash.h"
#include "rtml/core/params.h"
#include "rtml/learn/preprocessing/feature_hasher.h"
#include "rtml/learn/preprocessing/one_hot.h"
#include "rtml/learn/recommend/recommender.h"
#include "rtml/learn/registry.h"

namespace rtml {
namespace {

constexpr std::string_view kMagic = "RTMLPIPE";
// 2: tree nodes and leaves carry nominal (categorical) splits and statistics.
// 3: labels keep a named positive class; 4: categories hashed by column key
// (category_hash), and feature_hasher says which way it hashes; 5: labels keep the type
// their classes were given as (ClassType).
constexpr uint32_t kVersion = 5;

bool parse_number_text(std::string_view text, double& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string format_number(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

}  // namespace

Pipeline::Pipeline(std::string_view expression) { build(parse_expression(expression)); }
Pipeline::Pipeline(const std::vector<StepSpec>& steps) { build(steps); }
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;
Pipeline::~Pipeline() = default;

void Pipeline::build(const std::vector<StepSpec>& steps) {
  if (steps.empty()) throw Error("model expression: no steps");
  ModelBudget budget;
  description_.clear();
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& info = find_component(steps[i].name);
    ParamSet params(info.name, steps[i].params);
    bool last = i + 1 == steps.size();
    if (info.make_model) {
      if (!last) {
        throw Error("model expression: '" + info.name +
                    "' is a model and must be the last step of the pipeline");
      }
      model_ = info.make_model(params);
    } else {
      if (last) {
        throw Error("model expression: '" + info.name +
                    "' is a transform; the pipeline must end with a model");
      }
      transformers_.push_back(info.make_transformer(params));
    }
    params.finish();
    if (i) description_ += " | ";
    description_ += params.canonical();
  }
  stages_.resize(transformers_.size());
  model_->bind(schema_);
  // The first step that reads categories decides how they come in (add_category).
  category_reading_ = CategoryReading::kIgnored;
  category_limit_ = 0;
  hasher_ = nullptr;
  for (const auto& t : transformers_) {
    if (const auto* hasher = dynamic_cast<const FeatureHasher*>(t.get())) {
      category_reading_ = CategoryReading::kHashed;
      hasher_ = hasher;
      return;
    }
    if (const auto* one_hot = dynamic_cast<const OneHotEncoder*>(t.get())) {
      category_reading_ = CategoryReading::kInterned;
      category_limit_ = one_hot->max_categories();
      return;
    }
  }
  if (model_->uses_categories() && model_->max_categories() > 0) {
    category_reading_ = CategoryReading::kInterned;
    category_limit_ = model_->max_categories();
  }
}

void Pipeline::add_category(Features& x, uint32_t column, std::string_view value) {
  switch (category_reading_) {
    case CategoryReading::kHashed: {
      if (column >= column_keys_.size()) column_keys_.resize(column + 1);
      ColumnKey& key = column_keys_[column];
      if (!key.set) {
        key.key = category_column_key(schema_.name(column), hasher_->seed());
        key.set = true;
      }
      x.add_hashed_category(category_hash(key.key, value));
      return;
    }
    case CategoryReading::kHashedLegacy:
      x.add_hashed_category(
          legacy_category_hash(legacy_buffer_, schema_.name(column), value, hasher_->seed()));
      return;
    case CategoryReading::kInterned:
      if (auto id = schema_.intern_category(column, value, category_limit_)) {
        x.add_category(column, *id);
      } else {
        ++dropped_categories_;
      }
      return;
    case CategoryReading::kIgnored:
      return;
  }
}

void Pipeline::add_known_category(Features& x, uint32_t column, std::string_view value) const {
  switch (category_reading_) {
    case CategoryReading::kHashed: {
      const uint64_t key = column < column_keys_.size() && column_keys_[column].set
                               ? column_keys_[column].key
                               : category_column_key(schema_.name(column), hasher_->seed());
      x.add_hashed_category(category_hash(key, value));
      return;
    }
    case CategoryReading::kHashedLegacy: {
      std::string buffer;
      x.add_hashed_category(
          legacy_category_hash(buffer, schema_.name(column), value, hasher_->seed()));
      return;
    }
    case CategoryReading::kInterned:
      if (auto id = schema_.find_category(column, value)) x.add_category(column, *id);
      return;
    case CategoryReading::kIgnored:
      return;
  }
}

bool Pipeline::encodes_categories() const {
  if (model_->uses_categories()) return true;
  for (const auto& t : transformers_) {
    if (t->kind() == "one_hot" || t->kind() == "feature_hasher") return true;
  }
  return false;
}

const Features& Pipeline::run_transforms(const Features& x) {
  const Features* in = &x;
  for (size_t i = 0; i < transformers_.size(); ++i) {
    transformers_[i]->transform(*in, stages_[i], schema_);
    in = &stages_[i];
  }
  return *in;
}

void Pipeline::predict(const Features& x, Prediction& out) {
  out.has_interval = false;
  model_->predict(run_transforms(x), out);
}

void Pipeline::predict(const Features& x, Prediction& out, Workspace& workspace) const {
  // Member i of the workspace holds step i's output; the model borrows the one after.
  const Features* in = &x;
  for (size_t i = 0; i < transformers_.size(); ++i) {
    Features& stage = workspace.member(i).scratch<Features>();
    transformers_[i]->transform(*in, stage, schema_);
    in = &stage;
  }
  out.has_interval = false;
  model_->predict(*in, out, workspace.member(transformers_.size()));
}

const Features& Pipeline::learn_transforms(const Features& x) {
  // Each transformer first learns from its input, then transforms it with the updated
  // statistics: the order under which River's published figures were measured.
  const Features* in = &x;
  for (size_t i = 0; i < transformers_.size(); ++i) {
    transformers_[i]->learn(*in, schema_);
    transformers_[i]->transform(*in, stages_[i], schema_);
    in = &stages_[i];
  }
  return *in;
}

void Pipeline::learn(const Features& x, const Target& y, double weight) {
  model_->learn(learn_transforms(x), y, weight);
}

void Pipeline::predict_then_learn(const Features& x, const Target& y, Prediction& out,
                                  double weight) {
  predict(x, out);
  learn(x, y, weight);
}

void Pipeline::write(BinaryWriter& out) const {
  out.put_string(description_);
  out.put<uint64_t>(input_types_.size());
  for (const auto& [name, type] : input_types_) {
    out.put_string(name);
    out.put(static_cast<uint8_t>(type));
  }
  schema_.save(out);
  labels_.save(out);
  for (const auto& t : transformers_) t->save(out);
  model_->save(out);
}

void Pipeline::save(const std::string& path) const {
  BinaryWriter out;
  write(out);
  out.write_file(path, kMagic, kVersion);
}

Pipeline Pipeline::read(BinaryReader& in, const std::string& source) {
  Pipeline p;
  try {
    p.build(parse_expression(in.get_string()));
  } catch (const Error& e) {
    throw Error(source + ": the saved pipeline cannot be rebuilt: " + e.what());
  }
  auto types = in.get<uint64_t>();
  for (uint64_t i = 0; i < types; ++i) {
    std::string name = in.get_string();
    auto t = in.get<uint8_t>();
    if (t > 1) in.fail("column type");
    p.input_types_[name] = static_cast<ColumnType>(t);
  }
  p.schema_.load(in);
  p.model_->bind(p.schema_);
  p.labels_.load(in);
  for (auto& t : p.transformers_) {
    t->load(in);
    t->restore(p.schema_);
  }
  // A hasher from an older file hashes categories its way; given hashed, they must match.
  if (p.category_reading_ == CategoryReading::kHashed && p.hasher_->legacy_category_hash()) {
    p.category_reading_ = CategoryReading::kHashedLegacy;
  }
  p.model_->load(in);
  if (!in.at_end()) in.fail("trailing bytes after the model");
  return p;
}

Pipeline Pipeline::load(const std::string& path) {
  auto in = BinaryReader::open_file(path, kMagic, kVersion);
  return read(in, path);
}

Pipeline Pipeline::clone() const {
  BinaryWriter out;
  write(out);
  BinaryReader in(out.bytes(), "a copy of the pipeline");
  Pipeline p = read(in, "a copy of the pipeline");
  p.dropped_categories_ = dropped_categories_;
  return p;
}

std::string Pipeline::to_bytes() const {
  BinaryWriter out;
  out.put<uint32_t>(kVersion);
  write(out);
  return out.bytes();
}

Pipeline Pipeline::from_bytes(std::string bytes, const std::string& source) {
  BinaryReader in(std::move(bytes), source);
  const auto version = in.get<uint32_t>();
  if (version != kVersion) {
    throw Error(source + ": a pipeline of format " + std::to_string(version) +
                ", this rtml reads " + std::to_string(kVersion));
  }
  Pipeline p = read(in, source);
  if (!in.at_end()) in.fail("bytes after the pipeline");
  return p;
}

void Pipeline::average(double own_weight,
                       const std::vector<std::pair<const Pipeline*, double>>& others) {
  for (const auto& [other, weight] : others) {
    if (other->description_ != description_) {
      throw Error("cannot average replicas of different pipelines: '" + description_ + "' and '" +
                  other->description_ + "'");
    }
  }
  // Each replica's index of each of this schema's features, by name.
  std::vector<std::vector<int64_t>> index(others.size());
  for (size_t k = 0; k < others.size(); ++k) {
    index[k].resize(schema_.size(), -1);
    for (uint32_t i = 0; i < schema_.size(); ++i) {
      if (auto j = others[k].first->schema_.find(schema_.name(i))) index[k][i] = *j;
    }
  }
  std::vector<Replica<Model>> models;
  for (size_t k = 0; k < others.size(); ++k) {
    models.push_back({others[k].first->model_.get(), others[k].second, &index[k], &schema_,
                      &others[k].first->schema_});
  }
  // The model first: it is the step that may refuse, and a refusal changes nothing.
  if (!model_->average(own_weight, models)) {
    throw Error("the model '" + std::string(model_->kind()) +
                "' cannot be averaged across replicas (linear and factor models can; trees "
                "and forests grow different structures)");
  }
  for (size_t t = 0; t < transformers_.size(); ++t) {
    std::vector<Replica<Transformer>> steps;
    for (size_t k = 0; k < others.size(); ++k) {
      steps.push_back({others[k].first->transformers_[t].get(), others[k].second, &index[k],
                       &schema_, &others[k].first->schema_});
    }
    transformers_[t]->average(own_weight, steps);
  }
}

std::vector<std::pair<std::string, double>> Pipeline::recommend(std::string_view user, size_t k) {
  auto* r = dynamic_cast<Recommender*>(model_.get());
  if (r == nullptr) {
    throw Error("recommend: the pipeline's model '" + std::string(model_->kind()) +
                "' is not a recommender (funk_mf, biased_mf, fm)");
  }
  Features x;
  uint32_t column = r->user_column();
  auto type = input_types_.find(schema_.name(column));
  double number = 0;
  if (type != input_types_.end() && type->second == ColumnType::kNumeric &&
      parse_number_text(user, number)) {
    x.add(column, number);
  } else {
    x.add_category(column, schema_.intern_category(column, user));
  }
  std::vector<ScoredItem> items;
  Workspace workspace;
  r->top_k(x, k, items, workspace);
  std::vector<std::pair<std::string, double>> out;
  uint32_t item_column = r->item_column();
  for (const auto& item : items) {
    std::string name = EntityKey::is_category(item.item)
                           ? schema_.category_name(item_column, EntityKey::category(item.item))
                           : format_number(EntityKey::number(item.item));
    out.emplace_back(std::move(name), item.score);
  }
  return out;
}

}  // namespace rtml
