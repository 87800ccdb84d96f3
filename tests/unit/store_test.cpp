// The store suite, run against both back ends: SQLite (a temp file) and a
// real PostgreSQL cluster the fixture starts itself (see pg_cluster.h).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "pg_cluster.h"
#include "store/migrations.h"
#include "store/store_db.h"
#include "store/store_service.h"

using namespace switchyard;
using namespace switchyard::store;

namespace {

// Started on first use only: ctest runs every test in its own process, and
// only the PostgreSQL tests should pay for initdb.
struct PgHolder {
  switchyard::testing::PgCluster cluster;
  bool ok = false;
  ~PgHolder() { cluster.destroy(); }
};

PgHolder& pg_holder() {
  static PgHolder* holder = [] {
    auto* h = new PgHolder;
    h->ok = h->cluster.start();
    if (!h->ok) {
      std::fprintf(stderr,
                   "\n*** PostgreSQL store tests will be SKIPPED: %s ***\n"
                   "*** (scripts/install-deps.sh installs postgresql-15) ***\n\n",
                   h->cluster.error().c_str());
    }
    std::atexit([] { pg_holder().cluster.destroy(); });
    return h;
  }();
  return *holder;
}

std::atomic<int> g_db_counter{0};

// One fresh database per test: its URL (PostgreSQL) or file path (SQLite).
struct Target {
  std::string url;
  std::string sqlite_path;
};

class StoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    const int n = g_db_counter.fetch_add(1);
    if (GetParam() == Dialect::kPostgres) {
      if (!pg_holder().ok) {
        GTEST_SKIP() << "PostgreSQL unavailable: " << pg_holder().cluster.error();
      }
      target_.url = pg_holder().cluster.create_database("t" + std::to_string(::getpid()) + "_" +
                                                        std::to_string(n));
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             ("switchyard-sqlite-" + std::to_string(::getpid()) + "-" + std::to_string(n));
      std::filesystem::remove_all(dir_);
      target_.sqlite_path = (dir_ / "store.db").string();
    }
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<SqlConnection> connect() {
    if (GetParam() == Dialect::kPostgres) return open_postgres(target_.url);
    auto c = open_sqlite(target_.sqlite_path);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return std::move(*c);
  }

  std::unique_ptr<SqlConnection> migrated() {
    auto c = connect();
    auto r = run_migrations(*c);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return c;
  }

  StoreOptions options() const {
    StoreOptions o;
    o.database_url = target_.url;
    o.sqlite_path = target_.sqlite_path;
    return o;
  }

  Target target_;
  std::filesystem::path dir_;
};

KeyRecord make_key(const std::string& token, std::optional<double> budget = std::nullopt) {
  KeyRecord k;
  k.token = token;
  k.key_name = "sk-..." + token.substr(0, 4);
  k.models = {"gpt-a", "gpt-b"};
  k.max_budget = budget;
  k.metadata_json = R"({"team":"x"})";
  k.user_id = "user-1";
  k.created_at_ms = unix_now_ms();
  k.updated_at_ms = k.created_at_ms;
  return k;
}

SpendRecord make_spend(const std::string& id, const std::string& key, double spend,
                       int64_t start_ms, double released = 0) {
  SpendRecord s;
  s.request_id = id;
  s.call_type = "/v1/chat/completions";
  s.api_key = key;
  s.user_id = "user-1";
  s.model = "gpt-a";
  s.model_group = "gpt-a";
  s.model_id = "dep-1";
  s.prompt_tokens = 10;
  s.completion_tokens = 5;
  s.total_tokens = 15;
  s.spend = spend;
  s.reserved_released = released;
  s.status = 200;
  s.start_time_ms = start_ms;
  s.end_time_ms = start_ms + 5;
  return s;
}

TEST_P(StoreTest, MigrationsAreVersionedAndIdempotent) {
  auto c = connect();
  auto before = current_schema_version(*c);
  ASSERT_TRUE(before.ok()) << before.error().message;
  EXPECT_EQ(*before, 0);
  auto first = run_migrations(*c);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->applied.size(), migrations().size());
  EXPECT_EQ(first->to_version, latest_schema_version());
  auto second = run_migrations(*c);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(*current_schema_version(*c), latest_schema_version());
  auto rows = c->exec("SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(sql_int(rows->rows[0][0]), static_cast<int64_t>(migrations().size()));
}

TEST_P(StoreTest, ConcurrentMigrationRunsApplyEachVersionOnce) {
  constexpr int kRunners = 4;
  std::vector<std::unique_ptr<SqlConnection>> conns;
  for (int i = 0; i < kRunners; ++i) conns.push_back(connect());
  std::atomic<int> ok{0};
  std::atomic<size_t> applied{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRunners; ++i) {
    threads.emplace_back([&, i] {
      auto r = run_migrations(*conns[static_cast<size_t>(i)]);
      if (r.ok()) {
        ++ok;
        applied += r->applied.size();
      } else {
        ADD_FAILURE() << r.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kRunners);
  EXPECT_EQ(applied.load(), migrations().size());  // each version applied by exactly one runner
  auto rows = conns[0]->exec("SELECT count(*) FROM schema_migrations");
  EXPECT_EQ(sql_int(rows->rows[0][0]), static_cast<int64_t>(migrations().size()));
}

TEST_P(StoreTest, KeyCrudRoundTripsEveryField) {
  auto c = migrated();
  StoreDb db(*c);
  KeyRecord k = make_key("aaaa1111", 12.5);
  k.key_alias = "alias-1";
  k.team_id = "team-9";
  k.rpm_limit = 60;
  k.tpm_limit = 1000;
  k.expires_ms = 1'900'000'000'000;
  k.budget_duration = "30d";
  k.budget_reset_at_ms = 1'800'000'000'000;
  ASSERT_TRUE(*db.insert_key(k));
  EXPECT_FALSE(*db.insert_key(k)) << "same token twice";
  auto got = db.get_key("aaaa1111");
  ASSERT_TRUE(got.ok() && got->has_value());
  const KeyRecord& g = **got;
  EXPECT_EQ(g.key_alias, "alias-1");
  EXPECT_EQ(g.team_id, "team-9");
  EXPECT_EQ(g.user_id, "user-1");
  EXPECT_EQ(g.models, (std::vector<std::string>{"gpt-a", "gpt-b"}));
  EXPECT_EQ(g.metadata_json, R"({"team":"x"})");
  EXPECT_DOUBLE_EQ(*g.max_budget, 12.5);
  EXPECT_EQ(*g.rpm_limit, 60);
  EXPECT_EQ(*g.tpm_limit, 1000);
  EXPECT_EQ(*g.expires_ms, 1'900'000'000'000);
  EXPECT_EQ(*g.budget_reset_at_ms, 1'800'000'000'000);
  EXPECT_EQ(g.budget_duration, "30d");
  EXPECT_FALSE(g.blocked);
  EXPECT_FALSE((*db.get_key("nope")).has_value());

  KeyRecord changed = g;
  changed.blocked = true;
  changed.models = {"gpt-c"};
  changed.max_budget.reset();
  changed.spend = 99;  // not written without write_spend
  ASSERT_TRUE(*db.update_key(changed, false));
  auto after = **db.get_key("aaaa1111");
  EXPECT_TRUE(after.blocked);
  EXPECT_EQ(after.models, (std::vector<std::string>{"gpt-c"}));
  EXPECT_FALSE(after.max_budget.has_value());
  EXPECT_DOUBLE_EQ(after.spend, 0);

  ASSERT_TRUE(*db.insert_key(make_key("bbbb2222")));
  KeyRecord other = make_key("cccc3333");
  other.user_id = "user-2";
  ASSERT_TRUE(*db.insert_key(other));
  auto all = db.list_keys(std::nullopt, std::nullopt, std::nullopt, 1, 2);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 3);
  EXPECT_EQ(all->keys.size(), 2u);
  auto page2 = db.list_keys(std::nullopt, std::nullopt, std::nullopt, 2, 2);
  EXPECT_EQ(page2->keys.size(), 1u);
  auto user2 = db.list_keys(std::string("user-2"), std::nullopt, std::nullopt, 1, 10);
  ASSERT_EQ(user2->keys.size(), 1u);
  EXPECT_EQ(user2->keys[0].token, "cccc3333");
  EXPECT_EQ(*db.token_for_alias("alias-1"), std::optional<std::string>("aaaa1111"));

  auto deleted = db.delete_keys({"aaaa1111", "missing", "bbbb2222"});
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, (std::vector<std::string>{"aaaa1111", "bbbb2222"}));
  EXPECT_EQ(db.list_keys(std::nullopt, std::nullopt, std::nullopt, 1, 10)->total, 1);
}

// Budget for 50 reservations, 8 connections racing 400 attempts: exactly 50.
TEST_P(StoreTest, ReservationsNeverExceedTheBudgetAcrossConnections) {
  auto c = migrated();
  ASSERT_TRUE(*StoreDb(*c).insert_key(make_key("budget01", 50.0)));
  constexpr int kThreads = 8;
  constexpr int kAttempts = 50;
  std::atomic<int> granted{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto conn = connect();
      StoreDb db(*conn);
      for (int i = 0; i < kAttempts; ++i) {
        auto r = db.reserve("budget01", 1.0);
        if (!r.ok()) {
          ++errors;
        } else if (r->granted) {
          ++granted;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(granted.load(), 50);
  auto key = **StoreDb(*c).get_key("budget01");
  EXPECT_DOUBLE_EQ(key.reserved, 50.0);
  auto missing = StoreDb(*c).reserve("nokey", 1.0);
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->granted);
  EXPECT_FALSE(missing->key_found);
}

// A batch larger than one multi-row INSERT (SQLite writes 64, 32, ... rows
// per statement), part of which the DB already has: only new rows count and
// add spend, whichever statement they fall into.
TEST_P(StoreTest, LargeSpendBatchWithSomeRowsAlreadyWrittenAddsOnlyNewRows) {
  auto c = migrated();
  StoreDb db(*c);
  ASSERT_TRUE(*db.insert_key(make_key("bulk0001", 1000.0)));
  const int64_t t0 = 1'700'000'000'000;
  std::vector<SpendRecord> batch;
  for (int i = 0; i < 150; ++i) {
    std::string id = "bulk-";
    id += std::to_string(i);
    batch.push_back(make_spend(id, i % 3 == 0 ? "" : "bulk0001", 0.25, t0 + i));
  }
  // Every fourth row was written before (a retried batch after a lost commit).
  std::vector<SpendRecord> earlier;
  for (size_t i = 0; i < batch.size(); i += 4) earlier.push_back(batch[i]);
  auto first = db.write_spend_batch(earlier);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, static_cast<int64_t>(earlier.size()));
  double earlier_key_spend = 0;
  for (const auto& row : earlier) earlier_key_spend += row.api_key.empty() ? 0 : row.spend;

  auto all = db.write_spend_batch(batch);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, static_cast<int64_t>(batch.size() - earlier.size()));
  double key_spend = 0;
  for (const auto& row : batch) key_spend += row.api_key.empty() ? 0 : row.spend;
  EXPECT_DOUBLE_EQ((**db.get_key("bulk0001")).spend, key_spend);
  EXPECT_GT(key_spend, earlier_key_spend);
  SpendFilter by_key;
  by_key.api_key = "bulk0001";
  auto logs = db.spend_logs(by_key);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->size(), 100u);  // rows with i % 3 != 0
}

// SQLite tries each chunk as a plain INSERT and re-runs only a chunk that hit
// a duplicate: clean chunks before and after it must count exactly once.
TEST_P(StoreTest, DuplicateInOneChunkLeavesTheOtherChunksCountedOnce) {
  auto c = migrated();
  StoreDb db(*c);
  ASSERT_TRUE(*db.insert_key(make_key("chunky01", 1000.0)));
  const int64_t t0 = 1'700'000'000'000;
  std::vector<SpendRecord> batch;  // 100 rows: chunks of 64, 32 and 4
  for (int i = 0; i < 100; ++i) {
    std::string id = "chunk-";
    id += std::to_string(i);
    batch.push_back(make_spend(id, "chunky01", 0.5, t0 + i));
  }
  ASSERT_EQ(*db.write_spend_batch({batch[70]}), 1);  // falls in the 32-row chunk
  auto all = db.write_spend_batch(batch);
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, 99);
  EXPECT_DOUBLE_EQ((**db.get_key("chunky01")).spend, 50.0);
  SpendFilter by_key;
  by_key.api_key = "chunky01";
  auto logs = db.spend_logs(by_key);
  ASSERT_TRUE(logs.ok());
  EXPECT_EQ(logs->size(), 100u);
}

TEST_P(StoreTest, TypedParametersStoreWhatTextParametersStore) {
  // exec_typed() binds numbers natively on SQLite and formats them as text
  // elsewhere; either way a row must read back exactly as one written with
  // text parameters (the spend writer relies on it).
  auto c = connect();
  ASSERT_TRUE(c->exec_script("CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT, x DOUBLE PRECISION, "
                             "s TEXT, z TEXT)")
                  .ok());
  const double awkward = 0.1 + 0.2;  // not 0.3: needs all 17 digits
  const int64_t big = -9'007'199'254'740'993;
  const std::string text = "it's \"quoted\" \xc3\xa9";
  ASSERT_TRUE(c->exec("INSERT INTO t VALUES ($1, $2, $3, $4, $5)",
                      {std::string("text"), sql_text(big), sql_text(awkward), text, std::nullopt})
                  .ok());
  const std::vector<SqlParam> typed = {sql_param(std::string_view("typed")), sql_param(big),
                                       sql_param(awkward), sql_param(text), SqlParam{}};
  auto inserted = c->exec_typed("INSERT INTO t VALUES ($1, $2, $3, $4, $5)", typed);
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  auto rows = c->exec("SELECT n, x, s, z FROM t ORDER BY id");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows.size(), 2u);
  EXPECT_EQ(rows->rows[0], rows->rows[1]);
  EXPECT_EQ(sql_int(rows->rows[1][0]), big);
  EXPECT_EQ(sql_double(rows->rows[1][1]), awkward);
  EXPECT_EQ(rows->rows[1][2], text);
  EXPECT_FALSE(rows->rows[1][3].has_value());
  // A duplicate key is a constraint error on the typed path too.
  auto duplicate = c->exec_typed("INSERT INTO t VALUES ($1, $2, $3, $4, $5)", typed);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code.value_or(""),
            GetParam() == Dialect::kSqlite ? kDbConstraint : kDbError);
}

TEST_P(StoreTest, SpendBatchIsIdempotentAndSettlesReservations) {
  auto c = migrated();
  StoreDb db(*c);
  ASSERT_TRUE(*db.insert_key(make_key("spender1", 10.0)));
  ASSERT_TRUE(db.reserve("spender1", 3.0)->granted);
  const int64_t t0 = 1'700'000'000'000;
  std::vector<SpendRecord> batch = {make_spend("r1", "spender1", 0.5, t0, 1.0),
                                    make_spend("r2", "spender1", 0.25, t0 + 1000, 2.0),
                                    make_spend("r3", "", 0.125, t0 + 2000)};
  auto first = db.write_spend_batch(batch);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 3);
  // A retried batch (commit outcome unknown) adds nothing twice.
  auto again = db.write_spend_batch(batch);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, 0);
  auto key = **db.get_key("spender1");
  EXPECT_DOUBLE_EQ(key.spend, 0.75);
  EXPECT_DOUBLE_EQ(key.reserved, 0.0);

  SpendFilter by_key;
  by_key.api_key = "spender1";
  auto logs = db.spend_logs(by_key);
  ASSERT_TRUE(logs.ok());
  ASSERT_EQ(logs->size(), 2u);
  EXPECT_EQ((*logs)[0].request_id, "r1");
  EXPECT_EQ((*logs)[0].total_tokens, 15);
  EXPECT_DOUBLE_EQ((*logs)[1].spend, 0.25);
  SpendFilter by_time;
  by_time.start_ms = t0 + 500;
  by_time.end_ms = t0 + 1500;
  auto window = db.spend_logs(by_time);
  ASSERT_EQ(window->size(), 1u);
  EXPECT_EQ((*window)[0].request_id, "r2");
  SpendFilter by_user;
  by_user.user_id = "user-1";
  EXPECT_EQ(db.spend_logs(by_user)->size(), 3u);
}

TEST_P(StoreTest, DueBudgetsResetOnce) {
  auto c = migrated();
  StoreDb db(*c);
  KeyRecord k = make_key("reset001", 5.0);
  k.budget_duration = "1h";
  k.budget_reset_at_ms = 1000;
  ASSERT_TRUE(*db.insert_key(k));
  ASSERT_TRUE(db.write_spend_batch({make_spend("x1", "reset001", 4.0, 10)}).ok());
  EXPECT_EQ(*db.reset_due_budgets(5000), 1);
  EXPECT_EQ(*db.reset_due_budgets(5000), 0);
  auto after = **db.get_key("reset001");
  EXPECT_DOUBLE_EQ(after.spend, 0);
  EXPECT_EQ(*after.budget_reset_at_ms, 5000 + 3600 * 1000);
}

// Through the service, as the gateway uses it: 200 concurrent reservations
// against a budget for 50 on two worker threads.
TEST_P(StoreTest, ServiceHoldsBudgetUnderConcurrencyAndWritesSpend) {
  {
    auto c = migrated();
    ASSERT_TRUE(*StoreDb(*c).insert_key(make_key("svc00001", 50 * 0.0625)));
  }
  auto opened = StoreService::open(options());
  ASSERT_TRUE(opened.ok());
  auto service = *opened;
  // Two single-threaded io_contexts, like two gateway workers. (One
  // io_context run by two threads would let a coroutine resume on another
  // thread, which asio's per-thread frame recycling does not survive with
  // GCC 12: the gateway never does that.)
  asio::io_context io_a{1};
  asio::io_context io_b{1};
  std::atomic<int> granted{0};
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i) {
    asio::io_context& io = i % 2 ? io_b : io_a;
    asio::co_spawn(
        io,
        [&, i]() -> awaitable<void> {
          auto found = co_await service->lookup_key("svc00001");
          if (!found.key) co_return;
          auto r = co_await service->reserve(*found.key, 0.0625);
          if (r.granted) {
            ++granted;
            asio::steady_timer pause(co_await asio::this_coro::executor,
                                     std::chrono::milliseconds(5));
            co_await pause.async_wait(use_nothrow);
            service->settle(
                r, make_spend("req" + std::to_string(i), "svc00001", 0.0625, unix_now_ms()));
          }
          ++done;
        },
        asio::detached);
  }
  std::thread second([&] { io_b.run(); });
  io_a.run();
  second.join();
  EXPECT_EQ(done.load(), 200);
  EXPECT_EQ(granted.load(), 50);
  ASSERT_TRUE(service->flush(std::chrono::seconds(10)));
  auto key = service->run_sync([](StoreDb& db) { return db.get_key("svc00001"); });
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_DOUBLE_EQ((*key)->spend, 50 * 0.0625);
  EXPECT_DOUBLE_EQ((*key)->reserved, 0);
  EXPECT_EQ(service->stats().spend_rows_written.load(), 50u);
  EXPECT_GE(service->stats().key_cache_hits.load() + service->stats().key_cache_misses.load(),
            200u);
  service->shutdown(std::chrono::seconds(5));
}

TEST_P(StoreTest, KeyCacheServesHitsAndSeesChangesAfterTtl) {
  {
    auto c = migrated();
    ASSERT_TRUE(*StoreDb(*c).insert_key(make_key("cache001")));
  }
  auto o = options();
  o.key_cache_ttl = std::chrono::milliseconds(300);
  auto service = *StoreService::open(o);
  auto lookup = [&](const std::string& token) {
    asio::io_context io{1};
    auto result = asio::co_spawn(
        io, [&, token]() -> awaitable<KeyLookup> { co_return co_await service->lookup_key(token); },
        asio::use_future);
    io.run();
    return result.get();
  };
  auto a = lookup("cache001");
  ASSERT_TRUE(a.key);
  EXPECT_FALSE(a.key->blocked);
  EXPECT_EQ(service->stats().key_cache_misses.load(), 1u);
  EXPECT_TRUE(lookup("cache001").key);
  EXPECT_EQ(service->stats().key_cache_hits.load(), 1u);
  EXPECT_FALSE(lookup("unknown1").key);
  EXPECT_FALSE(lookup("unknown1").unavailable);
  // Another "replica" blocks the key directly in the DB.
  {
    auto c = connect();
    ASSERT_TRUE(c->exec("UPDATE switchyard_keys SET blocked = 1 WHERE token = 'cache001'").ok());
  }
  EXPECT_FALSE(lookup("cache001").key->blocked) << "still cached";
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_TRUE(lookup("cache001").key->blocked) << "seen after the TTL";
  service->shutdown(std::chrono::seconds(1));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kPostgres),
                         [](const auto& info) {
                           return info.param == Dialect::kSqlite ? "Sqlite" : "Postgres";
                         });

// PostgreSQL stopped while spend rows arrive: they stay buffered, the key
// stays usable from the cache, and everything is written once it is back.
TEST(StorePostgresOutage, SpendIsBufferedAndFlushedAfterRestart) {
  if (!pg_holder().ok) GTEST_SKIP() << "PostgreSQL unavailable";
  auto& cluster = pg_holder().cluster;
  const std::string url = cluster.create_database("outage" + std::to_string(::getpid()));
  {
    auto c = open_postgres(url);
    ASSERT_TRUE(run_migrations(*c).ok());
    ASSERT_TRUE(*StoreDb(*c).insert_key(make_key("outage01")));
  }
  StoreOptions o;
  o.database_url = url;
  o.spend_flush_interval = std::chrono::milliseconds(50);
  auto service = *StoreService::open(o);
  auto lookup = [&] {
    asio::io_context io{1};
    auto result = asio::co_spawn(
        io, [&]() -> awaitable<KeyLookup> { co_return co_await service->lookup_key("outage01"); },
        asio::use_future);
    io.run();
    return result.get();
  };
  ASSERT_TRUE(lookup().key);
  ASSERT_TRUE(cluster.stop_server());
  const int64_t now = unix_now_ms();
  for (int i = 0; i < 100; ++i) {
    std::string id(1, 'o');
    id += std::to_string(i);
    service->record_spend(make_spend(id, "outage01", 0.01, now + i));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(service->buffered_spend_rows(), 100u);
  EXPECT_GT(service->stats().spend_write_failures.load(), 0u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));  // cache TTL over
  auto during = lookup();
  EXPECT_TRUE(during.key) << "a cached key stays usable while the DB is down";
  ASSERT_TRUE(cluster.start_server());
  ASSERT_TRUE(service->flush(std::chrono::seconds(15)));
  EXPECT_EQ(service->stats().spend_rows_dropped.load(), 0u);
  auto key = service->run_sync([](StoreDb& db) { return db.get_key("outage01"); });
  ASSERT_TRUE(key.ok() && key->has_value()) << (key.ok() ? "" : key.error().message);
  EXPECT_NEAR((*key)->spend, 1.0, 1e-9);
  auto logs = service->run_sync([](StoreDb& db) { return db.spend_logs(SpendFilter{}); });
  EXPECT_EQ(logs->size(), 100u);
  service->shutdown(std::chrono::seconds(1));
}

TEST(StoreRecords, DurationsTimesAndNames) {
  EXPECT_EQ(parse_duration_seconds("30s"), 30);
  EXPECT_EQ(parse_duration_seconds("10m"), 600);
  EXPECT_EQ(parse_duration_seconds("1h"), 3600);
  EXPECT_EQ(parse_duration_seconds("30d"), 30 * 86400);
  EXPECT_EQ(parse_duration_seconds("2w"), 14 * 86400);
  EXPECT_EQ(parse_duration_seconds("1mo"), 30 * 86400);
  EXPECT_FALSE(parse_duration_seconds("h"));
  EXPECT_FALSE(parse_duration_seconds("5x"));
  EXPECT_EQ(iso_time(1'700'000'000'123), "2023-11-14T22:13:20.123000+00:00");
  EXPECT_EQ(parse_time("2023-11-14T22:13:20.123000+00:00"), 1'700'000'000'123);
  bool date_only = false;
  EXPECT_EQ(parse_time("2023-11-14", &date_only), 1'699'920'000'000);
  EXPECT_TRUE(date_only);
  EXPECT_EQ(parse_time("2023-11-14T22:13:20Z"), 1'700'000'000'000);
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time("2023-11-14T22:13:20+02:00"));
  EXPECT_EQ(display_name("sk-abcdefghijklmnop"), "sk-...mnop");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
