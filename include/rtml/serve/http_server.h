// HttpServer: HTTP/1.1 (keep-alive, pipelining) over Boost.Beast, answering with an Api
// (or any RequestHandler).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace rtml::serve {

class RequestHandler;

// Listens on an address and port and answers each request with the Api: requests of one
// connection are answered in order (a pipelined request waits for the one before it,
// even one that waits for its model to learn); connections never wait for each other.
// Answers already due are gathered into one write. A request over the size limits gets
// 413 and the connection is closed; past max_connections a new connection gets 503.
// A connection silent for idle_timeout_s is closed.
//
// run() serves on `threads` threads until stop(); stop() may be called from any thread.
class HttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    uint16_t port = 8080;  // 0: any free port (see port())
    int threads = 1;
    size_t max_body = 16u << 20;
    size_t max_header = 16u << 10;
    size_t max_connections = 10000;
    int idle_timeout_s = 300;
  };

  // Binds and listens. Throws Error naming the address if it cannot.
  HttpServer(RequestHandler& handler, Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port listened on.
  uint16_t port() const;
  // Serves until stop(); returns once every thread is done.
  void run();
  void stop();
  // Connections open now.
  size_t connections() const;

  struct Impl;  // defined and used in http_server.cpp only

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rtml::serve
