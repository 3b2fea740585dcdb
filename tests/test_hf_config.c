/* config.json parser: the shared tinystories-656k config, transformers'
 * LlamaConfig defaults, and every refusal naming the field and the file. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/hf_config.h"
#include "harness.h"

/* Required fields of a minimal llama config, spliced into each case below. */
#define BASE                                                                                        \
    "\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96, "                  \
    "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100"

static presso_status parse(const char *json, presso_hf_config *cfg) {
    return presso_hf_config_parse(json, strlen(json), "cfg.json", cfg);
}

static void expect_fail_at(int line, const char *json, presso_status want, const char *needle) {
    presso_hf_config cfg;
    presso_status got = parse(json, &cfg);
    const char *msg = presso_last_error();
    CHECK_MSG(got == want && strstr(msg, "cfg.json") && strstr(msg, needle),
              "line %d: %s -> %s \"%s\", want %s with \"%s\"", line, json, presso_status_name(got),
              msg, presso_status_name(want), needle);
}
#define EXPECT_FAIL(json, want, needle) expect_fail_at(__LINE__, (json), (want), (needle))

static void test_real(void) {
    const char *path = PRESSO_SHARED_DIR "/models/tinystories-656k/config.json";
    if (!presso_test_file_exists(path)) { /* the parser cases above still count */
        printf("note: %s not present, real config not checked\n", path);
        return;
    }
    presso_hf_config c;
    CHECK_OK(presso_hf_config_load(path, &c));
    CHECK(strcmp(c.model_type, "llama") == 0);
    CHECK(c.hidden_size == 128);
    CHECK(c.intermediate_size == 384);
    CHECK(c.num_hidden_layers == 2);
    CHECK(c.num_attention_heads == 8);
    CHECK(c.num_key_value_heads == 4);
    CHECK(c.vocab_size == 2048);
    CHECK(c.max_position_embeddings == 512);
    CHECK(c.head_dim == 16);
    CHECK(c.tie_word_embeddings);
    CHECK(c.rope_theta == 10000.0f);
    CHECK(c.rms_norm_eps == 1e-6f);
    CHECK(c.bos_token_id == 1 && c.eos_token_id == 2);
}

static void test_defaults(void) {
    presso_hf_config c;
    CHECK_OK(parse("{" BASE "}", &c));
    CHECK(c.num_key_value_heads == 4); /* = num_attention_heads */
    CHECK(c.head_dim == 16);           /* = hidden / heads */
    CHECK(c.rope_theta == 10000.0f);
    CHECK(c.rms_norm_eps == 1e-6f);
    CHECK(!c.tie_word_embeddings);
    CHECK(c.max_position_embeddings == 2048);
    CHECK(c.bos_token_id == -1 && c.eos_token_id == -1);
    /* null is "unset", as in transformers */
    CHECK_OK(parse("{" BASE ", \"num_key_value_heads\": null, \"rope_scaling\": null, \"head_dim\": null}", &c));
    CHECK(c.num_key_value_heads == 4 && c.head_dim == 16);
    /* explicit values, Llama-3 style eos list, an explicit head_dim, integral floats */
    CHECK_OK(parse("{" BASE ", \"num_key_value_heads\": 1, \"rope_theta\": 500000.0, \"rms_norm_eps\": 1e-5,"
                   " \"tie_word_embeddings\": true, \"bos_token_id\": 0, \"eos_token_id\": [99, 98],"
                   " \"head_dim\": 32, \"hidden_act\": \"silu\", \"attention_bias\": false,"
                   " \"mlp_bias\": false, \"max_position_embeddings\": 8192.0,"
                   " \"architectures\": [\"LlamaForCausalLM\"], \"torch_dtype\": \"bfloat16\"}", &c));
    CHECK(c.num_key_value_heads == 1 && c.rope_theta == 500000.0f && c.rms_norm_eps == 1e-5f);
    CHECK(c.tie_word_embeddings && c.bos_token_id == 0 && c.eos_token_id == 99);
    CHECK(c.head_dim == 32 && c.max_position_embeddings == 8192);
    /* not NUL-terminated: the parser must stop at len */
    const char *json = "{" BASE "}garbage";
    CHECK_OK(presso_hf_config_parse(json, strlen(json) - 7, "cfg.json", &c));
}

static void test_refusals(void) {
    static const char *required[] = {"model_type", "hidden_size", "intermediate_size",
                                     "num_hidden_layers", "num_attention_heads", "vocab_size"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        /* BASE minus one field: rebuild it without the key */
        char json[512] = "{";
        const char *fields[][2] = {{"model_type", "\"llama\""}, {"hidden_size", "64"},
                                   {"intermediate_size", "96"}, {"num_hidden_layers", "2"},
                                   {"num_attention_heads", "4"}, {"vocab_size", "100"}};
        int first = 1;
        for (size_t j = 0; j < 6; j++) {
            if (j == i) continue;
            size_t n = strlen(json);
            snprintf(json + n, sizeof json - n, "%s\"%s\": %s", first ? "" : ", ", fields[j][0], fields[j][1]);
            first = 0;
        }
        strcat(json, "}");
        presso_hf_config c;
        presso_status s = parse(json, &c);
        CHECK_MSG(s == PRESSO_ERR_FORMAT && strstr(presso_last_error(), required[i]) &&
                      strstr(presso_last_error(), "missing") && strstr(presso_last_error(), "cfg.json"),
                  "missing %s: %s", required[i], presso_last_error());
    }
    /* wrong types and ranges */
    EXPECT_FAIL("{" BASE ", \"hidden_size\": \"64\"}", PRESSO_ERR_FORMAT, "twice"); /* duplicate key */
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": \"64\", \"intermediate_size\": 96, "
                "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                PRESSO_ERR_FORMAT, "\"hidden_size\" must be an integer");
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": 64.5, \"intermediate_size\": 96, "
                "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                PRESSO_ERR_FORMAT, "\"hidden_size\" = 64.5");
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 0, "
                "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                PRESSO_ERR_FORMAT, "\"intermediate_size\" = 0");
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96, "
                "\"num_hidden_layers\": -2, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                PRESSO_ERR_FORMAT, "\"num_hidden_layers\" = -2");
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96, "
                "\"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 1e12}",
                PRESSO_ERR_FORMAT, "\"vocab_size\"");
    EXPECT_FAIL("{" BASE ", \"num_key_value_heads\": [2]}", PRESSO_ERR_FORMAT, "\"num_key_value_heads\" must be an integer");
    EXPECT_FAIL("{" BASE ", \"tie_word_embeddings\": 1}", PRESSO_ERR_FORMAT, "\"tie_word_embeddings\" must be true or false");
    EXPECT_FAIL("{" BASE ", \"rope_theta\": \"10000\"}", PRESSO_ERR_FORMAT, "\"rope_theta\" must be a number");
    EXPECT_FAIL("{" BASE ", \"rope_theta\": 0}", PRESSO_ERR_FORMAT, "\"rope_theta\"");
    EXPECT_FAIL("{" BASE ", \"rms_norm_eps\": -1e-6}", PRESSO_ERR_FORMAT, "\"rms_norm_eps\"");
    EXPECT_FAIL("{" BASE ", \"rms_norm_eps\": 1e300}", PRESSO_ERR_FORMAT, "\"rms_norm_eps\""); /* inf as float */
    EXPECT_FAIL("{" BASE ", \"bos_token_id\": 100}", PRESSO_ERR_FORMAT, "\"bos_token_id\"");
    EXPECT_FAIL("{" BASE ", \"eos_token_id\": \"</s>\"}", PRESSO_ERR_FORMAT, "\"eos_token_id\"");
    EXPECT_FAIL("{" BASE ", \"model_type\": 3}", PRESSO_ERR_FORMAT, "twice");
    EXPECT_FAIL("{\"model_type\": 3, \"hidden_size\": 64}", PRESSO_ERR_FORMAT, "\"model_type\" must be a string");
    EXPECT_FAIL("{" BASE ", \"architectures\": \"LlamaForCausalLM\"}", PRESSO_ERR_FORMAT, "\"architectures\"");
    /* shape relations */
    EXPECT_FAIL("{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 96, "
                "\"num_hidden_layers\": 2, \"num_attention_heads\": 5, \"vocab_size\": 100}",
                PRESSO_ERR_FORMAT, "num_attention_heads = 5 does not divide hidden_size = 64");
    EXPECT_FAIL("{" BASE ", \"num_key_value_heads\": 3}", PRESSO_ERR_FORMAT,
                "num_key_value_heads = 3 does not divide num_attention_heads = 4");
    EXPECT_FAIL("{" BASE ", \"num_key_value_heads\": 8}", PRESSO_ERR_FORMAT,
                "num_key_value_heads = 8 does not divide");
    EXPECT_FAIL("{" BASE ", \"head_dim\": 15}", PRESSO_ERR_FORMAT, "head_dim = 15");
    /* other architectures and features */
    EXPECT_FAIL("{\"model_type\": \"qwen2\", \"hidden_size\": 64}", PRESSO_ERR_UNSUPPORTED, "qwen2\" is not supported: it has q/k/v projection biases");
    EXPECT_FAIL("{\"model_type\": \"mistral\"}", PRESSO_ERR_UNSUPPORTED, "sliding-window");
    EXPECT_FAIL("{\"model_type\": \"bert\"}", PRESSO_ERR_UNSUPPORTED, "\"bert\" is not supported");
    EXPECT_FAIL("{" BASE ", \"architectures\": [\"LlamaForSequenceClassification\"]}", PRESSO_ERR_UNSUPPORTED,
                "LlamaForCausalLM");
    EXPECT_FAIL("{" BASE ", \"hidden_act\": \"gelu\"}", PRESSO_ERR_UNSUPPORTED, "hidden_act \"gelu\"");
    EXPECT_FAIL("{" BASE ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}",
                PRESSO_ERR_UNSUPPORTED, "rope_scaling");
    EXPECT_FAIL("{" BASE ", \"attention_bias\": true}", PRESSO_ERR_UNSUPPORTED, "\"attention_bias\" is true");
    EXPECT_FAIL("{" BASE ", \"mlp_bias\": true}", PRESSO_ERR_UNSUPPORTED, "\"mlp_bias\" is true");
    EXPECT_FAIL("{" BASE ", \"mlp_bias\": \"no\"}", PRESSO_ERR_FORMAT, "\"mlp_bias\" must be true or false");
    /* not JSON */
    EXPECT_FAIL("", PRESSO_ERR_FORMAT, "not valid JSON");
    EXPECT_FAIL("{" BASE, PRESSO_ERR_FORMAT, "not valid JSON");
    EXPECT_FAIL("[1]", PRESSO_ERR_FORMAT, "not a JSON object");
    EXPECT_FAIL("{" BASE "} {}", PRESSO_ERR_FORMAT, "not valid JSON");
    {
        const char json[] = "{" BASE "}\0junk";
        presso_hf_config c;
        presso_status s = presso_hf_config_parse(json, sizeof json - 1, "cfg.json", &c);
        CHECK(s == PRESSO_ERR_FORMAT && strstr(presso_last_error(), "NUL byte"));
        const char padded[] = "{" BASE "}\0\0";
        s = presso_hf_config_parse(padded, sizeof padded - 1, "cfg.json", &c);
        CHECK(s == PRESSO_ERR_FORMAT && strstr(presso_last_error(), "NUL byte"));
    }
    {
        /* over the size cap: refused before parsing */
        size_t n = 16 * 1024 * 1024 + 1;
        char *big = malloc(n);
        memset(big, ' ', n);
        presso_hf_config c;
        CHECK(presso_hf_config_parse(big, n, "cfg.json", &c) == PRESSO_ERR_FORMAT);
        CHECK(strstr(presso_last_error(), "16 MiB") != NULL);
        free(big);
    }
}

static void test_files(void) {
    presso_hf_config c;
    CHECK(presso_hf_config_load("/nonexistent/config.json", &c) == PRESSO_ERR_IO);
    CHECK(strstr(presso_last_error(), "/nonexistent/config.json") != NULL);
    char path[] = "/tmp/presso_test_cfg_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *json = "{\"model_type\": \"llama\", \"hidden_size\": 64}";
    CHECK(write(fd, json, strlen(json)) == (ssize_t)strlen(json));
    close(fd);
    CHECK(presso_hf_config_load(path, &c) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), path) && strstr(presso_last_error(), "intermediate_size"));
    /* empty file */
    CHECK(truncate(path, 0) == 0);
    CHECK(presso_hf_config_load(path, &c) == PRESSO_ERR_FORMAT);
    CHECK(strstr(presso_last_error(), path) != NULL);
    unlink(path);
}

int main(void) {
    test_defaults();
    test_refusals();
    test_files();
    test_real();
    return presso_test_finish();
}
