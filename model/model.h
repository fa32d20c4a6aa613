// model.h — the Llama-family decoder: configuration, the {name, shape} table of its
// parameters, one allocation per buffer family, and forward/backward orchestration.
//
// Shape vocabulary (used in every shape comment of the project):
//   B batch rows, T sequence length, C model dim, NH query heads, NKV key/value heads,
//   HS head size (C/NH), KV = NKV*HS, H MLP hidden size, V vocabulary, L layers.
// Weights are (out, in), PyTorch order. Stacked per-layer tensors carry a leading L.
// Internal RoPE pair layout: interleaved (element 2j rotates with 2j+1). Hugging Face
// "half" rows are permuted on load/save (see formats.h).
#ifndef STRETCH_MODEL_H
#define STRETCH_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "layers.h"
#include "position.h"

// T5_TABLE_NAME: the checkpoint name of the learned T5 bias table (P_T5).
#define T5_TABLE_NAME "model.relative_attention_bias.weight"

typedef struct {
    int dim;            // C
    int hidden;         // H
    int n_layers;       // L
    int n_heads;        // NH
    int n_kv_heads;     // NKV (<= NH, divides NH)
    int vocab;          // V
    int max_seq_len;    // pretraining context recorded by the checkpoint (0 = unknown)
    float norm_eps;     // RMSNorm epsilon
    float rope_theta;   // RoPE base b
    int tied;           // 1: lm_head shares the token embedding
    int t5_buckets;     // NB of the learned T5 bias table; 0 = no table
} ModelConfig;

enum {
    P_EMBED, P_ATTN_NORM, P_WQ, P_WK, P_WV, P_WO, P_MLP_NORM, P_WGATE, P_WUP, P_WDOWN,
    P_FINAL_NORM, P_LM_HEAD, P_T5, NUM_PARAMS
};

// ParamTensors: views into one allocation, walked from param_specs().
typedef union {
    struct {
        float *embed;       // (V, C)
        float *attn_norm;   // (L, C)
        float *wq;          // (L, C, C)     q_proj
        float *wk;          // (L, KV, C)    k_proj
        float *wv;          // (L, KV, C)    v_proj
        float *wo;          // (L, C, C)     o_proj
        float *mlp_norm;    // (L, C)
        float *wgate;       // (L, H, C)     gate_proj (llama2.c w1)
        float *wup;         // (L, H, C)     up_proj   (llama2.c w3)
        float *wdown;       // (L, C, H)     down_proj (llama2.c w2)
        float *final_norm;  // (C)
        float *lm_head;     // (V, C); NULL when tied
        float *t5_table;    // (NB, NH) relative_attention_bias, shared by all layers; NULL unless t5
    };
    float *t[NUM_PARAMS];
} ParamTensors;
_Static_assert(sizeof(ParamTensors) == NUM_PARAMS * sizeof(float *), "a view per P_* parameter, in enum order");

// TensorSpec: one row of the parameter table. `name` is the Hugging Face name, with
// "%d" for the layer index when per_layer; shape excludes the stacked L dimension.
typedef struct {
    const char *name;
    int per_layer;
    int ndim;
    size_t shape[2];
    int decay;          // 1: AdamW weight decay applies (matrices), 0: norm gains
    int rope_rows;      // heads whose rows are permuted between pair layouts (q: NH, k: NKV)
} TensorSpec;

// param_specs: fill specs[NUM_PARAMS]; absent tensors (a tied model's P_LM_HEAD, P_T5
// without a T5 bias) have shape {0, 0}.
void param_specs(const ModelConfig *c, TensorSpec specs[NUM_PARAMS]);
size_t spec_numel(const TensorSpec *s, int n_layers);   // elements incl. the L stack
size_t model_num_params(const ModelConfig *c);
// model_config_check: dies with `source` in the message if the shape is impossible.
void model_config_check(const ModelConfig *c, const char *source);

enum { A_RESID, A_RSTD1, A_XN1, A_Q, A_K, A_V, A_ATT, A_LSE, A_RESID_MID, A_RSTD2, A_XN2,
       A_HGATE, A_HUP, A_HACT, A_XOUT, A_RSTDF, A_XNF, A_LOGITS, A_LOSSES,
       A_DRESID, A_DXN, A_DQ, A_DK, A_DV, A_DQR, A_DKR, A_DATT, A_DHGATE, A_DHUP,
       A_DHACT, A_DELTA, A_APART, NUM_ACTS };

// Activations: views for the current (B, T), walked from acts_specs(); one allocation
// sized for the largest B*T the model was prepared for.
typedef union {
    struct {
        float *resid;      // (L, B, T, C)  input of each layer
        float *rstd1;      // (L, B, T)       from here to hact L = 1 unless ACTS_ALL (att
                           //                 and lse: L = 1 in ACTS_INPUTS and ACTS_FORWARD)
        float *xn1;        // (L, B, T, C)
        float *q;          // (L, B, T, NH, HS)   after RoPE
        float *k;          // (L, B, T, NKV, HS)  after RoPE
        float *v;          // (L, B, T, NKV, HS)
        float *att;        // (L, B, T, NH, HS)   attention output before o_proj
        float *lse;        // (L, B, NH, T)       softmax log-sum-exp per query row
        float *resid_mid;  // (L, B, T, C)
        float *rstd2;      // (L, B, T)
        float *xn2;        // (L, B, T, C)
        float *hgate;      // (L, B, T, H)
        float *hup;        // (L, B, T, H)
        float *hact;       // (L, B, T, H)    silu(hgate) * hup
        float *xout;       // (B, T, C)       output of the last layer
        float *rstdf;      // (B, T)
        float *xnf;        // (B, T, C)
        float *logits;     // (chunk, V)      LM-head scratch: chunk = logits_chunk(B*T, V, mode) rows
        float *losses;     // (B, T)
        float *dresid;     // (B, T, C)       backward scratch from here on
        float *dxn;        // (B, T, C)       also the forward's scratch for the o and down projections
        float *dq;         // (B, T, C)       dq .. datt: attention's backward scratch; the
                           //                 MLP's (dhgate .. dhact) shares their memory
        float *dk;         // (B, T, KV)
        float *dv;         // (B, T, KV)
        float *dqr;        // (B, T, C)       grad wrt q after RoPE
        float *dkr;        // (B, T, KV)
        float *datt;       // (B, T, C)
        float *dhgate;     // (B, T, H)
        float *dhup;       // (B, T, H)
        float *dhact;      // (B, T, H)
        float *delta;      // (B, NH, T)      attention backward scratch
        float *apart;      // AttnScratch.part: packed operands, t5 sums, per-thread dq partials (attention_part_floats)
    };
    float *t[NUM_ACTS];
} Activations;
_Static_assert(sizeof(Activations) == NUM_ACTS * sizeof(float *), "a view per A_* activation, in enum order");

// PosIds: where each token of a (B, T) batch sits (positions as data).
//   pos (B, T): its position id: >= 0, never decreasing within a document, may skip (PoSE);
//               NULL = 0 .. T-1 in every row.
//   doc (B, T): the row index of the first token of its document: doc[0] = 0, and
//               doc[t] = t (a document starts) or doc[t - 1]; query t attends only to keys
//               s with doc[t] <= s <= t; NULL = one document per row (plain causal).
// RoPE rotates token t by pos[t] * theta_i; ALiBi and T5 read the distance pos_t - pos_s;
// dynamic NTK and LongRoPE choose their tables from the batch's largest id + 1, as
// transformers does from max(position_ids) + 1. Contiguous ids (NULL) are today's path.
//   ring: 0 = each row is a whole sequence; 1 = the T rows are this rank's two zigzag
//         chunks of sequences of P*T rows split over its context-parallel ring (layers.h:
//         ring_row gives each row's sequence row; doc holds sequence rows; pos is needed);
//         attention runs over the ring, and the largest id is the ring's.
typedef struct {
    const int *pos;
    const int *doc;
    int ring;
} PosIds;

typedef struct {
    ModelConfig cfg;
    ParamTensors params;
    float *params_memory;
    size_t num_params;
    ParamTensors grads;
    float *grads_memory;       // NULL until model_prepare()
    Activations acts;
    float *acts_memory;
    size_t acts_capacity;      // floats in acts_memory
    size_t apart_floats;       // floats of the apart view: to the end of acts_memory
    int max_T;                 // the longest sequence reserved (model_reserve, model_reserve_cache)
    size_t max_BT;             // the most tokens of one reserved forward
    int attn_threads;          // the threads the attention backward's scratch is sized for
                               // (OpenMP's at the first model_reserve, at most 8: each
                               // one past the first holds a (B, T, NH/NKV, HS) dq partial)
    int max_P;                 // position ids < max_P (model_reserve_positions; at least max_T)
    Position pos;              // how positions enter attention (plain RoPE by default)
    float *rope_cos;           // (max_P, HS/2) row p: position id p
    float *rope_sin;           // (max_P, HS/2)
    int rope_T;                // the length L the tables were built for (dynamic and longrope
                               // rebuild them when a forward's largest id + 1 differs)
    float *alibi;              // (NH) slopes
    int *t5_bucket;            // (max_P) bucket of each distance
    int *ids_memory;           // pos (max_BT), doc (max_BT): a forward's ids, materialised
    int *kv_pos;               // (kv_T) position ids of the cached keys
    float *kv_memory;          // (2, L, kv_T, KV) key/value cache of one sequence (keys of all
                               // layers, then values); NULL unless model_reserve_cache
    int kv_T;                  // its capacity in positions
    float *ring_memory;        // RingBuffers (layers.h) of ring_BT tokens; NULL unless
    int *ring_pos;             // model_reserve_ring
    size_t ring_BT;
    RingBuffers ring;          // views into ring_memory, ring_pos
} Model;

// model_first_nonfinite: the first NaN or inf among elements [lo, hi) of memory, a buffer
// laid out as the parameters (params_memory, grads_memory, a moment): 1 with its tensor's
// name (layer filled in) in name[cap] and the value in *v; 0 when all are finite.
int model_first_nonfinite(const Model *m, const float *memory, size_t lo, size_t hi, char *name, size_t cap,
                          float *v);

// model_init: allocate (zeroed) parameters for `c`; dies if the shape is impossible.
void model_init(Model *m, const ModelConfig *c, const char *source);
// model_views: views laid out like m's parameters over `base`, another buffer of
// num_params floats (gradients, optimizer moments, a converted copy); NULL where a
// parameter is absent.
void model_views(const Model *m, float *base, ParamTensors *out);
// model_resolve_position: position_resolve for a model of shape c: its head size, RoPE
// base and recorded pretraining context.
void model_resolve_position(const ModelConfig *c, Position *p);
// model_set_position: switch the position scheme (before model_prepare). A T5 bias
// appends its (NB, NH) table to the parameters, initialised by p->t5_init_alibi.
void model_set_position(Model *m, const Position *p);
// ActsMode: the activations a pass keeps, and so what model_reserve sizes for:
//   ACTS_ALL        every layer's (a training step without recompute);
//   ACTS_RECOMPUTE  each layer's input, attention output and log-sum-exp, and one layer
//                   slot of the rest, refilled in backward without re-running attention
//                   (a training step with train.recompute: true);
//   ACTS_INPUTS     each layer's input and one layer slot of the rest, refilled in
//                   backward by re-running the layer, attention included (a training
//                   step with train.recompute: full: the least memory);
//   ACTS_FORWARD    one layer slot (forward-only passes: evals, tasks, sampling).
typedef enum { ACTS_ALL, ACTS_RECOMPUTE, ACTS_INPUTS, ACTS_FORWARD } ActsMode;

// LOGITS_CHUNK_FLOATS: the LM head and loss run over chunks of rows of at most this many
// logits (16 MiB), so memory does not grow with T * V; LOGITS_CHUNK_FLOATS_ALL (128 MiB)
// in a pass that keeps every activation (ACTS_ALL: short sequences, memory not the
// constraint), where the head's GEMMs over more rows run faster (OpenBLAS, 2 threads,
// forward + backward of (rows, 288) x (288, 32000): 150 GFLOP/s at 131 rows, 223 at 1048).
#define LOGITS_CHUNK_FLOATS ((size_t)1 << 22)
#define LOGITS_CHUNK_FLOATS_ALL ((size_t)1 << 25)
size_t logits_chunk(size_t rows, int V, ActsMode mode);

// model_reserve: make the coming model_prepare size activations for a (B, T) pass in
// `mode` too (a run's stages, and its evals).
void model_reserve(Model *m, int B, int T, ActsMode mode);
// model_reserve_positions: make the coming model_prepare build RoPE tables and T5 buckets
// for position ids up to P - 1 (PoSE; without it, ids stay below the longest T reserved).
void model_reserve_positions(Model *m, int P);
// model_reserve_cache: make the coming model_prepare allocate a key/value cache for one
// sequence of up to T positions (model_forward_cached), and size for its (1, T) forward.
void model_reserve_cache(Model *m, int T);
// model_reserve_ring: make the coming model_prepare allocate the buffers of ring passes
// (PosIds.ring) of (B, T) local rows (and size activations for them in `mode`).
void model_reserve_ring(Model *m, int B, int T, ActsMode mode);
// model_prepare: allocate grads, activations and RoPE tables once, for every shape
// reserved before (at least one).
void model_prepare(Model *m);
// model_set_rope: switch the RoPE settings after model_prepare (a curriculum stage);
// rope on/off and the bias must stay as they were.
void model_set_rope(Model *m, const Position *p);
void model_free(Model *m);
// model_forward: inputs, targets (B, T) token ids; targets may be NULL (no loss); ids
// their positions and documents (NULL: contiguous, one document per row).
// Returns the mean loss (NAN without targets); per-token losses in m->acts.losses.
// Forward only: one layer slot of activations (reserve (B, T) in ACTS_FORWARD).
float model_forward(Model *m, const int *inputs, const int *targets, const PosIds *ids, int B, int T);
// model_forward_cached: the forward of one sequence's tokens at rows [t0, t0 + n),
// whose queries attend to the keys/values of rows [0, t0) cached by earlier calls (the
// same sequence) and to their own, which they cache. ids (n each, may be NULL: position
// id = row, one document): the rows' position ids and document starts (row indices of
// the whole sequence). `total` is the sequence's length L = its largest position id + 1
// (the rows' count for contiguous ids): RoPE tables that depend on it — dynamic NTK,
// LongRoPE — use it, as if the whole sequence ran in one forward.
// Per-token losses in m->acts.losses; returns their mean. Scoring n continuations of one
// prompt costs one prompt forward, not n.
float model_forward_cached(Model *m, const int *inputs, const int *targets, const PosIds *ids, int n, int t0,
                           int total);
// model_row_logits: out (V) = the LM head's logits for row `row` of the last forward
// (its final normed hidden state): what sampling needs after a cached forward.
void model_row_logits(const Model *m, size_t row, float *out);
// model_forward_backward: one training micro-step: the forward, then accumulates (+=)
// d(loss_scale * mean loss)/dparams into m->grads; returns the mean loss. The LM head's
// logits are computed once, for the loss and its gradient together. mode: ACTS_ALL,
// or ACTS_RECOMPUTE or ACTS_INPUTS to recompute what the pass does not keep in the
// backward (same results, bit for bit); reserve (B, T) in that mode.
float model_forward_backward(Model *m, const int *inputs, const int *targets, const PosIds *ids, int B, int T,
                             float loss_scale, ActsMode mode);
void model_zero_grad(Model *m);
// model_flops_per_token: the FLOPs of one training token at sequence length T (forward +
// backward = 3x forward): 6 N_matmul + 3 L (4 C (T + 1) / 2), N_matmul counting the LM
// head, and (T + 1) / 2 keys per causal query for QK^T and PV.
double model_flops_per_token(const ModelConfig *c, int T);
// model_attention_flops_per_token: its attention part, 3 L (4 C (T + 1) / 2).
double model_attention_flops_per_token(const ModelConfig *c, int T);
// model_init_random: N(0, std) matrices, ones for norm gains (tests, fixtures).
void model_init_random(Model *m, uint64_t seed, float std);

#endif
