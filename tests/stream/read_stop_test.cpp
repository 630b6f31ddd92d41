// A read waiting on a pipe stops when asked (DecodeOptions::stop_fd), and what came
// before the stop is still decoded.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "../test_util.h"
#include "rtml/stream/byte_source.h"
#include "rtml/stream/row_source.h"

namespace rtml {
namespace {

TEST(ReadStop, APipeThatStaysOpenStopsOnRequestAfterItsRows) {
  for (std::string format : {"csv", "jsonl"}) {
    SCOPED_TRACE(format);
    int data[2], stop[2];
    ASSERT_EQ(::pipe2(data, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(stop, O_CLOEXEC), 0);
    std::string text = format == "csv" ? "x,y\n1,a\n2,b\n3,c"  // the last line is unfinished
                                       : "{\"x\": 1}\n{\"x\": 2}\n{\"x\": 3";
    ASSERT_EQ(::write(data[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
    // The writer keeps its end open: without a stop, the reader would wait for ever.
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      ASSERT_EQ(::write(stop[1], "x", 1), 1);
    });
    DecodeOptions o;
    o.stop_fd = stop[0];
    test::TempDir dir;
    std::string path = dir.file("in." + format);
    ASSERT_EQ(::symlink(("/proc/self/fd/" + std::to_string(data[0])).c_str(), path.c_str()), 0);
    auto src = open_source(path, o);  // CSV: reading ahead for types is cut by the stop
    Row row;
    ASSERT_TRUE(src->next(row));
    EXPECT_EQ(row.values[0].number, 1);
    ASSERT_TRUE(src->next(row));
    EXPECT_EQ(row.values[0].number, 2);
    EXPECT_THROW(src->next(row), ReadStopped);  // "3" never ended its line
    EXPECT_THROW(src->next(row), ReadStopped);  // and stays stopped
    stopper.join();
    for (int fd : {data[0], data[1], stop[0], stop[1]}) ::close(fd);
  }
}

}  // namespace
}  // namespace rtml
