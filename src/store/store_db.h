#pragma once
// Typed, synchronous operations on the Switchyard schema. Called only on a
// store DB thread (StoreService) or by the CLI and tests; each call is one
// statement or one short transaction.
#include "store/records.h"
#include "store/sql.h"

namespace switchyard::store {

struct ReserveOutcome {
  bool granted = false;
  bool key_found = true;
  double spend = 0;     // DB spend after the reservation
  double reserved = 0;  // DB reserved after the reservation
};

class StoreDb {
 public:
  explicit StoreDb(SqlConnection& conn) : conn_(conn) {}

  Result<QueryResult> ping();
  Result<int> schema_version();
  Result<bool> insert_key(const KeyRecord& key);  // false: token already exists
  Result<std::optional<KeyRecord>> get_key(const std::string& token);
  // Writes every field except spend/reserved (those change concurrently).
  Result<bool> update_key(const KeyRecord& key, bool write_spend);
  Result<std::vector<std::string>> delete_keys(const std::vector<std::string>& tokens);
  struct KeyPage {
    std::vector<KeyRecord> keys;
    int64_t total = 0;
  };
  Result<KeyPage> list_keys(const std::optional<std::string>& user_id,
                            const std::optional<std::string>& team_id,
                            const std::optional<std::string>& key_alias, int64_t page,
                            int64_t page_size);
  Result<std::optional<std::string>> token_for_alias(const std::string& alias);

  // Deployments kept in the database (store_model_in_db).
  Result<bool> insert_model(const ModelRow& row);          // false: the id exists
  Result<bool> delete_model(const std::string& model_id);  // false: no such id
  Result<std::vector<ModelRow>> list_models();             // ordered by created_at, id

  // Atomic across replicas: granted only if spend + reserved + amount stays
  // within max_budget (keys without a budget always succeed).
  Result<ReserveOutcome> reserve(const std::string& token, double amount);
  // Gives back a reservation that will not be settled by a spend row.
  Result<QueryResult> release(const std::string& token, double amount);

  // Inserts the rows (a row already present is skipped) and, for rows newly
  // inserted only, adds their spend to the key and releases their
  // reservation, all in one transaction. Retrying a batch whose commit
  // outcome was unknown is therefore safe. Returns rows inserted.
  Result<int64_t> write_spend_batch(const std::vector<SpendRecord>& rows);
  Result<std::vector<SpendRecord>> spend_logs(const SpendFilter& filter);
  // Zeroes spend of keys whose budget_duration window ended; returns count.
  Result<int64_t> reset_due_budgets(int64_t now_ms);

 private:
  Result<int64_t> write_spend_batch_sqlite(const std::vector<SpendRecord>& rows);
  Result<int64_t> write_spend_batch_postgres(const std::vector<SpendRecord>& rows);
  SqlConnection& conn_;
};

}  // namespace switchyard::store
