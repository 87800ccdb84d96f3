#pragma once
// Common Asio/Beast aliases. I/O results are returned as tuples, never thrown:
// an error on one connection must not unwind through a coroutine.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace switchyard {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using asio::awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}  // namespace switchyard
