/* Chat prompts: the model's chat template applied to one system + user turn,
 * ending with the assistant's generation prompt. presso does not run Jinja;
 * it recognises the ChatML template (<|im_start|>role\\n...<|im_end|>, used by
 * SmolLM2, Qwen and others) from the template text the model ships and
 * refuses any other template clearly. */
#ifndef PRESSO_MODEL_CHAT_H
#define PRESSO_MODEL_CHAT_H

#include <stdint.h>

#include "model/model.h"

/* system may be NULL: the template's default system prompt is used, as
 * transformers' apply_chat_template does. *ids is malloc'd. The control
 * tokens are inserted by id; only the message texts are tokenized. */
presso_status presso_chat_encode(const presso_model *m, const char *system, const char *user, int32_t **ids,
                                 int64_t *n_ids);

/* The token that ends an assistant turn (<|im_end|>), -1 if none. */
int32_t presso_chat_end_token(const presso_model *m);

#endif
