#include "rtml/serve/http_server.h"

// clang-format off
#include <utility>  // before Asio: its awaitable.hpp uses std::exchange without it
// clang-format on
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "rtml/core/error.h"
#include "rtml/serve/api.h"

namespace rtml::serve {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// A request body as Beast reads it, with ApiRequest::kBodyPadding zero bytes after it, so
// that the API's JSON parser reads it where it is (a batch is not copied once more).
// Grown without zero-filling what is then copied over (Beast's string_body resizes,
// writing every byte twice).
struct PaddedBody {
  class value_type {
   public:
    std::string_view view() const { return {bytes_.get(), size_}; }
    size_t size() const { return size_; }
    void clear() { size_ = 0; }
    // Room for n bytes and the padding.
    void reserve(size_t n) {
      if (n + ApiRequest::kBodyPadding <= capacity_) return;
      const size_t room = std::max(n, 2 * size_) + ApiRequest::kBodyPadding;
      auto bigger = std::make_unique_for_overwrite<char[]>(room);
      if (size_) std::memcpy(bigger.get(), bytes_.get(), size_);
      bytes_ = std::move(bigger);
      capacity_ = room;
    }
    void append(const void* bytes, size_t n) {
      reserve(size_ + n);
      if (n) std::memcpy(bytes_.get() + size_, bytes, n);
      size_ += n;
    }
    // Writes the padding's zeros (after the last append).
    void pad() {
      reserve(size_);
      std::memset(bytes_.get() + size_, 0, ApiRequest::kBodyPadding);
    }

   private:
    std::unique_ptr<char[]> bytes_;
    size_t size_ = 0, capacity_ = 0;
  };

  static uint64_t size(const value_type& body) { return body.size(); }

  // What Beast calls as the body arrives (its BodyReader concept).
  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}
    void init(const boost::optional<uint64_t>& length, beast::error_code& ec) {
      body_.clear();
      // The parser's body limit has already refused a length over it.
      if (length) body_.reserve(static_cast<size_t>(*length));
      ec = {};
    }
    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      size_t n = 0;
      for (auto b : beast::buffers_range_ref(buffers)) {
        body_.append(b.data(), b.size());
        n += b.size();
      }
      ec = {};
      return n;
    }
    void finish(beast::error_code& ec) {
      body_.pad();
      ec = {};
    }

   private:
    value_type& body_;
  };
};

// Answers due on a connection, in the order they are to be written: status lines,
// headers and small bodies packed in one text, a large body (a batch's answer) kept as
// it came (moved in, not copied) and written from where it is. Not thread-safe.
class Outbox {
 public:
  bool empty() const { return used_ == 0; }
  void append(std::string_view bytes) {
    if (used_ == 0 || last_is_body_) {
      if (used_ == pieces_.size()) pieces_.emplace_back();
      pieces_[used_++].clear();
      last_is_body_ = false;
    }
    pieces_[used_ - 1].append(bytes);
  }
  // A body of its own (left empty).
  void add_body(std::string& body) {
    if (used_ == pieces_.size()) pieces_.emplace_back();
    pieces_[used_++].swap(body);
    last_is_body_ = true;
  }
  // The pieces due, for a gathered write, into buffers (cleared first).
  void buffers(std::vector<net::const_buffer>& out) const {
    out.clear();
    for (size_t i = 0; i < used_; ++i) out.emplace_back(net::buffer(pieces_[i]));
  }
  // Forgets what was written. Texts keep their room; large bodies are let go (a
  // connection that once answered a batch does not hold its size for good).
  void clear() {
    for (size_t i = 0; i < used_; ++i) {
      if (pieces_[i].size() >= kOwnPiece) std::string().swap(pieces_[i]);
    }
    used_ = 0;
    last_is_body_ = false;
  }
  // Bodies at least this large are written from where they are.
  static constexpr size_t kOwnPiece = 16384;

 private:
  std::vector<std::string> pieces_;  // [0, used_) are due
  size_t used_ = 0;
  bool last_is_body_ = false;
};

// Appends a whole response (status line, headers, body) to out; a large body is moved
// there (r.body is left empty).
void serialize(ApiResponse& r, bool keep_alive, Outbox& out) {
  char number[24];
  auto digits = [&](size_t n) {
    return std::string_view(
        number, static_cast<size_t>(std::to_chars(number, number + 24, n).ptr - number));
  };
  out.append("HTTP/1.1 ");
  out.append(digits(static_cast<size_t>(r.status)));
  out.append(" ");
  const auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.append(std::string_view(reason.data(), reason.size()));
  out.append("\r\nServer: rtml\r\nContent-Type: ");
  out.append(r.content_type);
  out.append("\r\nContent-Length: ");
  out.append(digits(r.body.size()));
  if (!keep_alive) out.append("\r\nConnection: close");
  out.append("\r\n\r\n");
  if (r.body.size() >= Outbox::kOwnPiece) {
    out.add_body(r.body);
  } else {
    out.append(r.body);
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(RequestHandler& a, Options o) : api(a), options(std::move(o)), acceptor(ioc) {}

  RequestHandler& api;
  Options options;
  std::atomic<size_t> open{0};  // before ioc: sessions its handlers hold count down here
  net::io_context ioc;
  tcp::acceptor acceptor;

  void accept();
};

namespace {

// One connection. Lives as long as an operation on it is pending (each handler holds a
// shared_ptr), or an answer from a learning thread is awaited (self_).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server) {
    ++server_.open;
  }
  ~Session() { --server_.open; }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  enum State : int { kIdle, kHandling, kAnswered, kWaiting };

  void read() {
    stream_.expires_after(std::chrono::seconds(server_.options.idle_timeout_s));
    auto buf = buffer_.prepare(std::max<size_t>(16384, buffer_.capacity() - buffer_.size()));
    stream_.async_read_some(
        buf, [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(beast::error_code ec, size_t n) {
    if (ec) return close();  // closed by the peer, timed out, or failed
    buffer_.commit(n);
    process();
  }

  // Answers every complete request in the buffer, then writes the answers and reads on.
  void process() {
    while (!waiting_ && !closing_) {
      if (!parser_) {
        parser_.emplace();
        parser_->body_limit(server_.options.max_body);
        parser_->header_limit(static_cast<uint32_t>(server_.options.max_header));
      }
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) {
        const bool too_big = ec == http::error::body_limit || ec == http::error::header_limit;
        ApiResponse r;
        r.status = too_big ? 413 : 400;
        r.body = std::string("{\"error\":\"") +
                 (too_big ? "request over the size limit" : "malformed HTTP request") + "\"}";
        serialize(r, false, out_);
        closing_ = true;
        break;
      }
      if (!parser_->is_done()) {
        if (used == 0) break;
        continue;
      }
      handle();
    }
    flush();
  }

  void handle() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    ApiRequest r;
    r.method = std::string_view(req.method_string().data(), req.method_string().size());
    r.target = std::string_view(req.target().data(), req.target().size());
    r.body = req.body().view();
    // Padded by the reader's finish(), which a request without a body skips.
    r.body_padded = !r.body.empty();
    auto auth = req.find(http::field::authorization);
    if (auth != req.end())
      r.authorization = std::string_view(auth->value().data(), auth->value().size());
    self_ = shared_from_this();
    state_.store(kHandling);
    // A raw pointer keeps the callable small (no allocation); self_ keeps us alive.
    server_.api.handle(r, [this](ApiResponse answer) { on_answer(std::move(answer)); });
    int expected = kHandling;
    if (state_.compare_exchange_strong(expected, kWaiting)) {
      waiting_ = true;  // answered later, on a learning thread
      return;
    }
    finish_request();
  }

  // The answer of the request being handled: now (on this strand), or later on a
  // learning thread, from which it is posted back here.
  void on_answer(ApiResponse answer) {
    answer_ = std::move(answer);
    int expected = kHandling;
    if (state_.compare_exchange_strong(expected, kAnswered)) return;
    net::post(stream_.get_executor(), [this] {
      waiting_ = false;
      auto keep = std::move(self_);
      finish_request();
      process();
    });
  }

  void finish_request() {
    serialize(answer_, keep_alive_, out_);
    answer_ = ApiResponse();
    state_.store(kIdle);
    parser_.reset();
    self_.reset();
    if (!keep_alive_) closing_ = true;
  }

  // Writes what is due; then reads on, or closes.
  void flush() {
    if (writing_) return;
    if (out_.empty()) {
      if (closing_) return close();
      if (!waiting_) read();
      return;
    }
    writing_ = true;
    std::swap(sending_, out_);
    sending_.buffers(send_buffers_);
    auto written = [self = shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      self->sending_.clear();
      if (ec) return self->close();
      self->flush();
    };
    // One piece (the common case) as one buffer: Asio's walk over a buffer sequence
    // costs a request-reply answer more than the piece's write.
    if (send_buffers_.size() == 1) {
      net::async_write(stream_, send_buffers_[0], std::move(written));
    } else {
      net::async_write(stream_, send_buffers_, std::move(written));
    }
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<PaddedBody>> parser_;
  Outbox out_;                                   // answers due, not yet written
  Outbox sending_;                               // answers being written
  std::vector<net::const_buffer> send_buffers_;  // sending_'s pieces
  bool writing_ = false;
  bool waiting_ = false;  // for an answer from a learning thread
  bool closing_ = false;
  bool keep_alive_ = true;
  std::atomic<int> state_{kIdle};
  ApiResponse answer_;
  std::shared_ptr<Session> self_;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted) return;
    } else if (open.load() >= options.max_connections) {
      ApiResponse r;
      r.status = 503;
      r.body = "{\"error\":\"too many connections\"}";
      Outbox out;
      serialize(r, false, out);
      std::vector<net::const_buffer> buffers;
      out.buffers(buffers);
      beast::error_code ignored;
      net::write(socket, buffers, ignored);
      socket.close(ignored);
    } else {
      // Answers go out as soon as they are written (no Nagle delay against the peer's
      // delayed ACK: 40 ms stalls on pipelined connections).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
    accept();
  });
}

HttpServer::HttpServer(RequestHandler& api, Options options)
    : impl_(std::make_unique<Impl>(api, std::move(options))) {
  auto& o = impl_->options;
  beast::error_code ec;
  auto address = net::ip::make_address(o.address, ec);
  if (ec) throw Error("--listen: '" + o.address + "' is not an IP address");
  tcp::endpoint endpoint(address, o.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw Error("cannot listen on " + o.address + ":" + std::to_string(o.port) + ": " +
                ec.message());
  }
  impl_->accept();
}

HttpServer::~HttpServer() { stop(); }

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

size_t HttpServer::connections() const { return impl_->open.load(); }

void HttpServer::run() {
  const int n = std::max(1, impl_->options.threads);
  std::vector<std::thread> extra;
  for (int i = 1; i < n; ++i) extra.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : extra) t.join();
}

void HttpServer::stop() { impl_->ioc.stop(); }

}  // namespace rtml::serve
