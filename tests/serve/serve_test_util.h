// Helpers for the serve tests: a synchronous call into the Api, and Elec2 as JSON events.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../test_util.h"
#include "rtml/serve/api.h"
#include "rtml/stream/row_source.h"

namespace rtml::test {

// Calls the Api and waits for its answer (a learn is answered on a learning thread).
inline serve::ApiResponse call(serve::Api& api, std::string_view method, std::string_view target,
                               std::string_view body = {}, std::string_view auth = {}) {
  std::promise<serve::ApiResponse> done;
  auto answer = done.get_future();
  serve::ApiRequest r{method, target, body, auth};
  api.handle(r, [&](serve::ApiResponse resp) { done.set_value(std::move(resp)); });
  return answer.get();
}

// One row of a CSV file as {"features": {...}} and its label (the class column).
struct JsonEvent {
  std::string features;  // the JSON object of the features
  std::string label;     // the class
};

// The first n rows of the Elec2 data set as JSON events.
inline std::vector<JsonEvent> elec2_events(size_t n) {
  auto source = open_source(data_dir() + "/elec2.csv.gz");
  const auto& columns = source->columns();
  std::vector<JsonEvent> out;
  Row row;
  while (out.size() < n && source->next(row)) {
    JsonEvent e;
    e.features = "{";
    for (size_t i = 0; i < row.values.size(); ++i) {
      const Value& v = row.values[i];
      if (columns[i].name == "class") {
        e.label = std::string(v.text);
        continue;
      }
      if (v.kind != ValueKind::kNumber) continue;
      if (e.features.size() > 1) e.features += ',';
      char num[40];
      std::snprintf(num, sizeof num, "%.17g", v.number);
      e.features += "\"" + columns[i].name + "\":" + num;
    }
    e.features += "}";
    out.push_back(std::move(e));
  }
  return out;
}

// An event's JSON features ({"x": 1.5, ...}, numbers) as EventFields, in the order sent;
// the fields view names, so both live here.
struct NumberFields {
  std::vector<std::string> names;
  std::vector<EventField> fields;
  const std::vector<EventField>& parse(const std::string& features) {
    auto f = nlohmann::ordered_json::parse(features);
    names.clear();
    fields.clear();
    for (auto& [k, v] : f.items()) names.push_back(k);
    size_t k = 0;
    for (auto& [name, v] : f.items()) fields.push_back(EventField::of_number(names[k++], v));
    return fields;
  }
};

// A blocking HTTP/1.1 client on one connection, enough to read answers back.
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~HttpClient() { close(fd_); }
  bool connected() const { return connected_; }

  static std::string request(std::string_view method, std::string_view target,
                             std::string_view body = {}, bool keep_alive = true) {
    std::string r = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n";
    if (!keep_alive) r += "Connection: close\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    r += body;
    return r;
  }
  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads one answer: its status (0 if the connection closed or 5 s passed) and body.
  std::pair<int, std::string> read_answer() {
    for (;;) {
      const size_t end = in_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const int status = std::atoi(in_.c_str() + 9);
        size_t length = 0;
        const auto cl = in_.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(in_.substr(cl + 16));
        if (in_.size() >= end + 4 + length) {
          std::string body = in_.substr(end + 4, length);
          in_.erase(0, end + 4 + length);
          return {status, body};
        }
      }
      if (!fill()) return {0, ""};
    }
  }
  // True if the server closed the connection (within 5 s).
  bool closed() {
    while (fill()) {
    }
    return eof_;
  }
  std::pair<int, std::string> call(std::string_view method, std::string_view target,
                                   std::string_view body = {}) {
    if (!send(request(method, target, body))) return {0, ""};
    return read_answer();
  }

 private:
  bool fill() {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) return false;
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string in_;
};

}  // namespace rtml::test
