#include "store/store_service.h"

#include "telemetry/log.h"
#include "telemetry/prometheus_text.h"

namespace switchyard::store {

namespace {
constexpr std::chrono::milliseconds kRetryBackoffMin{250};
constexpr std::chrono::milliseconds kRetryBackoffMax{2000};
// While the DB is unreachable a cached key is trusted this much longer
// before the next lookup tries the DB again.
constexpr std::chrono::milliseconds kStaleRetry{1000};
}  // namespace

Result<std::shared_ptr<StoreService>> StoreService::open(const StoreOptions& options) {
  std::unique_ptr<SqlConnection> request_conn;
  std::unique_ptr<SqlConnection> writer_conn;
  if (is_postgres_url(options.database_url)) {
    request_conn = open_postgres(options.database_url);
    writer_conn = open_postgres(options.database_url);
  } else {
    auto a = open_sqlite(options.sqlite_path);
    if (!a) return a.error();
    auto b = open_sqlite(options.sqlite_path);
    if (!b) return b.error();
    request_conn = std::move(*a);
    writer_conn = std::move(*b);
  }
  return std::make_shared<StoreService>(options, std::move(request_conn), std::move(writer_conn));
}

StoreService::StoreService(StoreOptions options, std::unique_ptr<SqlConnection> request_conn,
                           std::unique_ptr<SqlConnection> writer_conn)
    : options_(std::move(options)),
      dialect_(request_conn->dialect()),
      counters_(std::make_unique<LocalWindowCounters>()),
      request_conn_(std::move(request_conn)),
      db_(std::make_unique<StoreDb>(*request_conn_)),
      writer_conn_(std::move(writer_conn)) {
  db_work_.emplace(db_io_.get_executor());
  db_thread_ = std::thread([this] { db_io_.run(); });
  writer_thread_ = std::thread([this] { writer_loop(); });
}

StoreService::~StoreService() { shutdown(std::chrono::milliseconds(0)); }

std::optional<KeyLookup> StoreService::cached(const std::string& token) {
  std::lock_guard lock(cache_mutex_);
  auto it = cache_.find(token);
  if (it != cache_.end() && Clock::now() - it->second.fetched < options_.key_cache_ttl) {
    stats_.key_cache_hits.fetch_add(1, std::memory_order_relaxed);
    KeyLookup hit;
    hit.key = it->second.key;
    return hit;
  }
  return std::nullopt;
}

// Runs on the DB thread. A lookup queued behind another one for the same
// key finds the entry that one just refreshed and skips the query.
KeyLookup StoreService::fetch_key(StoreDb& db, const std::string& token) {
  const auto start = Clock::now();
  KeyLookup out;
  std::unique_lock lock(cache_mutex_);
  if (auto it = cache_.find(token);
      it != cache_.end() && start - it->second.fetched < options_.key_cache_ttl) {
    out.key = it->second.key;
    return out;
  }
  lock.unlock();
  auto fetched = db.get_key(token);
  lock.lock();
  CacheEntry& entry = cache_[token];
  if (!fetched) {
    stats_.db_unavailable.fetch_add(1, std::memory_order_relaxed);
    if (entry.key) {
      // Keep serving the last known state; try the DB again shortly.
      entry.fetched = start - options_.key_cache_ttl + kStaleRetry;
      out.key = entry.key;
      return out;
    }
    cache_.erase(token);
    out.unavailable = true;
    return out;
  }
  entry.fetched = start;
  if (fetched->has_value()) {
    entry.key = std::make_shared<const KeyRecord>(std::move(**fetched));
    entry.base_spend = entry.key->spend;
  } else {
    entry.key = nullptr;
  }
  out.key = entry.key;
  return out;
}

std::function<KeyLookup(StoreDb&)> StoreService::fetch_job(std::string token) {
  return [this, token = std::move(token)](StoreDb& db) { return fetch_key(db, token); };
}

awaitable<KeyLookup> StoreService::lookup_key(std::string token) {
  if (auto hit = cached(token)) co_return std::move(*hit);
  stats_.key_cache_misses.fetch_add(1, std::memory_order_relaxed);
  auto found = co_await run(fetch_job(std::move(token)));
  co_return std::move(*found);
}

void StoreService::invalidate(const std::string& token) {
  std::lock_guard lock(cache_mutex_);
  auto it = cache_.find(token);
  if (it != cache_.end()) it->second.fetched = Clock::time_point{};
}

std::function<Result<ReserveOutcome>(StoreDb&)> StoreService::reserve_job(std::string token,
                                                                          double amount) {
  return [token = std::move(token), amount](StoreDb& db) { return db.reserve(token, amount); };
}

awaitable<Reservation> StoreService::reserve(const KeyRecord& key, double estimate) {
  Reservation r;
  if (!key.max_budget) co_return r;
  const double budget = *key.max_budget;
  {
    std::lock_guard lock(cache_mutex_);
    CacheEntry& e = cache_[key.token];
    if (e.base_spend + e.pending >= budget ||
        e.base_spend + e.pending + e.local_reserved + estimate > budget) {
      r.granted = false;
      r.reason = "local";
      co_return r;
    }
    e.local_reserved += estimate;
  }
  r.amount = estimate;
  if (estimate <= 0) co_return r;
  // Across replicas the DB decides, atomically.
  auto wrapped = co_await run(reserve_job(key.token, estimate));
  auto& outcome = *wrapped;
  if (!outcome) {
    // DB down: the in-process ledger alone holds the budget (per replica).
    stats_.budget_local_only.fetch_add(1, std::memory_order_relaxed);
    co_return r;
  }
  if (outcome->granted) {
    r.in_db = true;
    co_return r;
  }
  {
    std::lock_guard lock(cache_mutex_);
    CacheEntry& e = cache_[key.token];
    e.local_reserved -= estimate;
    if (outcome->spend > e.base_spend) e.base_spend = outcome->spend;
  }
  r.granted = false;
  r.amount = 0;
  r.reason = outcome->key_found ? "db" : "deleted";
  co_return r;
}

void StoreService::settle(const Reservation& reservation, SpendRecord row) {
  {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(row.api_key);
    if (it != cache_.end()) {
      it->second.local_reserved -= reservation.amount;
      if (it->second.local_reserved < 1e-12) it->second.local_reserved = 0;
      it->second.pending += row.spend;
    }
  }
  row.reserved_released = reservation.in_db ? reservation.amount : 0;
  enqueue(std::move(row));
}

void StoreService::record_spend(SpendRecord row) { enqueue(std::move(row)); }

void StoreService::enqueue(SpendRecord row) {
  {
    std::lock_guard lock(writer_mutex_);
    if (queue_.size() >= options_.spend_buffer_max || stopped_.load()) {
      stats_.spend_rows_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(row));
    if (queue_.size() < options_.spend_batch_size) return;
  }
  writer_cv_.notify_one();
}

void StoreService::on_flushed(const std::vector<SpendRecord>& rows) {
  std::lock_guard lock(cache_mutex_);
  for (const auto& row : rows) {
    if (row.api_key.empty()) continue;
    auto it = cache_.find(row.api_key);
    if (it == cache_.end()) continue;
    it->second.pending -= row.spend;
    if (it->second.pending < 1e-12) it->second.pending = 0;
    it->second.base_spend += row.spend;
  }
}

void StoreService::writer_loop() {
  StoreDb db(*writer_conn_);
  std::vector<SpendRecord> batch;
  auto backoff = kRetryBackoffMin;
  bool failing = false;
  std::unique_lock lock(writer_mutex_);
  for (;;) {
    if (!stopping_) {
      writer_cv_.wait_for(lock, failing ? backoff : options_.spend_flush_interval, [&] {
        return stopping_ || (!failing && queue_.size() >= options_.spend_batch_size);
      });
    }
    if (queue_.empty()) {
      drained_cv_.notify_all();
      if (stopping_) break;
      continue;
    }
    if (stopping_ && Clock::now() >= stop_deadline_) break;
    const size_t n = std::min(queue_.size(), options_.spend_batch_size);
    batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    lock.unlock();
    auto written = db.write_spend_batch(batch);
    lock.lock();
    if (written) {
      // Rows only leave the buffer once the DB has them.
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
      stats_.spend_rows_written.fetch_add(n, std::memory_order_relaxed);
      stats_.spend_batches.fetch_add(1, std::memory_order_relaxed);
      if (failing) {
        log_event(LogLevel::kInfo, "spend log writes resumed",
                  {{"buffered", std::to_string(queue_.size())}});
      }
      failing = false;
      backoff = kRetryBackoffMin;
      lock.unlock();
      on_flushed(batch);
      lock.lock();
      if (queue_.empty()) drained_cv_.notify_all();
    } else {
      stats_.spend_write_failures.fetch_add(1, std::memory_order_relaxed);
      if (!failing) {
        log_event(LogLevel::kWarning, "spend log write failed; buffering",
                  {{"error", json_string(written.error().message)},
                   {"buffered", std::to_string(queue_.size())}});
      }
      failing = true;
      backoff = std::min(kRetryBackoffMax, backoff * 2);
      if (stopping_) {
        lock.unlock();
        std::this_thread::sleep_for(kRetryBackoffMin);
        lock.lock();
      }
    }
  }
  if (!queue_.empty()) {
    stats_.spend_rows_dropped.fetch_add(queue_.size(), std::memory_order_relaxed);
    log_event(LogLevel::kError, "spend rows not written before shutdown",
              {{"dropped", std::to_string(queue_.size())}});
    queue_.clear();
  }
  drained_cv_.notify_all();
}

awaitable<bool> StoreService::ping(std::chrono::milliseconds timeout) {
  struct PingState {
    explicit PingState(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    int result = -1;
  };
  auto state = std::make_shared<PingState>(co_await asio::this_coro::executor);
  state->timer.expires_after(timeout);
  asio::post(db_io_, [this, state] {
    const bool ok = db_->ping().ok();
    // Back on the waiting worker's thread; harmless if it already gave up.
    asio::post(state->timer.get_executor(), [state, ok] {
      state->result = ok ? 1 : 0;
      state->timer.cancel();
    });
  });
  co_await state->timer.async_wait(use_nothrow);
  co_return state->result == 1;
}

size_t StoreService::buffered_spend_rows() {
  std::lock_guard lock(writer_mutex_);
  return queue_.size();
}

bool StoreService::flush(std::chrono::milliseconds timeout) {
  std::unique_lock lock(writer_mutex_);
  writer_cv_.notify_one();
  return drained_cv_.wait_for(lock, timeout, [&] { return queue_.empty(); });
}

void StoreService::shutdown(std::chrono::milliseconds deadline) {
  if (stopped_.exchange(true)) return;
  {
    std::lock_guard lock(writer_mutex_);
    stopping_ = true;
    stop_deadline_ = Clock::now() + deadline;
  }
  writer_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  db_work_.reset();
  db_io_.stop();
  if (db_thread_.joinable()) db_thread_.join();
}

void StoreService::render_metrics(std::string& out) {
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    append_prometheus_counter(out, name, help, value);
  };
  counter("switchyard_spend_logs_written_total", "Spend log rows written to the database.",
          stats_.spend_rows_written.load());
  counter("switchyard_spend_logs_dropped_total",
          "Spend log rows dropped (buffer full during a database outage, or unwritten at exit).",
          stats_.spend_rows_dropped.load());
  counter("switchyard_spend_log_write_failures_total", "Failed spend log batch writes (retried).",
          stats_.spend_write_failures.load());
  counter("switchyard_key_cache_hits_total", "Virtual key lookups answered from the cache.",
          stats_.key_cache_hits.load());
  counter("switchyard_key_cache_misses_total", "Virtual key lookups that went to the database.",
          stats_.key_cache_misses.load());
  counter("switchyard_db_unavailable_total", "Request-path database calls that found it down.",
          stats_.db_unavailable.load());
  counter("switchyard_budget_local_only_total",
          "Budget reservations held only in process because the database was down.",
          stats_.budget_local_only.load());
  append_prometheus_family(out, "switchyard_spend_logs_buffered",
                           "Spend log rows waiting to be written.", "gauge");
  append_prometheus_sample(out, "switchyard_spend_logs_buffered", {},
                           static_cast<uint64_t>(buffered_spend_rows()));
}

}  // namespace switchyard::store
