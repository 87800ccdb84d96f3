#pragma once
// The prompt embedding a learned router trained with the `embedding`
// featurizer needs: one /embeddings call to the model group named by
// routing_strategy_args.embedding_model, through the same provider layer and
// upstream pool as client requests (any provider that serves embeddings,
// including mock/). Each worker keeps an LRU cache of recent prompts, so a
// repeated prompt costs no upstream call. One attempt, no retries: on any
// failure the caller routes without the embedding (counted).
#include <string_view>
#include <vector>

#include "core/error.h"
#include "server/worker.h"

namespace switchyard {

awaitable<Result<std::vector<float>>> routing_embedding(Worker& worker, const Snapshot& snapshot,
                                                        const std::string& embedding_group,
                                                        std::string_view text);

}  // namespace switchyard
