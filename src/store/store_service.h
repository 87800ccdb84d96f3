#pragma once
// The gateway's asynchronous face of the store. Owns:
//  - the request-path DB thread (its own io_context and connection): key
//    lookups on a cache miss, budget reservations, admin API queries and
//    health pings run there, never on a worker thread; the awaiting
//    coroutine resumes on its own worker when the result is posted back;
//  - the spend writer thread (its own connection): spend rows are queued
//    without blocking and written in batches; while the DB is down they stay
//    buffered (bounded) and are retried;
//  - the key cache (short TTL, so a change on another replica takes effect
//    within `key_cache_ttl`) and the in-process budget ledger.
// Created once at startup, shared by every worker, shut down after the
// workers stopped (flushes what is buffered, within a deadline).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/asio.h"
#include "store/counters.h"
#include "store/store_db.h"

namespace switchyard::store {

struct StoreOptions {
  std::string database_url;  // postgresql://... ; empty = SQLite
  std::string sqlite_path;
  std::chrono::milliseconds key_cache_ttl{2000};
  size_t spend_batch_size = 500;
  std::chrono::milliseconds spend_flush_interval{200};
  size_t spend_buffer_max = 100000;
};

struct StoreStats {
  std::atomic<uint64_t> spend_rows_written{0};
  std::atomic<uint64_t> spend_rows_dropped{0};
  std::atomic<uint64_t> spend_batches{0};
  std::atomic<uint64_t> spend_write_failures{0};
  std::atomic<uint64_t> key_cache_hits{0};
  std::atomic<uint64_t> key_cache_misses{0};
  std::atomic<uint64_t> db_unavailable{0};
  std::atomic<uint64_t> budget_local_only{0};  // reservations made while the DB was down
};

// Result of looking a key up: `key` null and `unavailable` false = unknown.
struct KeyLookup {
  std::shared_ptr<const KeyRecord> key;
  bool unavailable = false;
};

struct Reservation {
  bool granted = true;
  double amount = 0;
  bool in_db = false;  // the DB holds it: the spend row releases it
  std::string reason;  // why not granted
};

class StoreService {
 public:
  explicit StoreService(StoreOptions options, std::unique_ptr<SqlConnection> request_conn,
                        std::unique_ptr<SqlConnection> writer_conn);
  ~StoreService();
  StoreService(const StoreService&) = delete;
  StoreService& operator=(const StoreService&) = delete;

  // Opens the connections for `options` (nothing is connected yet for
  // PostgreSQL: that happens on first use, and again after an outage).
  static Result<std::shared_ptr<StoreService>> open(const StoreOptions& options);

  Dialect dialect() const { return dialect_; }
  const StoreOptions& options() const { return options_; }
  StoreStats& stats() { return stats_; }
  WindowCounters& counters() { return *counters_; }

  // Initiation of run(): only a pointer and a shared_ptr travel through
  // asio's initiate coroutine (a lambda with captures there was
  // miscompiled by GCC 12: the posted operation landed inside the caller's
  // coroutine frame).
  template <typename R>
  struct RunOp {
    StoreService* self;
    std::shared_ptr<std::function<R(StoreDb&)>> fn;
    template <typename Handler>
    void operator()(Handler handler) const {
      auto state =
          std::make_shared<std::pair<Handler, std::optional<R>>>(std::move(handler), std::nullopt);
      asio::post(self->db_io_, [self = self, fn = fn, state] {
        state->second.emplace((*fn)(*self->db_));
        auto ex = asio::get_associated_executor(state->first);
        asio::post(ex, [state] { std::move(state->first)(std::move(state->second)); });
      });
    }
  };

  // Runs `job(StoreDb&)` on the request-path DB thread; the awaiting
  // coroutine resumes on its own executor (the completion is posted there).
  // The result comes wrapped in an optional (always engaged): Result<T> has
  // no default constructor.
  //
  // GCC 12: build the job (a lambda with captures) in a plain function, not
  // inside a coroutine. Captured strings were copied bitwise there (the SSO
  // pointer kept pointing into the coroutine frame) and freed twice.
  template <typename R>
  auto run(std::function<R(StoreDb&)> job) {
    return asio::async_initiate<decltype(asio::use_awaitable), void(std::optional<R>)>(
        RunOp<R>{this, std::make_shared<std::function<R(StoreDb&)>>(std::move(job))},
        asio::use_awaitable);
  }

  template <typename F>
  auto run_sync(F f) -> std::invoke_result_t<F, StoreDb&> {
    using R = std::invoke_result_t<F, StoreDb&>;
    std::promise<std::optional<R>> promise;
    auto future = promise.get_future();
    asio::post(db_io_, [&] { promise.set_value(std::optional<R>(f(*db_))); });
    return std::move(*future.get());
  }

  // Cache first; the DB only on a miss or an expired entry. While the DB is
  // unreachable, an entry already cached keeps being used.
  awaitable<KeyLookup> lookup_key(std::string token);
  // Forget the cached entry (after an admin change on this replica).
  void invalidate(const std::string& token);

  // Budget: reserve `estimate` before the upstream call...
  awaitable<Reservation> reserve(const KeyRecord& key, double estimate);
  // ...and settle after it: the spend row carries the actual cost and
  // releases the DB reservation when it is written.
  void settle(const Reservation& reservation, SpendRecord row);
  // Spend row for a request without a budget reservation.
  void record_spend(SpendRecord row);

  // SELECT 1 on the request-path thread; false after `timeout`.
  awaitable<bool> ping(std::chrono::milliseconds timeout);

  size_t buffered_spend_rows();
  // Waits until the spend buffer is empty or `timeout`; for tests and shutdown.
  bool flush(std::chrono::milliseconds timeout);
  // Stops both threads; tries to write what is buffered within `deadline`.
  void shutdown(std::chrono::milliseconds deadline);

  void render_metrics(std::string& out);

  // Whether the schema is at the version this binary needs; readiness
  // reports `schema_problem` otherwise.
  void set_schema_state(bool ok, std::string problem) {
    std::lock_guard lock(cache_mutex_);
    schema_ok_ = ok;
    schema_problem_ = std::move(problem);
  }
  std::pair<bool, std::string> schema_state() {
    std::lock_guard lock(cache_mutex_);
    return {schema_ok_, schema_problem_};
  }

 private:
  struct CacheEntry {
    std::shared_ptr<const KeyRecord> key;
    Clock::time_point fetched{};
    double base_spend = 0;      // spend in the DB when last read (plus our flushed rows)
    double local_reserved = 0;  // reservations of requests in flight here
    double pending = 0;         // settled here, not yet written
  };

  std::optional<KeyLookup> cached(const std::string& token);
  KeyLookup fetch_key(StoreDb& db, const std::string& token);
  std::function<KeyLookup(StoreDb&)> fetch_job(std::string token);
  static std::function<Result<ReserveOutcome>(StoreDb&)> reserve_job(std::string token,
                                                                     double amount);
  void writer_loop();
  void enqueue(SpendRecord row);
  void on_flushed(const std::vector<SpendRecord>& rows);

  StoreOptions options_;
  Dialect dialect_;
  StoreStats stats_;
  std::unique_ptr<WindowCounters> counters_;

  asio::io_context db_io_;
  std::unique_ptr<SqlConnection> request_conn_;
  std::unique_ptr<StoreDb> db_;
  std::thread db_thread_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> db_work_;

  std::mutex cache_mutex_;
  std::unordered_map<std::string, CacheEntry> cache_;
  bool schema_ok_ = true;
  std::string schema_problem_;

  std::unique_ptr<SqlConnection> writer_conn_;
  std::mutex writer_mutex_;
  std::condition_variable writer_cv_;
  std::condition_variable drained_cv_;
  std::deque<SpendRecord> queue_;
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};
  std::thread writer_thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace switchyard::store
