// Aggregates kept in the store: fed by events, durable across restarts and snapshots,
// read like any other feature, and readable as of a past event time.
#include "rtml/runtime/store_aggregates.h"

#include <gtest/gtest.h>

#include "../test_util.h"
#include "rtml/core/random.h"
#include "rtml/store/embedded_store.h"

namespace rtml::store {
namespace {

std::shared_ptr<runtime::StoreAggregates> aggregates() {
  std::vector<features::AggregateSpec> specs = features::parse_aggregates(
      "clicks = count(click) by user over 60s every 10s keep 10m\n"
      "spend = sum(amount) by user over 5m every 1m late 30s\n"
      "recent = mean(amount) by user decay 2m\n"
      "pages = topk(page, k=2) by user over 10m\n"
      "visitors = distinct(page) by user over 10m\n",
      "test");
  return std::make_shared<runtime::StoreAggregates>(std::move(specs));
}

StoreOptions options(const std::string& dir) {
  StoreOptions o;
  o.dir = dir;
  o.fsync = FsyncSetting::parse("never");
  o.snapshot_wal_bytes = 0;
  o.computed = aggregates();
  return o;
}

void feed(EmbeddedStore& s, int from, int to) {
  const char* pages[] = {"home", "cart", "help"};
  for (int i = from; i < to; ++i) {
    // Values depend on i only, so that feeding in pieces gives the same stream.
    std::vector<EventField> fields = {EventField::of_number("click", 1),
                                      EventField::of_number("amount", (i * 37 % 100) / 10.0),
                                      EventField::of_text("page", pages[(i * 7 / 3) % 3])};
    ASSERT_EQ(s.apply_event(EntityKey("u" + std::to_string(i % 7)), 1000 + i * 0.5, fields).why(),
              "");
  }
}

std::vector<FeatureValue> read_all(EmbeddedStore& s) {
  std::vector<std::string> names = {"clicks", "spend", "recent", "pages", "visitors"};
  std::vector<FeatureValue> out;
  for (int u = 0; u < 7; ++u) {
    std::vector<FeatureValue> v(names.size());
    s.get(EntityKey("u" + std::to_string(u)), names, v);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

bool same(const std::vector<FeatureValue>& a, const std::vector<FeatureValue>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].present != b[i].present || a[i].number != b[i].number || a[i].text != b[i].text) {
      ADD_FAILURE() << "value " << i << ": " << a[i].present << " " << a[i].number << " '"
                    << a[i].text << "' vs " << b[i].present << " " << b[i].number << " '"
                    << b[i].text << "'";
      return false;
    }
  }
  return true;
}

TEST(StoreAggregates, SurviveRestartsAndSnapshotsExactly) {
  test::TempDir dir;
  auto reference = EmbeddedStore::open(options(dir.file("ref")));
  feed(*reference, 0, 3000);
  {
    auto s = EmbeddedStore::open(options(dir.file("s")));
    feed(*s, 0, 1000);
    s->snapshot();
    feed(*s, 1000, 2000);
  }
  {
    auto s = EmbeddedStore::open(options(dir.file("s")));  // snapshot + WAL replay
    EXPECT_GT(s->recovery().replayed, 900u);
    feed(*s, 2000, 3000);
    s->snapshot();
  }
  auto s = EmbeddedStore::open(options(dir.file("s")));  // snapshot only
  EXPECT_TRUE(same(read_all(*s), read_all(*reference)));
  std::vector<std::string> names = {"clicks", "pages"};
  std::vector<FeatureValue> v(2);
  s->get(EntityKey("u3"), names, v);
  EXPECT_TRUE(v[0].present);
  EXPECT_GT(v[0].number, 0);
  EXPECT_EQ(v[1].type, FeatureType::kCategory);
}

TEST(StoreAggregates, AsOfReadsSeeNoLaterEvents) {
  auto o = options("");
  o.dir.clear();
  auto s = EmbeddedStore::open(o);
  for (int t = 0; t < 300; ++t) {
    std::vector<EventField> f = {EventField::of_number("click", 1)};
    ASSERT_EQ(s->apply_event(EntityKey("u"), 1000 + t, f).why(), "");
  }
  std::vector<std::string> names = {"clicks"};
  std::vector<FeatureValue> v(1);
  s->get_as_of(EntityKey("u"), names, 1100.5, v);  // window [1040, 1100): 60 clicks
  EXPECT_EQ(v[0].number, 60);
  s->get_as_of(EntityKey("u"), names, 1025, v);  // [960, 1020): the 20 clicks at 1000..1019
  EXPECT_EQ(v[0].number, 20);
  s->get(EntityKey("u"), names, v);  // now: [1240, 1300)
  EXPECT_EQ(v[0].number, 60);
  std::vector<EventField> bad = {EventField::of_number("click", NAN)};
  EXPECT_NE(s->apply_event(EntityKey("u"), 1300, bad).why().find("NaN"), std::string::npos);
  std::vector<EventField> text = {EventField::of_text("amount", "ten")};
  EXPECT_NE(s->apply_event(EntityKey("u"), 1300, text).why().find("must be a number"),
            std::string::npos);
  // A time no window can hold is refused, not folded into the buckets (a NaN or a far
  // time would shift every window after it).
  std::vector<EventField> one = {EventField::of_number("click", 1)};
  for (double t : {static_cast<double>(NAN), 1e300, -1.0, 4294967296.0}) {
    EXPECT_NE(s->apply_event(EntityKey("u"), t, one).why().find("time out of range"),
              std::string::npos)
        << t;
  }
  s->get(EntityKey("u"), names, v);
  EXPECT_EQ(v[0].number, 60);
  std::vector<EventField> unused = {EventField::of_text("colour", "red")};
  EXPECT_NE(s->apply_event(EntityKey("u"), 1300, unused).why().find("no declared aggregate"),
            std::string::npos);
  // An event resent with the same id counts once; another id counts again.
  std::vector<EventField> click = {EventField::of_number("click", 1)};
  std::vector<FeatureValue> before(1), after(1);
  s->get(EntityKey("u"), names, before);
  ASSERT_EQ(s->apply_event(EntityKey("u"), 1299.5, click, "evt-1").why(), "");
  ASSERT_EQ(s->apply_event(EntityKey("u"), 1299.5, click, "evt-1").why(), "");
  s->get(EntityKey("u"), names, after);
  EXPECT_EQ(after[0].number, before[0].number + 1);
  EXPECT_EQ(s->duplicate_events(), 1u);
  auto plain = EmbeddedStore::open(StoreOptions{});
  EXPECT_NE(plain->apply_event(EntityKey("u"), 1, bad).why().find("no aggregates"),
            std::string::npos);
}

}  // namespace
}  // namespace rtml::store
