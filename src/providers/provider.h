#pragma once
// Provider families and what this build can do with each. Adding a provider
// means adding a kind here and a request builder beside openai_compatible.
#include <string>

namespace switchyard {

enum class ProviderKind {
  kOpenAICompatible,  // openai, hosted_vllm, vllm, ollama(_chat), groq, ... via api_base
  kAzure,             // Azure OpenAI: deployment URLs, api-version, api-key header
  kAnthropic,         // Anthropic Messages API, translated to and from OpenAI
  kBedrock,           // AWS Bedrock Converse API, SigV4-signed
  kMock,              // built-in deterministic replies (offline quickstart, tests)
  kNotYetSupported,   // known LiteLLM provider whose translation is not built yet
  kUnknown,
};

struct ProviderInfo {
  ProviderKind kind = ProviderKind::kUnknown;
  std::string default_api_base;  // used when api_base is not set
  std::string api_key_env;       // env var LiteLLM reads when api_key is not set
  bool api_base_required = false;
  bool append_v1 = false;  // Ollama serves its OpenAI API under /v1
  std::string api_base_env;     // env var for api_base when the config sets none
  std::string api_version_env;  // env var for api_version (Azure)
};

ProviderInfo provider_info(const std::string& provider);

}  // namespace switchyard
