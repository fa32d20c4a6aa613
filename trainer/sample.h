// sample.h — `train sample` (sample.c): in-domain text sampled from a model, as a token
// shard (e.g. more training text for a small model than the real corpus holds); and
// `train score`: the model's log-probability of each next token of a window.
#ifndef STRETCH_SAMPLE_H
#define STRETCH_SAMPLE_H

#include <stdint.h>
#include "../model/model.h"
#include "../util/util.h"

// sample_pick: a token from logits (V): the most likely (the lowest id on a tie) when
// temperature is 0, else drawn from softmax(logits / temperature) with r.
int sample_pick(const float *logits, int V, double temperature, Rng *r);
// sample_document: one document from the model (its cache reserved for max_len rows):
// the document token `open` (the tokenizer's BOS), then tokens drawn one at a time through
// the cached forward until the model starts a new document (`open` again, as llama2.c's
// stories end) or the document holds max_len tokens; into out (max_len), returning its
// length. logits: (V) scratch.
int sample_document(Model *m, int max_len, double temperature, Rng *r, float *logits, int open, int *out);
// sample_main: `train sample --model SRC --out FILE --tokens N [--temperature X]
// [--seed S] [--max-len L] [--tokenizer TOK] [--threads K]`.
int sample_main(int argc, char **argv);
// score_main: `train score --model SRC --data SHARD --tokens N [--offset K] [--threads K]`:
// "i input target logp" per target of one window, then the mean NLL.
int score_main(int argc, char **argv);

#endif
