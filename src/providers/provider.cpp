#include "providers/provider.h"

#include <array>
#include <string_view>

namespace switchyard {

ProviderInfo provider_info(const std::string& provider) {
  ProviderInfo info;
  if (provider == "mock") {
    info.kind = ProviderKind::kMock;
    return info;
  }
  if (provider == "openai" || provider == "text-completion-openai") {
    info.kind = ProviderKind::kOpenAICompatible;
    info.default_api_base = "https://api.openai.com/v1";
    info.api_key_env = "OPENAI_API_KEY";
    return info;
  }
  struct Hosted {
    std::string_view name;
    std::string_view base;
    std::string_view key_env;
  };
  // OpenAI-compatible services LiteLLM names by prefix.
  static constexpr std::array<Hosted, 9> kHosted = {{
      {"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"},
      {"together_ai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY"},
      {"fireworks_ai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"},
      {"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"},
      {"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"},
      {"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"},
      {"perplexity", "https://api.perplexity.ai", "PERPLEXITYAI_API_KEY"},
      {"xai", "https://api.x.ai/v1", "XAI_API_KEY"},
      {"deepinfra", "https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"},
  }};
  for (const auto& h : kHosted) {
    if (provider == h.name) {
      info.kind = ProviderKind::kOpenAICompatible;
      info.default_api_base = std::string(h.base);
      info.api_key_env = std::string(h.key_env);
      return info;
    }
  }
  if (provider == "hosted_vllm" || provider == "vllm" || provider == "openai_like" ||
      provider == "lm_studio" || provider == "llamafile" || provider == "custom_openai") {
    info.kind = ProviderKind::kOpenAICompatible;
    info.api_base_required = true;
    return info;
  }
  if (provider == "ollama" || provider == "ollama_chat") {
    info.kind = ProviderKind::kOpenAICompatible;
    info.default_api_base = "http://localhost:11434";
    info.append_v1 = true;
    return info;
  }
  if (provider == "anthropic") {
    info.kind = ProviderKind::kAnthropic;
    info.default_api_base = "https://api.anthropic.com";
    info.api_key_env = "ANTHROPIC_API_KEY";
    info.api_base_env = "ANTHROPIC_API_BASE";
    return info;
  }
  if (provider == "bedrock" || provider == "bedrock_converse") {
    info.kind = ProviderKind::kBedrock;
    return info;
  }
  if (provider == "azure") {
    info.kind = ProviderKind::kAzure;
    info.api_key_env = "AZURE_API_KEY";
    info.api_base_env = "AZURE_API_BASE";
    info.api_version_env = "AZURE_API_VERSION";
    info.api_base_required = true;
    return info;
  }
  static constexpr std::array<std::string_view, 5> kLater = {"azure_ai", "vertex_ai", "gemini",
                                                             "cohere", "sagemaker"};
  for (auto name : kLater) {
    if (provider == name) {
      info.kind = ProviderKind::kNotYetSupported;
      return info;
    }
  }
  return info;
}

}  // namespace switchyard
