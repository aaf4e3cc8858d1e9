//! One vocabulary for model providers. Emitters disagree on the name of the same provider
//! (OpenInference `xai`, OpenLLMetry `az.ai.openai` or `OpenAI`, Vercel AI SDK `openai.chat`,
//! GenAI `x_ai`); [`canonical`] maps them to the GenAI well-known values.

/// The GenAI `gen_ai.provider.name` well-known values.
const WELL_KNOWN: &[&str] = &[
    "openai",
    "anthropic",
    "aws.bedrock",
    "azure.ai.openai",
    "azure.ai.inference",
    "gcp.gemini",
    "gcp.vertex_ai",
    "gcp.gen_ai",
    "cohere",
    "deepseek",
    "groq",
    "ibm.watsonx.ai",
    "mistral_ai",
    "moonshot_ai",
    "perplexity",
    "x_ai",
];

/// The GenAI name for a provider value, whatever convention wrote it. Values that name no known
/// provider come back lower-cased and otherwise as they were.
pub fn canonical(raw: &str) -> String {
    let value = raw.trim().to_lowercase();
    if WELL_KNOWN.contains(&value.as_str()) {
        return value;
    }
    if let Some(name) = alias(&value) {
        return name.to_string();
    }
    // Vercel AI SDK ids are `<provider>.<api>` (`openai.chat`, `google.vertex.chat`). Names in
    // the GenAI namespaces (`aws.sagemaker`, `azure.ai.<new>`) are other providers, not APIs.
    if value.starts_with("google.vertex") {
        return "gcp.vertex_ai".into();
    }
    let namespaced = ["aws.", "gcp.", "ibm.", "az.", "azure.ai."]
        .iter()
        .any(|ns| value.starts_with(ns));
    let head = value
        .split_once('.')
        .map(|(head, _)| head)
        .filter(|_| !namespaced);
    match head.and_then(alias) {
        Some(name) => name.to_string(),
        None => value,
    }
}

/// Other spellings of the well-known providers, lower case.
fn alias(value: &str) -> Option<&'static str> {
    Some(match value {
        "openai" => "openai",
        "anthropic" => "anthropic",
        "aws" | "amazon" | "bedrock" | "amazon-bedrock" | "amazon_bedrock" | "aws_bedrock" => {
            "aws.bedrock"
        }
        "azure" | "azure-openai" | "azure_openai" | "azureopenai" | "az.ai.openai" => {
            "azure.ai.openai"
        }
        "az.ai.inference" | "azure-ai-inference" | "azure_ai_inference" => "azure.ai.inference",
        "gemini"
        | "google.generative-ai"
        | "google-genai"
        | "google_genai"
        | "google_generativeai" => "gcp.gemini",
        "vertexai" | "vertex_ai" | "vertex" | "google-vertex" | "google_vertex" => "gcp.vertex_ai",
        // OpenInference's `llm.provider=google` does not say which Google API.
        "google" => "gcp.gen_ai",
        "cohere" => "cohere",
        "deepseek" => "deepseek",
        "groq" => "groq",
        "watsonx" | "ibm" | "ibm_watsonx" | "ibm-watsonx" | "watsonx.ai" | "ibm_watsonx_ai" => {
            "ibm.watsonx.ai"
        }
        "mistral" | "mistralai" | "mistral-ai" => "mistral_ai",
        "moonshot" | "moonshotai" | "moonshot-ai" => "moonshot_ai",
        "perplexity" | "perplexityai" => "perplexity",
        "xai" | "x-ai" => "x_ai",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_values_are_kept() {
        for v in WELL_KNOWN {
            assert_eq!(canonical(v), *v);
        }
        assert_eq!(canonical("  Azure.AI.OpenAI "), "azure.ai.openai");
    }

    #[test]
    fn openinference_values() {
        for (raw, want) in [
            ("openai", "openai"),
            ("anthropic", "anthropic"),
            ("xai", "x_ai"),
            ("mistralai", "mistral_ai"),
            ("google", "gcp.gen_ai"),
            ("vertexai", "gcp.vertex_ai"),
            ("amazon", "aws.bedrock"),
            ("aws", "aws.bedrock"),
            ("azure", "azure.ai.openai"),
            ("cohere", "cohere"),
            ("deepseek", "deepseek"),
            ("groq", "groq"),
            ("perplexity", "perplexity"),
            ("moonshotai", "moonshot_ai"),
        ] {
            assert_eq!(canonical(raw), want, "{raw}");
        }
    }

    #[test]
    fn openllmetry_values_old_and_new() {
        for (raw, want) in [
            ("OpenAI", "openai"),
            ("Anthropic", "anthropic"),
            ("Azure", "azure.ai.openai"),
            ("AWS", "aws.bedrock"),
            ("az.ai.openai", "azure.ai.openai"),
            ("az.ai.inference", "azure.ai.inference"),
            ("MistralAI", "mistral_ai"),
            ("Gemini", "gcp.gemini"),
            ("VertexAI", "gcp.vertex_ai"),
            ("Watsonx", "ibm.watsonx.ai"),
            ("gcp.gen_ai", "gcp.gen_ai"),
        ] {
            assert_eq!(canonical(raw), want, "{raw}");
        }
    }

    #[test]
    fn vercel_ai_sdk_provider_ids() {
        for (raw, want) in [
            ("openai.chat", "openai"),
            ("openai.responses", "openai"),
            ("anthropic.messages", "anthropic"),
            ("google.generative-ai", "gcp.gemini"),
            ("google.vertex.chat", "gcp.vertex_ai"),
            ("google.vertex.anthropic.messages", "gcp.vertex_ai"),
            ("vertex.anthropic.messages", "gcp.vertex_ai"),
            ("amazon-bedrock", "aws.bedrock"),
            ("azure-openai", "azure.ai.openai"),
            ("azure.chat", "azure.ai.openai"),
            ("mistral.chat", "mistral_ai"),
            ("xai.chat", "x_ai"),
            ("groq.chat", "groq"),
            ("deepseek.chat", "deepseek"),
        ] {
            assert_eq!(canonical(raw), want, "{raw}");
        }
    }

    #[test]
    fn unknown_values_are_lower_cased_and_kept() {
        assert_eq!(canonical("Ollama"), "ollama");
        assert_eq!(canonical("togetherai.chat"), "togetherai.chat");
        assert_eq!(canonical("openai_agents"), "openai_agents");
        assert_eq!(canonical("LangChain"), "langchain");
        // Other providers in the GenAI namespaces are not read as `<provider>.<api>`.
        assert_eq!(canonical("aws.sagemaker"), "aws.sagemaker");
        assert_eq!(canonical("azure.ai.foundry"), "azure.ai.foundry");
        assert_eq!(canonical(""), "");
    }
}
