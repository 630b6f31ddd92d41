// PredictionWriter: one snapshot's predictions as JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "json_writer.h"
#include "rtml/learn/pipeline.h"

namespace rtml::serve {

// Writes predictions of one pipeline as {"event_id", "prediction", "proba"} (a regressor's
// as {"event_id", "prediction", "interval"?}). For a classifier, what is the same in every
// answer (the class names and the keys around them) is put together once, so that a
// batch's answer writes a few pieces an event, not a dozen. The pipeline must outlive the
// writer and not change meanwhile (a published snapshot's). Not thread-safe.
class PredictionWriter {
 public:
  explicit PredictionWriter(const Pipeline& p);
  // Puts the pieces together (a few allocations: worth it for a batch, not for one
  // prediction). Until then, write() writes piece by piece.
  void prepare();
  // Writes pred, answered under event_id. id_is_plain: the id needs no escaping, as
  // runtime::is_plain_json_text() would say (an id the server made), so it is not checked.
  void write(JsonWriter& out, std::string_view event_id, const Prediction& pred,
             bool id_is_plain = false) const;

 private:
  // {"event_id": ..., checked for escapes unless id_is_plain.
  static void write_id(JsonWriter& out, std::string_view event_id, bool id_is_plain);
  // The rest piece by piece, for any prediction.
  void write_general(JsonWriter& out, const Prediction& pred) const;

  const Pipeline& pipeline_;
  const bool classifier_;
  // A classifier's, when every class has a name: head_[c] is what follows the id for
  // class c predicted (head_.back() for none) up to the first probability, between_[c]
  // what comes before class c's probability (c >= 1); the probabilities are of
  // classes_ classes.
  std::vector<std::string> head_;
  std::vector<std::string> between_;
  size_t classes_ = 0;
};

}  // namespace rtml::serve
