#include "rtml/serve/api.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "json_writer.h"
#include "live_page.h"
#include "plain_batch_reader.h"
#include "prediction_writer.h"
#include "rtml/core/error.h"
#include "rtml/core/excerpt.h"
#include "rtml/core/file_io.h"
#include "rtml/features/aggregate_spec.h"
#include "rtml/runtime/json_text.h"
#include "rtml/runtime/store_aggregates.h"

namespace rtml::serve {

bool plain_batch_reader_runs_here() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
                          __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("pclmul") &&
                          __builtin_cpu_supports("popcnt");
  return has;
#else
  return true;  // the reader is built for the baseline there
#endif
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using runtime::append_json_text;

ApiResponse error_response(int status, std::string_view why) {
  ApiResponse r;
  r.status = status;
  r.body = "{\"error\":";
  append_json_text(r.body, why);
  r.body += "}";
  return r;
}

ApiResponse json_response(int status, std::string body) {
  ApiResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

bool valid_model_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return name != "." && name != "..";
}

// A JSON number as the text of a class name ("1", "0.5"), the way a CSV file spells it.
std::string number_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

// The parser a thread reads request bodies with, and a padded copy of the body (simdjson
// reads up to SIMDJSON_PADDING bytes past the end).
struct ThreadParser {
  simdjson::dom::parser parser;
  std::string padded;  // a copy of a body that came without padding
  PlainBatchReader plain_batches;
  // The body being read, followed by at least SIMDJSON_PADDING bytes: input_[0, size_).
  const char* input_ = nullptr;
  size_t size_ = 0, capacity_ = 0;
  // Takes body to be read: where it is if it is padded (ApiRequest::body_padded), else a
  // copy into padded.
  void pad(std::string_view body, bool body_padded = false) {
    static_assert(ApiRequest::kBodyPadding >= simdjson::SIMDJSON_PADDING);
    size_ = body.size();
    if (body_padded) {
      input_ = body.data();
      capacity_ = body.size() + ApiRequest::kBodyPadding;
      return;
    }
    if (padded.size() < body.size() + simdjson::SIMDJSON_PADDING) {
      padded.resize(body.size() + simdjson::SIMDJSON_PADDING);
    }
    std::memcpy(padded.data(), body.data(), body.size());
    input_ = padded.data();
    capacity_ = padded.size();
  }
  // The body taken by pad() with its padding.
  std::string_view input() const { return std::string_view(input_, capacity_); }
  // Parses the body taken by pad().
  simdjson::error_code parse_padded(simdjson::dom::element& doc) {
    return parser.parse(input_, size_, false).get(doc);
  }
  simdjson::error_code parse(std::string_view body, simdjson::dom::element& doc) {
    pad(body);
    return parse_padded(doc);
  }
};

ThreadParser& thread_parser() {
  thread_local ThreadParser p;
  return p;
}

Status malformed(simdjson::error_code e) {
  return Status::error(std::string("malformed JSON: ") + simdjson::error_message(e));
}

// An event's "time" (seconds since the epoch), or `now` if it gives none.
Status read_time(simdjson::dom::object obj, std::optional<double> now,
                 std::optional<double>& time) {
  simdjson::dom::element t;
  time = now;
  if (obj["time"].get(t)) return Status::ok();
  double seconds = 0;
  if (t.get_double().get(seconds) || !std::isfinite(seconds) || seconds <= 0) {
    return Status::error("'time' must be a positive number of seconds since the epoch");
  }
  time = seconds;
  return Status::ok();
}

// Reads the object `features` (or another, `what`) of an event into fields (views into
// the parsed document).
Status read_features(simdjson::dom::element value, std::vector<EventField>& fields,
                     std::string_view what = "features") {
  simdjson::dom::object obj;
  if (value.get_object().get(obj)) {
    return Status::error(fmt::format("'{}' must be an object of names to numbers or texts", what));
  }
  for (auto [key, v] : obj) {
    switch (v.type()) {
      case simdjson::dom::element_type::DOUBLE:
        fields.push_back(EventField::of_number(key, v.get_double().value_unsafe()));
        break;
      case simdjson::dom::element_type::INT64:
        fields.push_back(
            EventField::of_number(key, static_cast<double>(v.get_int64().value_unsafe())));
        break;
      case simdjson::dom::element_type::UINT64:
        fields.push_back(
            EventField::of_number(key, static_cast<double>(v.get_uint64().value_unsafe())));
        break;
      case simdjson::dom::element_type::BOOL:
        fields.push_back(EventField::of_number(key, v.get_bool().value_unsafe() ? 1.0 : 0.0));
        break;
      case simdjson::dom::element_type::STRING:
        fields.push_back(EventField::of_text(key, v.get_string().value_unsafe()));
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        break;  // missing
      default:
        return Status::error(fmt::format(
            "'{}.{}' is an array or an object: expected a number or a text", what, excerpt(key)));
    }
  }
  return Status::ok();
}

// Reads a label: a number, a text, or a boolean (the class "true" or "false").
Status read_label(simdjson::dom::element v, ModelHost::LearnRequest& r) {
  switch (v.type()) {
    case simdjson::dom::element_type::DOUBLE:
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: {
      double d = 0;
      if (v.type() == simdjson::dom::element_type::DOUBLE) {
        d = v.get_double().value_unsafe();
      } else if (v.type() == simdjson::dom::element_type::INT64) {
        d = static_cast<double>(v.get_int64().value_unsafe());
      } else {
        d = static_cast<double>(v.get_uint64().value_unsafe());
      }
      // A number is a value to a regressor and a class name to a classifier: both kept.
      r.label_kind = ValueKind::kNumber;
      r.label_number = d;
      r.label_text = number_text(d);
      return Status::ok();
    }
    case simdjson::dom::element_type::STRING: {
      r.label_kind = ValueKind::kText;
      r.label_text = std::string(v.get_string().value_unsafe());
      if (r.label_text.empty()) return Status::error("'label' is an empty text");
      return Status::ok();
    }
    case simdjson::dom::element_type::BOOL:
      r.label_kind = ValueKind::kText;
      r.label_text = v.get_bool().value_unsafe() ? "true" : "false";
      return Status::ok();
    default:
      return Status::error("'label' must be a number, a text or a boolean");
  }
}

// One event of a learn request.
Status read_learn_event(simdjson::dom::element e, ModelHost::LearnRequest& r,
                        std::vector<EventField>& scratch) {
  simdjson::dom::object obj;
  if (e.get_object().get(obj)) return Status::error("an event must be a JSON object");
  simdjson::dom::element label, features, id;
  if (obj["label"].get(label)) return Status::error("missing 'label'");
  if (Status s = read_label(label, r); !s) return s;
  const bool has_id = !obj["event_id"].get(id);
  const bool has_features = !obj["features"].get(features);
  if (has_id) {
    std::string_view text;
    if (id.get_string().get(text) || text.empty()) {
      return Status::error("'event_id' must be a non-empty text");
    }
    r.event_id = std::string(text);
    if (has_features) {
      return Status::error(
          "give 'event_id' (learn from the features logged at predict time) "
          "or 'features', not both");
    }
    return Status::ok();
  }
  if (!has_features) return Status::error("missing 'event_id' or 'features'");
  scratch.clear();
  if (Status s = read_features(features, scratch); !s) return s;
  for (const EventField& f : scratch) r.fields.add(f);
  return Status::ok();
}

// The HTTP status of a refused label: an unknown event 404, a known one no longer
// waiting 409, any other reason 400.
int refusal_status(const Status& s) {
  if (s.why() == label_refusal_text(LabelRefusal::kUnknown)) return 404;
  if (s.why() == label_refusal_text(LabelRefusal::kExpired) ||
      s.why() == label_refusal_text(LabelRefusal::kAlreadyLabelled)) {
    return 409;
  }
  return 400;
}

// 503 for a model whose learning thread has more events queued than it may hold: the
// client retries later (a learner slower than its clients must not grow without bound).
ApiResponse behind_response(const ModelHost& host) {
  return error_response(503, fmt::format("model '{}' is behind: its learning thread has {} "
                                         "events queued; retry shortly",
                                         host.name(), host.queued()));
}

// The value of name in a query ("a=1&version=3"), undecoded.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.size() > name.size() && pair.starts_with(name) && pair[name.size()] == '=') {
      return pair.substr(name.size() + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// GET /v1/models/{name}/forecast?horizon=H: a forecaster's next H values (default 1, at
// most 10,000), from the published snapshot, as {"model", "learned", "forecast": [...]}.
ApiResponse forecast(const ModelHost& host, std::string_view query) {
  size_t horizon = 1;
  if (const std::optional<std::string_view> given = query_value(query, "horizon")) {
    auto [end, ec] = std::from_chars(given->data(), given->data() + given->size(), horizon);
    if (given->empty() || ec != std::errc() || end != given->data() + given->size() ||
        horizon < 1 || horizon > 10000) {
      return error_response(400, "expected ?horizon=H with H from 1 to 10000");
    }
  }
  std::shared_ptr<const ModelSnapshot> snap = host.snapshot();
  thread_local Workspace workspace;
  thread_local std::vector<double> values;
  if (!snap->pipeline.model().forecast(horizon, values, workspace)) {
    return error_response(400, "model '" + host.name() + "' (" +
                                   std::string(snap->pipeline.model().kind()) +
                                   ") does not forecast: holt_winters and snarimax do");
  }
  std::string out = "{\"model\":";
  append_json_text(out, host.name());
  out += fmt::format(",\"learned\":{},\"forecast\":[", snap->learned);
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_number(out, values[i]);
  }
  out += "]}";
  return json_response(200, std::move(out));
}

// Splits "/v1/models/NAME/ACTION?query" into its parts.
struct Target {
  std::string_view path, query;
  std::vector<std::string_view> parts;  // between slashes
};

Target split_target(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  t.path = target.substr(0, q);
  if (q != std::string_view::npos) t.query = target.substr(q + 1);
  size_t at = 1;
  while (at <= t.path.size() && !t.path.empty()) {
    size_t slash = t.path.find('/', at);
    if (slash == std::string_view::npos) slash = t.path.size();
    t.parts.push_back(t.path.substr(at, slash - at));
    at = slash + 1;
  }
  return t;
}

}  // namespace

Api::Api(Options options) : options_(std::move(options)) {
  store::StoreOptions so;
  so.fsync = options_.fsync;
  std::vector<features::AggregateSpec> specs;
  if (!options_.aggregates.empty()) {
    std::string declarations;
    for (const auto& a : options_.aggregates) declarations += a + "\n";
    specs = features::parse_aggregates(declarations, "store.aggregates");
    aggregates_ = std::make_shared<runtime::StoreAggregates>(specs);
    so.computed = aggregates_;
  }
  if (!options_.dir.empty()) {
    fs::create_directories(options_.dir + "/models");
    lock_ = std::make_unique<store::FolderLock>(
        store::FolderLock::exclusive(options_.dir, "server folder"));
    so.dir = options_.dir + "/store";
  }
  store_ = store::EmbeddedStore::open(so);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& spec : specs) by_key[spec.by].push_back(spec.name);
  for (auto& [key, names] : by_key) aggregates_by_key_.emplace(key, store_->plan_as_of(names));
  if (!options_.dir.empty()) serve_folder_models();
}

void Api::serve_folder_models() {
  for (const auto& entry : fs::directory_iterator(options_.dir + "/models")) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    const std::string described = entry.path().string() + "/model.json";
    if (!fs::exists(described)) {
      // A PUT or a DELETE cut short: the model was never acknowledged, or is gone.
      fs::remove_all(entry.path());
      continue;
    }
    std::string expression;
    bool initial = false;
    try {
      auto j = nlohmann::json::parse(read_file(described));
      expression = j.at("model").get<std::string>();
      initial = j.value("initial", false);
    } catch (const std::exception& e) {
      throw Error(described + ": not a model description: " + e.what());
    }
    std::unique_ptr<Pipeline> pipeline;
    try {
      pipeline =
          initial
              ? std::make_unique<Pipeline>(Pipeline::load(entry.path().string() + "/initial.rtml"))
              : std::make_unique<Pipeline>(expression);
    } catch (const Error& e) {
      throw Error(described + ": " + e.what());
    }
    models_.emplace(name, make_host(name, expression, std::move(*pipeline)));
  }
}

std::string Api::model_dir(std::string_view name) const {
  return options_.dir + "/models/" + std::string(name);
}

std::shared_ptr<ModelHost> Api::make_host(const std::string& name, const std::string& expression,
                                          Pipeline pipeline) {
  ModelHost::Options o;
  o.log = options_.log;
  o.publish_ms = options_.publish_ms;
  o.fsync = options_.fsync;
  o.max_versions = options_.max_versions;
  o.max_queued = options_.max_queued;
  o.checkpoint_every_ms = options_.checkpoint_every_ms;
  if (!options_.dir.empty()) o.dir = model_dir(name);
  return std::make_shared<ModelHost>(name, expression, std::move(pipeline), o);
}
Api::~Api() = default;

size_t Api::queued(std::string_view name) const {
  std::shared_lock lock(models_mu_);
  auto it = models_.find(name);
  return it == models_.end() ? 0 : it->second->queued();
}

void Api::shutdown() {
  std::map<std::string, std::shared_ptr<ModelHost>, std::less<>> models;
  {
    std::unique_lock lock(models_mu_);
    models.swap(models_);
  }
  for (auto& [name, host] : models) host->stop();
}

std::shared_ptr<ModelHost> Api::find(std::string_view name) const {
  std::shared_lock lock(models_mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

Status Api::create_model(const std::string& name, const std::string& expression) {
  std::unique_ptr<Pipeline> pipeline;
  try {
    pipeline = std::make_unique<Pipeline>(expression);
  } catch (const Error& e) {
    return Status::error(e.what());
  }
  return add_model(name, expression, std::move(*pipeline), false);
}

Status Api::create_model_from_file(const std::string& name, const std::string& path) {
  std::unique_ptr<Pipeline> pipeline;
  try {
    pipeline = std::make_unique<Pipeline>(Pipeline::load(path));
  } catch (const Error& e) {
    return Status::error(e.what());
  }
  const std::string expression = pipeline->description();
  return add_model(name, expression, std::move(*pipeline), true);
}

Status Api::add_model(const std::string& name, const std::string& expression, Pipeline pipeline,
                      bool initial) {
  if (!valid_model_name(name)) {
    return Status::error("model name '" + excerpt(name) +
                         "': expected 1 to 64 letters, digits, '_', '-' or '.'");
  }
  std::lock_guard create(create_mu_);
  if (auto existing = find(name)) {
    if (existing->expression() == expression) return Status::ok();
    return Status::error("model '" + name + "' exists with another expression ('" +
                         excerpt(existing->expression()) + "'): DELETE it first");
  }
  {
    std::shared_lock lock(models_mu_);
    if (models_.size() >= options_.max_models) {
      return Status::error(
          fmt::format("this server holds {} models, its most (--max-models)", models_.size()));
    }
  }
  std::shared_ptr<ModelHost> host;
  try {
    if (!options_.dir.empty()) {
      fs::remove_all(model_dir(name));  // a PUT cut short
      if (initial) {
        fs::create_directories(model_dir(name));
        pipeline.save(model_dir(name) + "/initial.rtml");
      }
    }
    host = make_host(name, expression, std::move(pipeline));
    // Described last: a model folder without its description is not a model.
    if (!options_.dir.empty()) {
      nlohmann::json described{{"model", expression}};
      if (initial) described["initial"] = true;
      write_file_atomically(model_dir(name) + "/model.json", described.dump() + "\n");
    }
  } catch (const std::exception& e) {
    return Status::error(std::string("cannot create the model: ") + e.what());
  }
  std::unique_lock lock(models_mu_);
  models_.emplace(name, host);
  return Status::ok();
}

void Api::handle(const ApiRequest& request, Respond respond) {
  const auto start = Clock::now();
  Route route = Route::kOther;
  // Answers and records the request's latency (a learn's is recorded when applied).
  auto answer = [&](ApiResponse r) {
    metrics_.record(route, r.status, std::chrono::duration<double>(Clock::now() - start).count());
    respond(std::move(r));
  };

  const Target t = split_target(request.target);
  const std::string_view m = request.method;

  if (t.path == "/healthz" && m == "GET") {
    route = Route::kHealth;
    return answer(json_response(200, "{\"status\":\"ok\"}"));
  }
  if (t.path == "/" && m == "GET") {
    // The page holds no data (its polls of /v1/overview carry the token).
    route = Route::kPage;
    ApiResponse page;
    page.content_type = "text/html; charset=utf-8";
    page.body = std::string(live_page_html());
    return answer(std::move(page));
  }
  if (!options_.token.empty()) {
    constexpr std::string_view kBearer = "Bearer ";
    if (request.authorization.size() != kBearer.size() + options_.token.size() ||
        request.authorization.substr(0, kBearer.size()) != kBearer ||
        request.authorization.substr(kBearer.size()) != options_.token) {
      ApiResponse r = error_response(401, "missing or wrong bearer token");
      return answer(std::move(r));
    }
  }
  if (t.path == "/metrics" && m == "GET") {
    route = Route::kMetrics;
    return answer(metrics_page());
  }
  if (t.parts.size() < 2 || t.parts[0] != "v1") {
    return answer(error_response(404, "no such route: " + excerpt(t.path)));
  }
  if (t.parts[1] == "overview" && t.parts.size() == 2) {
    route = Route::kPage;
    if (m != "GET") return answer(error_response(405, "use GET on /v1/overview"));
    return answer(overview());
  }
  if (t.parts[1] == "events" && t.parts.size() == 2) {
    route = Route::kEvents;
    if (m != "POST") return answer(error_response(405, "use POST on /v1/events"));
    return answer(post_events(request.body));
  }
  if (t.parts[1] == "features" && t.parts.size() == 3) {
    route = Route::kFeatures;
    if (m == "PUT") return answer(put_features(t.parts[2], request.body));
    if (m == "GET") return answer(get_features(t.parts[2], t.query));
    return answer(error_response(405, "use GET or PUT on /v1/features/{entity}"));
  }
  if (t.parts[1] == "models") {
    if (t.parts.size() == 2) {
      route = Route::kListModels;
      if (m != "GET") return answer(error_response(405, "use GET on /v1/models"));
      return answer(list_models());
    }
    const std::string name(t.parts[2]);
    if (t.parts.size() == 3) {
      if (m == "PUT") {
        route = Route::kPutModel;
        simdjson::dom::element doc;
        if (auto e = thread_parser().parse(request.body, doc)) {
          return answer(error_response(400, malformed(e).why()));
        }
        std::string_view expr;
        if (doc["model"].get_string().get(expr)) {
          return answer(error_response(400, "expected {\"model\": \"EXPRESSION\"}"));
        }
        const bool existed = find(name) != nullptr;
        if (Status s = create_model(name, std::string(expr)); !s) {
          return answer(error_response(find(name) ? 409 : 400, s.why()));
        }
        auto host = find(name);
        ApiResponse r = model_info(*host);
        r.status = existed ? 200 : 201;
        return answer(std::move(r));
      }
      if (m == "GET") {
        route = Route::kGetModel;
        auto host = find(name);
        if (!host) return answer(error_response(404, "no model '" + excerpt(name) + "'"));
        return answer(model_info(*host));
      }
      if (m == "DELETE") {
        route = Route::kDeleteModel;
        std::lock_guard create(create_mu_);
        std::shared_ptr<ModelHost> host;
        {
          std::unique_lock lock(models_mu_);
          auto it = models_.find(name);
          if (it == models_.end()) {
            lock.unlock();
            return answer(error_response(404, "no model '" + excerpt(name) + "'"));
          }
          host = std::move(it->second);
          models_.erase(it);
        }
        if (!options_.dir.empty()) {
          // Undescribed first: a kill from here on leaves a folder that is not a model.
          std::error_code ec;
          fs::remove(model_dir(name) + "/model.json", ec);
          fsync_dir(model_dir(name));
        }
        // What is queued is applied; a request that comes later is refused.
        host->stop(false);
        if (!options_.dir.empty()) {
          std::error_code ec;
          fs::remove_all(model_dir(name), ec);
        }
        return answer(json_response(200, "{\"deleted\":" + runtime::json_text(name) + "}"));
      }
      return answer(error_response(405, "use GET, PUT or DELETE on /v1/models/{name}"));
    }
    if (t.parts.size() == 4) {
      auto host = find(name);
      const std::string_view action = t.parts[3];
      if (action == "predict" || action == "forecast") route = Route::kPredict;
      if (action == "learn") route = Route::kLearn;
      if (action == "snapshot" || action == "versions" || action == "rollback") {
        route = Route::kSnapshot;
      }
      if (!host) return answer(error_response(404, "no model '" + excerpt(name) + "'"));
      if (action == "versions") {
        if (m != "GET") return answer(error_response(405, "use GET"));
        nlohmann::json list = nlohmann::json::array();
        for (const auto& v : host->versions()) {
          list.push_back({{"version", v.version}, {"created", v.created}, {"learned", v.learned}});
        }
        return answer(json_response(200, nlohmann::json{{"versions", list}}.dump()));
      }
      if (action == "forecast") {
        if (m != "GET") return answer(error_response(405, "use GET"));
        return answer(forecast(*host, t.query));
      }
      if (m != "POST") return answer(error_response(405, "use POST"));
      if (action == "snapshot") {
        host->take_version([this, start, respond = std::move(respond)](uint64_t version) {
          metrics_.record(Route::kSnapshot, 201,
                          std::chrono::duration<double>(Clock::now() - start).count());
          respond(json_response(201, fmt::format("{{\"version\":{}}}", version)));
        });
        return;
      }
      if (action == "rollback") {
        uint64_t version = 0;
        const std::optional<std::string_view> given = query_value(t.query, "version");
        const std::string_view digits = given.value_or("");
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
        if (!given || digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
          return answer(error_response(400, "expected ?version=N"));
        }
        host->rollback(
            version, [this, start, version, respond = std::move(respond)](const Status& s) {
              const int status = s ? 200 : 404;
              metrics_.record(Route::kSnapshot, status,
                              std::chrono::duration<double>(Clock::now() - start).count());
              if (!s) return respond(error_response(404, s.why()));
              respond(json_response(200, fmt::format("{{\"version\":{}}}", version)));
            });
        return;
      }
      if (action == "predict") {
        Respond r = [&](ApiResponse resp) { answer(std::move(resp)); };
        return predict(*host, request.body, request.body_padded, r);
      }
      if (action == "learn") {
        // Answered on the learning thread: the latency is recorded there.
        Respond r = [this, start, respond = std::move(respond)](ApiResponse resp) {
          metrics_.record(Route::kLearn, resp.status,
                          std::chrono::duration<double>(Clock::now() - start).count());
          respond(std::move(resp));
        };
        return learn(host, request.body, r);
      }
    }
  }
  return answer(error_response(404, "no such route: " + excerpt(t.path)));
}

void Api::predict(ModelHost& host, std::string_view body, bool body_padded, Respond& respond) {
  thread_local Workspace workspace;
  thread_local std::vector<EventField> fields;
  thread_local Prediction prediction;
  thread_local std::string event_id;
  thread_local std::vector<store::FeatureValue> stored;
  // Kept by the thread: its ops are used again by the next batch.
  thread_local ModelHost::PendingLogs batch_logs;
  batch_logs.discard();
  // One snapshot for the whole request: its labels name the classes predicted.
  const std::shared_ptr<const ModelSnapshot> snap = host.snapshot();
  PredictionWriter answers(snap->pipeline);
  ThreadParser& parser = thread_parser();
  parser.pad(body, body_padded);
  ApiResponse r;
  // A batch of the plain form first, in one pass (PlainBatchReader); any other body, or a
  // batch it does not take, is read below (which words what is wrong with it).
  if (body.substr(0, 32).find("\"events\"") != std::string_view::npos &&
      plain_batch_reader_runs_here()) {
    bool read;
    // An answer is some 60 % of a plain batch's size: one allocation, not a doubling per
    // flush of the writer.
    r.body.reserve(body.size() * 3 / 4 + 64);
    answers.prepare();
    {
      JsonWriter out(r.body);
      out.raw("{\"predictions\":[");
      struct Context {
        ModelHost& host;
        const ModelSnapshot& snap;
        JsonWriter& out;
        const PredictionWriter& answer;
        Prediction& prediction;
        Workspace& workspace;
        ModelHost::PendingLogs& logs;
        bool first = true;
      } context{host, *snap, out, answers, prediction, workspace, batch_logs};
      auto predict_one = [](void* p, std::span<const EventField> f, std::string_view id) {
        auto& c = *static_cast<Context*>(p);
        std::string_view logged_id;
        if (!c.host.predict(c.snap, f, id, c.prediction, c.workspace, c.logs, logged_id)) {
          return false;
        }
        if (!c.first) c.out.raw(',');
        c.first = false;
        c.answer.write(c.out, logged_id, c.prediction, /*id_is_plain=*/id.empty());
        return true;
      };
      read = parser.plain_batches.read(parser.input(), body.size(), options_.max_batch, predict_one,
                                       &context);
      if (read) out.raw("]}");
    }
    if (read) {
      // Checked after the fact (the count is known once read): the predictions are
      // dropped, nothing logged.
      if (host.behind(parser.plain_batches.events())) {
        batch_logs.discard();
        return respond(behind_response(host));
      }
      host.log(batch_logs);
      return respond(std::move(r));
    }
    batch_logs.discard();
    r.body.clear();
  }
  simdjson::dom::element doc;
  if (auto e = parser.parse_padded(doc)) {
    return respond(error_response(400, malformed(e).why()));
  }
  // One event: {"features": {...}, "event_id"?}; a batch: {"events": [...]}.
  auto one = [&](simdjson::dom::element event, JsonWriter& out,
                 ModelHost::PendingLogs* defer) -> Status {
    simdjson::dom::object obj;
    if (event.get_object().get(obj)) return Status::error("an event must be a JSON object");
    fields.clear();
    simdjson::dom::element features, entity;
    const bool has_features = !obj["features"].get(features);
    const bool has_entity = !obj["entity"].get(entity);
    if (!has_features && !has_entity) return Status::error("missing 'features' (or 'entity')");
    if (has_features) {
      if (Status s = read_features(features, fields); !s) return s;
    }
    if (has_entity) {
      // Aggregates as they stand now, or as of the event's time if it gives one.
      std::optional<double> time;
      if (Status s = read_time(obj, std::nullopt, time); !s) return s;
      if (Status s = read_entity(entity, time, fields, stored); !s) return s;
    }
    event_id.clear();
    simdjson::dom::element id;
    if (!obj["event_id"].get(id)) {
      std::string_view text;
      if (id.get_string().get(text) || text.empty()) {
        return Status::error("'event_id' must be a non-empty text");
      }
      event_id.assign(text);
    }
    if (defer) {
      std::string_view logged_id;
      if (Status s =
              host.predict(*snap, fields, event_id, prediction, workspace, *defer, logged_id);
          !s) {
        return s;
      }
      answers.write(out, logged_id, prediction, /*id_is_plain=*/event_id.empty());
    } else {
      if (Status s = host.predict(*snap, fields, event_id, prediction, workspace); !s) return s;
      answers.write(out, event_id, prediction);
    }
    return Status::ok();
  };
  simdjson::dom::array events;
  const bool batch = !doc["events"].get(events);
  if (host.behind(batch ? events.size() : 1)) return respond(behind_response(host));
  if (batch) {
    if (events.size() > options_.max_batch) {
      return respond(
          error_response(413, fmt::format("a batch holds at most {} events", options_.max_batch)));
    }
    // An answer is some 80 bytes an event: grown once, not by doubling.
    r.body.reserve(32 + events.size() * 96);
    answers.prepare();
    {
      JsonWriter out(r.body);
      out.raw("{\"predictions\":[");
      size_t i = 0;
      for (auto e : events) {
        if (i) out.raw(',');
        if (Status s = one(e, out, &batch_logs); !s) {
          return respond(error_response(400, fmt::format("event {}: {}", i, s.why())));
        }
        ++i;
      }
      out.raw("]}");
    }
    host.log(batch_logs);  // only once every event of the batch was predicted
  } else {
    JsonWriter out(r.body);
    if (Status s = one(doc, out, nullptr); !s) return respond(error_response(400, s.why()));
  }
  respond(std::move(r));
}

void Api::learn(const std::shared_ptr<ModelHost>& host, std::string_view body, Respond& respond) {
  simdjson::dom::element doc;
  if (auto e = thread_parser().parse(body, doc)) {
    return respond(error_response(400, malformed(e).why()));
  }
  thread_local std::vector<EventField> scratch;
  simdjson::dom::array events;
  const bool many = !doc["events"].get(events);
  if (host->behind(many ? events.size() : 1)) return respond(behind_response(*host));
  if (!many) {
    ModelHost::LearnRequest req;
    if (Status s = read_learn_event(doc, req, scratch); !s) {
      return respond(error_response(400, s.why()));
    }
    host->learn(std::move(req), [respond = std::move(respond)](const Status& s) {
      if (s) return respond(json_response(200, "{\"learned\":1}"));
      respond(error_response(refusal_status(s), s.why()));
    });
    return;
  }
  if (events.size() > options_.max_batch) {
    return respond(
        error_response(413, fmt::format("a batch holds at most {} events", options_.max_batch)));
  }
  // Every event is read before any is queued: a malformed one refuses the whole batch.
  std::vector<ModelHost::LearnRequest> reqs(events.size());
  size_t i = 0;
  for (auto e : events) {
    if (Status s = read_learn_event(e, reqs[i], scratch); !s) {
      return respond(error_response(400, fmt::format("event {}: {}", i, s.why())));
    }
    ++i;
  }
  if (reqs.empty()) return respond(json_response(200, "{\"learned\":0,\"refused\":[]}"));
  // The batch is answered when its last event is applied (events apply in order).
  struct Batch {
    Respond respond;
    size_t learned = 0;
    std::string refused;
  };
  auto batch = std::make_shared<Batch>();
  batch->respond = std::move(respond);
  for (size_t k = 0; k < reqs.size(); ++k) {
    const bool last = k + 1 == reqs.size();
    host->learn(std::move(reqs[k]), [batch, k, last](const Status& s) {
      if (s) {
        ++batch->learned;
      } else {
        if (!batch->refused.empty()) batch->refused += ',';
        batch->refused += fmt::format("{{\"index\":{},\"error\":", k);
        append_json_text(batch->refused, s.why());
        batch->refused += '}';
      }
      if (last) {
        batch->respond(json_response(200, fmt::format("{{\"learned\":{},\"refused\":[{}]}}",
                                                      batch->learned, batch->refused)));
      }
    });
  }
}

namespace {

// The text of a path segment, %XX decoded; false for a bad escape.
bool url_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;  // a '%' needs two hex digits after it
    unsigned v = 0;
    auto [end, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
    if (ec != std::errc() || end != in.data() + i + 3) return false;
    out += static_cast<char>(v);
    i += 2;
  }
  return !out.empty() && out.size() <= store::EntityKey::kMaxKeyBytes;
}

}  // namespace

Status Api::read_entity(simdjson::dom::element entity, std::optional<double> time,
                        std::vector<EventField>& fields, std::vector<store::FeatureValue>& values) {
  simdjson::dom::object keys;
  if (entity.get_object().get(keys)) {
    return Status::error(
        "'entity' must be an object of key names to keys, e.g. {\"user_id\": \"u7\"}");
  }
  const store::FeatureRegistry& registry = store_->registry();
  thread_local std::vector<uint16_t> ids;
  thread_local std::vector<const std::string*> names;  // of values[k]
  thread_local store::EntityKey entity_key;
  ids.clear();
  names.clear();
  for (uint16_t id = 0; id < registry.size(); ++id) ids.push_back(id);
  size_t n = 0;
  thread_local store::EntityKey aggregate_key;
  for (auto [name, key] : keys) {
    std::string_view text;
    std::string number;
    int64_t i = 0;
    const bool is_number = key.get_string().get(text) != simdjson::SUCCESS;
    if (is_number) {
      if (key.get_int64().get(i)) {
        return Status::error("entity key '" + excerpt(name) + "' must be a text or an integer");
      }
      number = std::to_string(i);
      text = number;
    }
    if (text.empty() || text.size() > store::EntityKey::kMaxKeyBytes) {
      return Status::error("entity key '" + excerpt(name) + "' is empty or too long");
    }
    entity_key.assign_text(text);
    const size_t first = n;
    values.resize(n + ids.size());
    store_->get(entity_key, ids, std::span<store::FeatureValue>(values).subspan(n, ids.size()));
    for (uint16_t id : ids) names.push_back(&registry.name(id));
    n += ids.size();
    // The aggregates kept per this key name, as they stand at the event's time.
    if (auto a = aggregates_by_key_.find(name); a != aggregates_by_key_.end()) {
      store::EmbeddedStore::AsOfPlan& plan = a->second;
      values.resize(n + plan.names.size());
      // Kept under the key as the events gave it: 42 and "42" are different entities
      // there (an aggregate's key is the event field's value, as the store keys it).
      runtime::set_entity_key(aggregate_key, is_number, static_cast<double>(i), text);
      store_->get_as_of(aggregate_key, plan, time,
                        std::span<store::FeatureValue>(values).subspan(n, plan.names.size()));
      for (const std::string& computed : plan.names) names.push_back(&computed);
      n += plan.names.size();
    }
    store_lookups_.fetch_add(1, std::memory_order_relaxed);
    bool hit = false;
    for (size_t k = first; k < n; ++k) hit |= values[k].present;
    if (hit) store_hits_.fetch_add(1, std::memory_order_relaxed);
  }
  // Views into values once it has stopped growing. A feature the request gives itself
  // is not read from the store.
  const size_t given = fields.size();
  for (size_t k = 0; k < n; ++k) {
    const store::FeatureValue& v = values[k];
    if (!v.present || v.type == store::FeatureType::kVector) continue;
    const std::string& name = *names[k];
    bool shadowed = false;
    for (size_t f = 0; f < given; ++f) shadowed |= fields[f].name == name;
    if (shadowed) continue;
    fields.push_back(v.type == store::FeatureType::kNumber ? EventField::of_number(name, v.number)
                                                           : EventField::of_text(name, v.text));
  }
  return Status::ok();
}

ApiResponse Api::post_events(std::string_view body) {
  if (!aggregates_) {
    return error_response(400,
                          "this server keeps no aggregates: declare them under store.aggregates "
                          "in the --config file");
  }
  simdjson::dom::element doc;
  if (auto e = thread_parser().parse(body, doc)) return error_response(400, malformed(e).why());
  const double now = store_->now();
  // Checked whole first, so that a batch with a bad event applies none of it.
  struct Parsed {
    size_t first, count;
    std::string_view id;
    std::optional<double> time;
  };
  thread_local std::vector<EventField> fields;
  thread_local std::vector<Parsed> parsed;
  fields.clear();
  parsed.clear();
  const runtime::StoreAggregates& computed = *aggregates_;
  static constexpr std::string_view kUnread = "no declared aggregate reads any field of this event";
  auto read = [&](simdjson::dom::element e) -> Status {
    simdjson::dom::object obj;
    if (e.get_object().get(obj)) return Status::error("an event must be a JSON object");
    Parsed p{fields.size(), 0, {}, now};
    simdjson::dom::element f, id;
    if (obj["fields"].get(f)) {
      return Status::error(
          "missing 'fields', e.g. {\"fields\": {\"user\": \"u7\", \"price\": 9.5}}");
    }
    if (Status s = read_features(f, fields, "fields"); !s) return s;
    p.count = fields.size() - p.first;
    if (!obj["id"].get(id)) {
      if (id.get_string().get(p.id) || p.id.empty() ||
          p.id.size() > store::EntityKey::kMaxKeyBytes) {
        return Status::error("'id' must be a non-empty text of at most 1024 bytes");
      }
    }
    if (Status s = read_time(obj, now, p.time); !s) return s;
    const auto own = std::span(fields).subspan(p.first, p.count);
    Status s = computed.check(own);
    if (!s && s.why() == kUnread) return Status::ok();  // ignored: nothing to keep
    if (!s) return s;
    // Each aggregate it feeds is kept per an entity the event must name.
    for (const auto& spec : computed.engine().specs()) {
      bool feeds = false, keyed = false;
      for (const EventField& f : own) {
        feeds |= f.name == spec.field;
        keyed |= f.name == spec.by;
      }
      if (feeds && !keyed) {
        return Status::error(
            fmt::format("field '{}' feeds aggregate '{}', kept by '{}': the event "
                        "has no '{}'",
                        spec.field, spec.name, spec.by, spec.by));
      }
    }
    parsed.push_back(p);
    return Status::ok();
  };
  simdjson::dom::array events;
  size_t count = 1;  // events in the request
  if (!doc["events"].get(events)) {
    count = events.size();
    if (count > options_.max_batch) {
      return error_response(413,
                            fmt::format("a batch holds at most {} events", options_.max_batch));
    }
    if (count == 0) {
      return json_response(200, "{\"applied\":0,\"ignored\":0}");
    }
    size_t i = 0;
    for (auto e : events) {
      if (Status s = read(e); !s) {
        events_refused_.fetch_add(count, std::memory_order_relaxed);
        return error_response(400, fmt::format("event {}: {}", i, s.why()));
      }
      ++i;
    }
  } else if (Status s = read(doc); !s) {
    events_refused_.fetch_add(1, std::memory_order_relaxed);
    return error_response(400, s.why());
  }
  thread_local store::EntityKey key;
  size_t applied = 0;
  const size_t ignored = count - parsed.size();
  for (const Parsed& p : parsed) {
    // The event's own fields name the entities its aggregates are kept per ("by user");
    // the key only scopes the id's deduplication.
    key.assign_text(p.id.empty() ? std::string_view("event") : p.id);
    Status s = store_->apply_event(key, *p.time, std::span(fields).subspan(p.first, p.count), p.id);
    if (s) {
      ++applied;
    } else {
      // The store could not log it (a full disk): what came before stands, and a client
      // that resends the batch with ids has each event applied once.
      events_applied_.fetch_add(applied, std::memory_order_relaxed);
      events_refused_.fetch_add(parsed.size() - applied - ignored, std::memory_order_relaxed);
      return error_response(503, fmt::format("event {}: {} ({} applied before it)",
                                             &p - parsed.data(), s.why(), applied));
    }
  }
  events_applied_.fetch_add(applied, std::memory_order_relaxed);
  return json_response(200, fmt::format("{{\"applied\":{},\"ignored\":{}}}", applied, ignored));
}

ApiResponse Api::put_features(std::string_view entity, std::string_view body) {
  std::string key;
  if (!url_decode(entity, key)) return error_response(400, "a bad entity key in the path");
  simdjson::dom::element doc;
  if (auto e = thread_parser().parse(body, doc)) return error_response(400, malformed(e).why());
  simdjson::dom::object features;
  if (doc["features"].get_object().get(features)) {
    return error_response(400, "expected {\"features\": {\"name\": value, ...}}");
  }
  store::Update u;
  u.key = store::EntityKey(key);
  for (auto [name, v] : features) {
    switch (v.type()) {
      case simdjson::dom::element_type::DOUBLE:
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64: {
        double d = 0;
        if (v.type() == simdjson::dom::element_type::DOUBLE) {
          d = v.get_double().value_unsafe();
        } else if (v.type() == simdjson::dom::element_type::INT64) {
          d = static_cast<double>(v.get_int64().value_unsafe());
        } else if (v.type() == simdjson::dom::element_type::UINT64) {
          d = static_cast<double>(v.get_uint64().value_unsafe());
        }
        u.set.emplace_back(std::string(name), store::FeatureValue::of_number(d));
        break;
      }
      case simdjson::dom::element_type::STRING:
        u.set.emplace_back(std::string(name), store::FeatureValue::of_category(
                                                  std::string(v.get_string().value_unsafe())));
        break;
      case simdjson::dom::element_type::NULL_VALUE:
        u.del.emplace_back(name);
        break;
      default:
        return error_response(400, "feature '" + excerpt(name) +
                                       "': expected a number, a text or null (to delete it)");
    }
  }
  if (Status s = store_->apply(u); !s) return error_response(400, s.why());
  return json_response(
      200, fmt::format("{{\"written\":{},\"deleted\":{}}}", u.set.size(), u.del.size()));
}

ApiResponse Api::get_features(std::string_view entity, std::string_view query) {
  std::string key;
  if (!url_decode(entity, key)) return error_response(400, "a bad entity key in the path");
  const store::FeatureRegistry& registry = store_->registry();
  std::vector<uint16_t> ids;
  for (uint16_t id = 0; id < registry.size(); ++id) ids.push_back(id);
  std::vector<store::FeatureValue> values(ids.size());
  store_->get(store::EntityKey(key), ids, values);
  nlohmann::json features = nlohmann::json::object();
  for (size_t k = 0; k < ids.size(); ++k) {
    const auto& v = values[k];
    if (!v.present) continue;
    const std::string& name = registry.name(ids[k]);
    if (v.type == store::FeatureType::kNumber) {
      features[name] = v.number;
    } else if (v.type == store::FeatureType::kCategory) {
      features[name] = v.text;
    } else {
      features[name] = v.vector;
    }
  }
  // ?key=user adds the aggregates kept per user, as they stand now.
  if (auto by = query_value(query, "key")) {
    auto a = aggregates_by_key_.find(*by);
    if (a == aggregates_by_key_.end()) {
      return error_response(404, "no aggregate is kept by '" + excerpt(*by) + "'");
    }
    std::vector<store::FeatureValue> computed(a->second.names.size());
    // A path of digits names the entity an integer field keeps (events' "user": 42).
    uint64_t id = 0;
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    const bool digits = !key.empty() && ec == std::errc() && end == key.data() + key.size();
    store_->get_as_of(digits ? store::EntityKey(id) : store::EntityKey(key), a->second,
                      std::nullopt, computed);
    for (size_t k = 0; k < computed.size(); ++k) {
      const auto& v = computed[k];
      if (!v.present) continue;
      if (v.type == store::FeatureType::kNumber) {
        features[a->second.names[k]] = v.number;
      } else {
        features[a->second.names[k]] = v.text;
      }
    }
  }
  if (features.empty()) return error_response(404, "no features for entity '" + excerpt(key) + "'");
  return json_response(200, nlohmann::json{{"entity", key}, {"features", features}}.dump(
                                -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

namespace {

// A model's description, counters and metrics (GET /v1/models/NAME, /v1/overview).
nlohmann::json model_json(const ModelHost& host) {
  const ModelStats s = host.stats();
  nlohmann::json j;
  j["name"] = host.name();
  j["model"] = host.expression();
  j["description"] = host.snapshot()->pipeline.description();
  j["predicted"] = s.predicted;
  j["learned"] = s.learned;
  j["pending"] = s.pending;
  j["expired"] = s.expired;
  j["refused"] = s.refused;
  j["snapshots_published"] = s.published;
  auto& metrics = j["metrics"] = nlohmann::json::object();
  const char* name = s.regression ? "mae" : "accuracy";
  metrics["scored"] = s.scored;
  if (s.scored) {
    metrics[name] = s.metric_all;
    metrics[std::string("rolling_") + name] = s.metric_window;
    metrics["window"] = std::min<uint64_t>(s.scored, ModelStats::kWindow);
  }
  return j;
}

}  // namespace

ApiResponse Api::model_info(const ModelHost& host) const {
  return json_response(200, model_json(host).dump());
}

ApiResponse Api::overview() const {
  nlohmann::json j;
  j["time"] =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  j["uptime_seconds"] = std::chrono::duration<double>(Clock::now() - started_).count();
  auto& models = j["models"] = nlohmann::json::array();
  {
    std::shared_lock lock(models_mu_);
    for (const auto& [name, host] : models_) models.push_back(model_json(*host));
  }
  j["store"] = {{"entities", store_->entity_count()},
                {"memory_bytes", store_->memory_bytes()},
                {"lookups", store_lookups_.load()},
                {"hits", store_hits_.load()}};
  j["events"] = {{"applied", events_applied_.load()},
                 {"refused", events_refused_.load()},
                 {"duplicate", store_->duplicate_events()}};
  return json_response(200, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

ApiResponse Api::list_models() const {
  nlohmann::json list = nlohmann::json::array();
  std::shared_lock lock(models_mu_);
  for (const auto& [name, host] : models_) {
    list.push_back({{"name", name}, {"model", host->expression()}});
  }
  return json_response(200, nlohmann::json{{"models", list}}.dump());
}

ApiResponse Api::metrics_page() const {
  ApiResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  metrics_.render(r.body);
  std::vector<std::pair<std::string, ModelStats>> stats;
  {
    std::shared_lock lock(models_mu_);
    for (const auto& [name, host] : models_) stats.emplace_back(name, host->stats());
  }
  auto app = std::back_inserter(r.body);
  auto family = [&](std::string_view metric, std::string_view type, std::string_view help,
                    auto value) {
    fmt::format_to(app, "# HELP {} {}\n# TYPE {} {}\n", metric, help, metric, type);
    for (const auto& [name, s] : stats) {
      fmt::format_to(app, "{}{{model=\"{}\"}} {}\n", metric, name, value(s));
    }
  };
  fmt::format_to(app,
                 "# HELP rtml_store_entities Entities in the feature store.\n"
                 "# TYPE rtml_store_entities gauge\nrtml_store_entities {}\n"
                 "# HELP rtml_store_memory_bytes Memory the feature store holds.\n"
                 "# TYPE rtml_store_memory_bytes gauge\nrtml_store_memory_bytes {}\n"
                 "# HELP rtml_store_lookups_total Entity reads by predictions.\n"
                 "# TYPE rtml_store_lookups_total counter\nrtml_store_lookups_total {}\n"
                 "# HELP rtml_store_hits_total Entity reads that found a feature.\n"
                 "# TYPE rtml_store_hits_total counter\nrtml_store_hits_total {}\n"
                 "# HELP rtml_events_applied_total Events applied to the store's aggregates.\n"
                 "# TYPE rtml_events_applied_total counter\nrtml_events_applied_total {}\n"
                 "# HELP rtml_events_refused_total Events refused (dead letters).\n"
                 "# TYPE rtml_events_refused_total counter\nrtml_events_refused_total {}\n"
                 "# HELP rtml_events_duplicate_total Events acknowledged again and not applied "
                 "twice (an id seen before).\n"
                 "# TYPE rtml_events_duplicate_total counter\nrtml_events_duplicate_total {}\n",
                 store_->entity_count(), store_->memory_bytes(), store_lookups_.load(),
                 store_hits_.load(), events_applied_.load(), events_refused_.load(),
                 store_->duplicate_events());
  family("rtml_model_predictions_total", "counter", "Predictions answered.",
         [](const ModelStats& s) { return s.predicted; });
  family("rtml_model_learned_total", "counter", "Labels learned from.",
         [](const ModelStats& s) { return s.learned; });
  family("rtml_model_refused_total", "counter",
         "Learn requests and logged predictions refused (dead letters).",
         [](const ModelStats& s) { return s.refused; });
  family("rtml_model_pending_labels", "gauge", "Predictions waiting for their label.",
         [](const ModelStats& s) { return s.pending; });
  family("rtml_model_expired_labels_total", "counter",
         "Predictions whose label did not come in time.",
         [](const ModelStats& s) { return s.expired; });
  family("rtml_model_rolling_metric", "gauge",
         "Progressive accuracy (classifiers) or mean absolute error (regressors) over the last "
         "1000 labels.",
         [](const ModelStats& s) { return s.metric_window; });
  return r;
}

}  // namespace rtml::serve
