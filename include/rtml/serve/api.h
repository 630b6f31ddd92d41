// Api: rtml serve's HTTP API as a function from a request to a response, apart from
// any socket (the HTTP server, the tests and the fuzzer drive it alike).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "rtml/learn/prediction_log.h"
#include "rtml/serve/model_host.h"
#include "rtml/serve/serve_metrics.h"
#include "rtml/store/embedded_store.h"
#include "rtml/store/folder_lock.h"

namespace rtml::runtime {
class StoreAggregates;
}
namespace simdjson::dom {
class element;
}

namespace rtml::serve {

// One HTTP request as the API reads it: views, valid until the response is given.
struct ApiRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and query, as sent
  std::string_view body;
  std::string_view authorization;  // the Authorization header's value, "" if none
  // Whether body is followed by at least kBodyPadding readable bytes (zeros): the JSON
  // parser (simdjson, which reads ahead) then reads the body where it is, not a copy.
  bool body_padded = false;
  static constexpr size_t kBodyPadding = 64;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// Answers HTTP requests (what HttpServer serves): the Api, or a bare echo for a benchmark.
class RequestHandler {
 public:
  using Respond = std::function<void(ApiResponse)>;
  virtual ~RequestHandler() = default;
  // Calls respond exactly once, now or later from another thread. Thread-safe.
  virtual void handle(const ApiRequest& request, Respond respond) = 0;
};

// The API (docs/serving.md lists its routes): many named models, each a ModelHost.
// handle() answers at once, except a request that learns, which is answered once the
// model's learning thread has applied it. Thread-safe: any number of threads handle
// requests at once.
class Api final : public RequestHandler {
 public:
  struct Options {
    PredictionLog::Limits log;
    uint32_t publish_ms = 5;
    // "": models live in memory only. Otherwise each model lives in DIR/models/NAME (see
    // ModelHost) and the models a folder holds are served again when it is opened.
    std::string dir;
    store::FsyncSetting fsync;
    uint32_t checkpoint_every_ms = 60000;
    size_t max_batch = 10000;      // events per batch request
    size_t max_models = 1000;      // each has a learning thread
    size_t max_versions = 100;     // per model
    size_t max_queued = 1u << 18;  // per model: events waiting for its learner (then 503)
    std::string token;             // non-empty: requests must carry "Bearer <token>"
    // The feature store's streaming aggregates (declarations as features::parse_aggregates
    // reads them), kept up to date by POST /v1/events and read by predictions that name
    // an entity. A store folder keeps them with the store: serve it with the same ones.
    std::vector<std::string> aggregates;
  };
  // With options.dir, locks the folder and serves the models it holds. Throws Error
  // naming the file if the folder is held by another process, or a model in it is damaged.
  explicit Api(Options options);
  ~Api();

  // Answers request by calling respond exactly once: before handle() returns, or later on
  // a model's learning thread. A bad request gets a 4xx with the reason and changes
  // nothing.
  void handle(const ApiRequest& request, Respond respond) override;

  // Creates model name from a pipeline expression. Refused for a bad name, a bad
  // expression (the reason names it) or a name in use by another expression.
  Status create_model(const std::string& name, const std::string& expression);
  // Creates model name from a model file saved by Pipeline::save (rtml eval --save), which
  // goes on learning from the state it holds. A model of that name in the folder (served
  // before) keeps its own, newer state if its expression is the file's. Refused as
  // create_model is, and for a file that cannot be read (the reason names it).
  Status create_model_from_file(const std::string& name, const std::string& path);

  // Stops every model (each applies what it has queued first) and removes it.
  void shutdown();

  const ServeMetrics& metrics() const { return metrics_; }
  // Events queued for model name's learning thread or being applied (0 if no such
  // model). Thread-safe; allocates nothing.
  size_t queued(std::string_view name) const;
  // The feature store that /v1/features writes and predictions read by entity.
  store::EmbeddedStore& feature_store() { return *store_; }

 private:
  std::shared_ptr<ModelHost> find(std::string_view name) const;
  void predict(ModelHost& host, std::string_view body, bool body_padded, Respond& respond);
  void learn(const std::shared_ptr<ModelHost>& host, std::string_view body, Respond& respond);
  ApiResponse model_info(const ModelHost& host) const;
  // GET /v1/overview: every model's counters and metrics, the store's, for the live page.
  ApiResponse overview() const;
  ApiResponse put_features(std::string_view entity, std::string_view body);
  ApiResponse get_features(std::string_view entity, std::string_view query);
  // Adds the features the store holds for each key of `entity` (an object of key names
  // to keys), and the aggregates kept per each key name as of time (without: now), to
  // fields; their values are kept in values (one per feature read).
  Status read_entity(simdjson::dom::element entity, std::optional<double> time,
                     std::vector<EventField>& fields, std::vector<store::FeatureValue>& values);
  ApiResponse list_models() const;
  // POST /v1/events: events applied to the store's aggregates.
  ApiResponse post_events(std::string_view body);
  ApiResponse metrics_page() const;

  // The host of a new model (its folder made, with dir); throws Error.
  std::shared_ptr<ModelHost> make_host(const std::string& name, const std::string& expression,
                                       Pipeline pipeline);
  // create_model's work, from a pipeline already built; `initial` writes the starting
  // state beside the model (a model from a file: a restart before its first checkpoint
  // starts from it again).
  Status add_model(const std::string& name, const std::string& expression, Pipeline pipeline,
                   bool initial);
  std::string model_dir(std::string_view name) const;
  // The models options_.dir holds, served again (at construction).
  void serve_folder_models();

  Options options_;
  std::unique_ptr<store::FolderLock> lock_;  // of options_.dir
  std::unique_ptr<store::EmbeddedStore> store_;
  std::atomic<uint64_t> store_lookups_{0}, store_hits_{0};
  std::atomic<uint64_t> events_applied_{0}, events_refused_{0};
  std::shared_ptr<runtime::StoreAggregates> aggregates_;  // null without aggregates
  // The aggregates kept per entity key name ("user"): an entity {"user": "u7"} in a
  // prediction reads them. Built once; read-only after (a plan of computed features
  // only is not changed by get_as_of).
  std::map<std::string, store::EmbeddedStore::AsOfPlan, std::less<>> aggregates_by_key_;
  std::mutex create_mu_;  // one PUT or DELETE at a time
  mutable std::shared_mutex models_mu_;
  std::map<std::string, std::shared_ptr<ModelHost>, std::less<>> models_;
  ServeMetrics metrics_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace rtml::serve
