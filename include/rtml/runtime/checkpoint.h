// Checkpoints of rtml run: the model, the store, the pending predictions and the
// position in the sources, saved together so that a killed run resumes where they were.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtml/learn/pipeline.h"
#include "rtml/learn/prediction_log.h"
#include "rtml/store/embedded_store.h"

namespace rtml::runtime {

// Where a run stood when a checkpoint was taken: what it had read of each source, how
// far its file sinks had been written, and its counters.
struct CheckpointPosition {
  uint64_t events_read = 0;  // rows the events source had given (bad lines not counted)
  uint64_t labels_read = 0;  // rows the labels source had given and the run had used
  uint64_t predictions_bytes = 0;
  uint64_t dead_letters_bytes = 0;
  uint64_t training_segment = 0, training_bytes = 0;  // the training log's position
  // The last line each source had given or refused (refused lines past the last row
  // counted are not reported again).
  uint64_t events_line = 0, labels_line = 0;
  uint64_t events = 0, learned = 0, dead_letters = 0, labels_refused = 0;  // RunSummary's
};

// A checkpoint as its manifest describes it: the files hold what the run had done at
// `position`.
struct Checkpoint {
  uint64_t sequence = 0;    // 1 for the first a folder holds, then counting up
  std::string config_hash;  // of the config text the run was started with
  CheckpointPosition position;
  std::string model;           // path of the saved pipeline
  std::string pending;         // path of the saved PredictionLog
  std::string store_snapshot;  // path of the store snapshot, "" if the run has no store
  // Path of the stream entries this checkpoint holds the effects of, one id a line, to
  // acknowledge (again) on resume; "" if none.
  std::string stream_acks;
};

// Writes checkpoints into one folder and finds the last one. A checkpoint is a folder
// ckpt-<sequence> of files, each written to a temporary name, fsynced and renamed, tied
// by DIR/manifest.json, written last in the same way: a kill -9 or a power loss at any
// point leaves the previous checkpoint whole. Older checkpoints are removed once a newer
// manifest is durable. The folder belongs to one run at a time: a Checkpointer holds
// DIR/LOCK (flock) while it lives. Not thread-safe.
class Checkpointer {
 public:
  // Creates dir if needed and locks it. Throws Error naming dir if it cannot, or if
  // another process holds it.
  explicit Checkpointer(std::string dir);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The newest complete checkpoint, its files' checksums verified; nullopt if the folder
  // has none. Throws Error naming the file for a damaged manifest or checkpoint file.
  // A held checkpoint (see write) is not the last one until promoted.
  std::optional<Checkpoint> last() const;

  // The held checkpoint (write with hold), verified as last() verifies; nullopt if none.
  std::optional<Checkpoint> held() const;
  // Makes the held checkpoint the last one (the source acknowledged what it holds) and
  // removes the older ones. Does nothing if none is held.
  void promote();
  // Forgets the held checkpoint: a run resumes from last(). Does nothing if none is held.
  void drop_held();

  // Writes a checkpoint of the pipeline, the log and the store (nullptr: none) at
  // position, for a run of the config whose text hashes to config_hash, and makes it
  // the last one. The store is snapshotted (EmbeddedStore::snapshot). stream_acks: ids
  // of stream entries whose effects this checkpoint holds and which are acknowledged only
  // after it (a worker killed between the two acknowledges them when it resumes). Throws
  // Error naming the file that could not be written; the previous checkpoint then stays
  // last.
  //
  // hold: for a source whose acknowledgement can be refused (a Kafka group rebalancing
  // refuses commits): the checkpoint is written whole but held, not last, until
  // promote(); a newer held one replaces it. A run killed or rolled back meanwhile
  // resumes from the last promoted one, whose records the source no longer gives, so
  // that nothing is learned twice however the source's partitions move.
  Checkpoint write(const std::string& config_hash, const CheckpointPosition& position,
                   const Pipeline& pipeline, const PredictionLog& pending,
                   store::EmbeddedStore* store, const std::vector<std::string>& stream_acks = {},
                   bool hold = false);

  const std::string& dir() const { return dir_; }

 private:
  std::optional<Checkpoint> read_manifest(const std::string& manifest) const;
  // Removes the ckpt-* folders but those of the last and the held checkpoints.
  void remove_others() const;

  std::string dir_;
  uint64_t sequence_ = 0;  // of the last checkpoint written or found, held ones included
  int lock_fd_ = -1;
};

// Reads the pending predictions of checkpoint c into log (whose limits must be those it
// was saved with). Throws Error naming the file.
void load_pending(const Checkpoint& c, PredictionLog& log);

// The entry ids in checkpoint c's stream_acks file (none if it has none). Throws Error
// naming the file.
std::vector<std::string> load_stream_acks(const Checkpoint& c);

// The hash that Checkpoint::config_hash holds for a config file's text.
std::string config_text_hash(const std::string& text);

}  // namespace rtml::runtime
