/*
 * model.h — the one small interface between the engine and a model family.
 *
 * A model family is one file (or folder) in models/ that defines a
 * `const cx_model cx_model_<name>` and is listed in models/registry.c.
 * It declares the config keys it takes, checks a job without touching the
 * data (`cxfit check`), and fits from the view the engine hands it.  The
 * engine parses the keys every job shares (where, by, missing, weights,
 * seed, bootstrap, validate, level, file, table) and knows nothing else
 * about any model.
 *
 * `by`: the engine gives the model a view whose groups are the `by` levels.
 * A model that sets `fits_all_levels` fits every level from one pass and
 * fills results[0..n_levels-1]; otherwise the engine calls `fit` once per
 * level with a view restricted to that level and n_levels == 1.  Either
 * way the engine then prefixes every table with the `by` columns and
 * concatenates the levels into the job's one result.
 *
 * What a model can honour of the shared keys it declares in `supports`
 * (cx_feature bits); `cxfit check` refuses every other use of them with the
 * key named, so nothing is ever silently ignored.  Models that fit from
 * sufficient statistics get them from one streaming pass (reducer.h): a
 * pass serves every `by` level, group, fold and bootstrap replicate.
 */
#ifndef CX_MODEL_H
#define CX_MODEL_H

#include "config.h"
#include "result.h"
#include "stats.h"
#include "view.h"

typedef enum cx_validate_kind {
    CX_VALIDATE_NONE = 0,
    CX_VALIDATE_KFOLD,
    CX_VALIDATE_HOLDOUT
} cx_validate_kind;

/* Shared keys a model can honour (cx_model.supports). */
typedef enum cx_feature {
    CX_SUPPORTS_WEIGHTS = 1u << 0,   /* `weights`                        */
    CX_SUPPORTS_BY = 1u << 1,        /* `by`                             */
    CX_SUPPORTS_PAIRWISE = 1u << 2,  /* `missing = pairwise`             */
    CX_SUPPORTS_FIML = 1u << 3,      /* `missing = fiml`                 */
    CX_SUPPORTS_BOOTSTRAP = 1u << 4, /* `bootstrap`, `bootstrap_cluster` */
    CX_SUPPORTS_VALIDATE = 1u << 5,  /* `validate`                       */
} cx_feature;

typedef struct cx_job {
    const char *name;
    const cx_config *config;
    const cx_config_section *section; /* the job's keys: use cx_section_get */
    cx_view *view;                    /* the rows to fit (filtered, grouped) */
    int weight_col;                   /* -1 = unweighted                    */
    cx_missing_mode missing;          /* listwise | pairwise                */
    int missing_fiml;                 /* `missing = fiml` was asked for     */
    unsigned long seed;               /* `seed` (default 1)                 */
    long bootstrap;                   /* B, 0 = none                        */
    int bootstrap_cluster;            /* column whose units are resampled,
                                         -1 = rows                          */
    double level;                     /* confidence level, default 0.95     */
    cx_validate_kind validate;
    long kfold;               /* K for kfold                        */
    const cx_filter *holdout; /* rows of the holdout set            */
    int threads;              /* OpenMP threads the job may use     */
    /* The result of the earlier job the model's `input_key` names (NULL
     * during `cxfit check` and for models without one), and its model. */
    const cx_result *input;
    const char *input_model;
    int progress;             /* may draw a progress line (progress.h) */
} cx_job;

typedef struct cx_model {
    const char *name;        /* the `model =` value                         */
    const char *summary;     /* one line for --help                         */
    const char *const *keys; /* model-specific keys, NULL-terminated        */
    int fits_all_levels;     /* see header comment                          */
    unsigned supports;       /* cx_feature bits                             */
    /* A model key naming an earlier job of the config whose result `fit`
     * reads through job->input (e.g. reliability's `cfa_job`); the engine
     * runs this job after that one.  NULL: none. */
    const char *input_key;
    /* Validate keys and columns without reading rows.  Errors through
     * cx_config_error() so they name file, line and key. */
    int (*check)(const cx_job *job, cx_error *err);
    /* Fit; fill results[0..n-1] (n = view->n_levels when fits_all_levels,
     * else 1).  Return CX_OK, or an error code with `err` set: the job is
     * then recorded as failed.  Non-convergence and warnings are reported
     * through cx_result_set_status / cx_result_add_warning instead. */
    int (*fit)(const cx_job *job, cx_result **results, cx_error *err);
} cx_model;

/* models/registry.c */
const cx_model *cx_model_find(const char *name);
const cx_model *const *cx_model_all(size_t *n);

/* Helpers for models (engine/job.c). */
/* Resolve the words of key `key` to column indices of the job's table;
 * errors name the key, line and missing column. */
int cx_job_columns(const cx_job *job, const char *key, int **cols, size_t *n, cx_error *err);
/* Located error for one of the job's keys (wraps cx_config_error). */
int cx_job_error(const cx_job *job, const char *key, cx_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
