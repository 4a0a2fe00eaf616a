/*
 * sem_data.c — see sem_data.h.
 */
#include "sem_data.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/filter_eval.h"
#include "fourth.h"

void sem_owned_free(cx_moments **owned, size_t n)
{
    for (size_t g = 0; owned && g < n; g++) {
        cx_moments_free(owned[g]);
        owned[g] = NULL;
    }
}

static void level_clear(sem_level *v)
{
    sem_owned_free(v->moments, v->n_groups);
    free(v->moments);
    free(v->cell);
    free(v->label);
    free(v->cov);
    free(v->fourth);
    free(v->fourth_first);
    free(v->samples);
    for (size_t g = 0; v->patterns && g < v->n_groups; g++)
        sem_patterns_free(v->patterns[g]);
    free(v->patterns);
    memset(v, 0, sizeof *v);
}

void sem_data_clear(sem_data *d)
{
    for (size_t l = 0; d->levels && l < d->n_levels; l++)
        level_clear(&d->levels[l]);
    free(d->levels);
    free(d->level_of_cell);
    cx_reducer_release(&d->main);
    cx_reducer_release(&d->first);
    cx_reducer_release(&d->boot);
    cx_reducer_release(&d->valid);
    cx_reducer_release(&d->fiml);
    cx_reducer_release(&d->fiml_boot);
    cx_reducer_release(&d->fiml_valid);
    if (d->have_pass)
        cx_view_free(&d->pass);
    memset(d, 0, sizeof *d);
}

/* ---- layout --------------------------------------------------------------- */

/* The pass view: the job's view, or its rows regrouped by (by..., group);
 * and the `by` level of every cell. */
static int prepare_cells(const cx_job *job, int group_col, sem_data *d, cx_error *err)
{
    const cx_view *v = job->view;
    size_t n_by = v->n_group_cols;
    d->n_levels = v->n_levels ? v->n_levels : 1;
    d->view = v;
    d->group_col = group_col;
    if (group_col >= 0) {
        int cols[CX_MAX_GROUP_COLS + 1];
        if (n_by + 1 > CX_MAX_GROUP_COLS)
            return cx_error_set(err, CX_EUSAGE, "at most %d `by` columns with `group`",
                                CX_MAX_GROUP_COLS - 1);
        memcpy(cols, v->group_cols, n_by * sizeof *cols);
        cols[n_by] = group_col;
        d->pass = *v;
        d->pass.level_values = NULL;
        int rc = cx_view_set_groups(&d->pass, cols, n_by + 1, err);
        if (rc != CX_OK)
            return rc;
        d->have_pass = 1;
        d->view = &d->pass;
    }
    d->n_cells = d->view->n_levels ? d->view->n_levels : 1;
    d->level_of_cell = cx_calloc(d->n_cells, sizeof *d->level_of_cell, err);
    if (!d->level_of_cell)
        return CX_ENOMEM;
    if (group_col < 0 || n_by == 0) {
        for (size_t c = 0; c < d->n_cells; c++)
            d->level_of_cell[c] = group_col < 0 ? c : 0;
        return CX_OK;
    }
    /* both lists are sorted: walk the `by` levels along the cells */
    size_t k = d->view->n_group_cols, l = 0;
    for (size_t c = 0; c < d->n_cells; c++) {
        const double *cell = d->view->level_values + c * k;
        while (l < d->n_levels &&
               memcmp(v->level_values + l * n_by, cell, n_by * sizeof(double)) != 0)
            l++;
        if (l == d->n_levels)
            return cx_error_set(err, CX_EFAIL, "group cell %zu matches no `by` level", c);
        d->level_of_cell[c] = l;
    }
    return CX_OK;
}

/* ---- the pass -------------------------------------------------------------- */

/* The pass's columns: the p variables, then the weight, the bootstrap
 * unit and the holdout filter's columns, each where present. */
typedef struct pass_columns {
    int cols[512];
    size_t n;
    long weight_at, cluster_at, holdout_at;
} pass_columns;

static int plan_columns(const cx_job *job, const sem_data_request *rq, pass_columns *pc,
                        cx_error *err)
{
    size_t nf = job->validate == CX_VALIDATE_HOLDOUT ? filter_n_columns(job->holdout) : 0;
    if (rq->p + 2 + nf > sizeof pc->cols / sizeof *pc->cols)
        return cx_error_set(err, CX_EUSAGE, "too many columns for one pass (%zu)", rq->p + 2 + nf);
    memcpy(pc->cols, rq->cols, rq->p * sizeof *rq->cols);
    pc->n = rq->p;
    pc->weight_at = pc->cluster_at = pc->holdout_at = -1;
    if (job->weight_col >= 0) {
        pc->weight_at = (long)pc->n;
        pc->cols[pc->n++] = job->weight_col;
    }
    if (job->bootstrap > 0 && job->bootstrap_cluster >= 0) {
        pc->cluster_at = (long)pc->n;
        pc->cols[pc->n++] = job->bootstrap_cluster;
    }
    if (nf) {
        pc->holdout_at = (long)pc->n;
        for (size_t j = 0; j < nf; j++)
            pc->cols[pc->n++] = filter_column(job->holdout, j);
    }
    return CX_OK;
}

static cx_moments_params moments_params(const cx_job *job, const sem_data *d,
                                        const pass_columns *pc, cx_split_kind split, size_t n_slots)
{
    cx_moments_params par = {.p = d->p,
                             .col0 = 0,
                             .weight_at = pc->weight_at,
                             .mode = job->missing,
                             .n_levels = d->n_cells,
                             .split = split,
                             .n_slots = n_slots,
                             .seed = job->seed,
                             .cluster_at = pc->cluster_at,
                             .holdout = job->holdout,
                             .holdout_at = pc->holdout_at >= 0 ? (size_t)pc->holdout_at : 0};
    return par;
}

/* One pass: every cell's moments and first row, and the replicates and
 * splits the job asks for. */
static int first_pass(const cx_job *job, const sem_data_request *rq, sem_data *d, cx_error *err)
{
    pass_columns pc;
    int rc = plan_columns(job, rq, &pc, err);
    if (rc != CX_OK)
        return rc;
    cx_reducer r[7];
    size_t n = 0;
    d->main_par = moments_params(job, d, &pc, CX_SPLIT_NONE, 1);
    r[n++] = (cx_reducer){&cx_reducer_moments, &d->main_par, NULL};
    if (d->group_col >= 0) {
        d->first_par.n_levels = d->n_cells;
        r[n++] = (cx_reducer){&cx_reducer_first_row, &d->first_par, NULL};
    }
    if (job->bootstrap > 0 && !rq->fiml) {
        d->boot_par = moments_params(job, d, &pc, CX_SPLIT_BOOTSTRAP, (size_t)job->bootstrap);
        r[n++] = (cx_reducer){&cx_reducer_moments, &d->boot_par, NULL};
    }
    d->n_replicates = job->bootstrap > 0 ? job->bootstrap : 0;
    if (job->validate == CX_VALIDATE_KFOLD) {
        d->valid_par = moments_params(job, d, &pc, CX_SPLIT_KFOLD, (size_t)job->kfold);
        if (!rq->fiml)
            r[n++] = (cx_reducer){&cx_reducer_moments, &d->valid_par, NULL};
        d->n_splits = (size_t)job->kfold;
    } else if (job->validate == CX_VALIDATE_HOLDOUT) {
        d->valid_par = moments_params(job, d, &pc, CX_SPLIT_HOLDOUT, 2);
        if (!rq->fiml)
            r[n++] = (cx_reducer){&cx_reducer_moments, &d->valid_par, NULL};
        d->n_splits = 1;
    }
    if (rq->fiml) { /* the same pass: the variables are block columns 0..p-1 */
        d->fiml_par = (sem_fiml_params){
            .p = d->p, .n_levels = d->n_cells, .required = rq->required, .cluster_at = -1};
        r[n++] = (cx_reducer){&sem_reducer_patterns, &d->fiml_par, NULL};
    }
    if (rq->fiml && job->bootstrap > 0) { /* the replicates' patterns */
        d->fiml_boot_par = (sem_fiml_params){.p = d->p,
                                             .n_levels = d->n_cells,
                                             .required = rq->required,
                                             .n_replicates = (size_t)job->bootstrap,
                                             .seed = job->seed,
                                             .cluster_at = pc.cluster_at};
        r[n++] = (cx_reducer){&sem_reducer_patterns, &d->fiml_boot_par, NULL};
    }
    if (rq->fiml && job->validate != CX_VALIDATE_NONE) { /* each split's patterns */
        int kfold = job->validate == CX_VALIDATE_KFOLD;
        d->fiml_valid_par = (sem_fiml_params){
            .p = d->p,
            .n_levels = d->n_cells,
            .required = rq->required,
            .seed = job->seed,
            .cluster_at = -1,
            .n_folds = kfold ? (size_t)job->kfold : 0,
            .holdout = kfold ? NULL : job->holdout,
            .holdout_at = pc.holdout_at >= 0 ? (size_t)pc.holdout_at : 0};
        r[n++] = (cx_reducer){&sem_reducer_patterns, &d->fiml_valid_par, NULL};
    }
    rc = cx_reduce_view(d->view, pc.cols, pc.n, r, n, job->threads, err);
    if (rc != CX_OK)
        return rc;
    size_t k = 0;
    d->main = r[k++];
    if (d->group_col >= 0)
        d->first = r[k++];
    if (job->bootstrap > 0 && !rq->fiml)
        d->boot = r[k++];
    if (job->validate != CX_VALIDATE_NONE && !rq->fiml)
        d->valid = r[k++];
    if (rq->fiml)
        d->fiml = r[k++];
    if (rq->fiml && job->bootstrap > 0)
        d->fiml_boot = r[k++];
    if (rq->fiml && job->validate != CX_VALIDATE_NONE)
        d->fiml_valid = r[k++];
    return CX_OK;
}

/* ---- levels and groups ------------------------------------------------------ */

/* The cells of `by` level l (in cell order until the pass has run). */
static int level_cells(sem_data *d, size_t l, cx_error *err)
{
    sem_level *v = &d->levels[l];
    size_t n = 0;
    for (size_t c = 0; c < d->n_cells; c++)
        n += d->level_of_cell[c] == l;
    v->n_groups = n;
    v->cell = cx_calloc(n ? n : 1, sizeof *v->cell, err);
    v->label = cx_calloc(n ? n : 1, sizeof *v->label, err);
    if (!v->cell || !v->label)
        return CX_ENOMEM;
    size_t g = 0;
    for (size_t c = 0; c < d->n_cells; c++)
        if (d->level_of_cell[c] == l)
            v->cell[g++] = c;
    return CX_OK;
}

/* Level l's groups in lavaan's order (first appearance), with labels. */
static int level_groups(sem_data *d, size_t l)
{
    sem_level *v = &d->levels[l];
    size_t n = v->n_groups;
    if (d->group_col < 0)
        return CX_OK;
    /* insertion sort by first row: n is small */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cx_first_row_of(d->first.acc, v->cell[j]) <
                                        cx_first_row_of(d->first.acc, v->cell[j - 1]);
             j--) {
            size_t t = v->cell[j];
            v->cell[j] = v->cell[j - 1];
            v->cell[j - 1] = t;
        }
    size_t k = d->view->n_group_cols;
    for (size_t i = 0; i < n; i++)
        v->label[i] = d->view->level_values[v->cell[i] * k + k - 1];
    return CX_OK;
}

/* Samples (lavaan's ML convention: divisor N) of one set of moments. */
static void fill_sample(size_t p, const cx_moments *m, double n, double *cov, sem_sample *s)
{
    cx_moments_covariance(m, 0.0, cov);
    *s = (sem_sample){.p = p, .n = n, .cov = cov, .mean = m->mean};
}

/* N of every group of one fit: the rows, or with weights their sum,
 * sampling weights normalized to sum to the rows over the fit's groups
 * (lavaan's sampling.weights.normalization = "total"). */
static void weigh_sizes(sem_weights weights, cx_moments *const *m, sem_sample *s, size_t G)
{
    double rows = 0.0, sum_w = 0.0;
    for (size_t g = 0; g < G; g++) {
        rows += cx_moments_n(m[g]);
        sum_w += m[g]->sum_w;
    }
    for (size_t g = 0; g < G && weights != SEM_WEIGHTS_NONE; g++)
        s[g].n = weights == SEM_WEIGHTS_FREQUENCY ? m[g]->sum_w : m[g]->sum_w * rows / sum_w;
}

static int level_samples(sem_data *d, size_t l, cx_error *err)
{
    sem_level *v = &d->levels[l];
    size_t p = d->p, G = v->n_groups ? v->n_groups : 1;
    v->moments = cx_calloc(G, sizeof *v->moments, err);
    v->cov = cx_calloc(G * p * p, sizeof *v->cov, err);
    v->samples = cx_calloc(G, sizeof *v->samples, err);
    if (!v->moments || !v->cov || !v->samples)
        return CX_ENOMEM;
    for (size_t g = 0; g < v->n_groups; g++) {
        if (!(v->moments[g] = cx_moments_result(d->main.acc, v->cell[g], 0, err)))
            return CX_ENOMEM;
        fill_sample(p, v->moments[g], cx_moments_n(v->moments[g]), v->cov + g * p * p,
                    &v->samples[g]);
    }
    weigh_sizes(d->weights, v->moments, v->samples, v->n_groups);
    return CX_OK;
}

/* Level l's fourth moments from the pass's sums.  Weighted, the sums of
 * w^k divided by W_g^2 / N_g are lavaan's (1/N_g) sum of the normalized
 * weights' powers (sampling: w' = w N_g / W_g; frequency: N_g = W_g). */
static int level_fourth(sem_data *d, size_t l, const void *acc, cx_error *err)
{
    sem_level *v = &d->levels[l];
    size_t ps = sem_pstar(d->p);
    v->fourth = cx_calloc(v->n_groups * ps * ps + 1, sizeof *v->fourth, err);
    if (d->weights != SEM_WEIGHTS_NONE)
        v->fourth_first = cx_calloc(v->n_groups * ps + 1, sizeof *v->fourth_first, err);
    if (!v->fourth || (d->weights != SEM_WEIGHTS_NONE && !v->fourth_first))
        return CX_ENOMEM;
    for (size_t g = 0; g < v->n_groups; g++) {
        double *m = v->fourth + g * ps * ps, rows = cx_moments_n(v->moments[g]), count;
        sem_sample *s = &v->samples[g];
        if (d->weights == SEM_WEIGHTS_NONE) {
            count = sem_fourth_result(acc, v->cell[g], m);
        } else {
            double sum_w = v->moments[g]->sum_w;
            count = sem_fourth_result_weighted(acc, v->cell[g], sum_w * sum_w / s->n, m,
                                               v->fourth_first + g * ps, &s->fourth_w2);
            s->fourth_first = v->fourth_first + g * ps;
        }
        if (count != rows)
            return cx_error_set(err, CX_EFAIL, "group %zu: the second pass saw %.0f rows, not %.0f",
                                g + 1, count, rows);
        s->fourth = m;
    }
    return CX_OK;
}

/* missing = fiml: each group's patterns replace its listwise moments: N
 * counts every row with an observed value, cov and mean are the EM
 * estimates of the saturated model (fiml_data.c). */
static int level_patterns(sem_data *d, size_t l, cx_error *err)
{
    sem_level *v = &d->levels[l];
    v->patterns = cx_calloc(v->n_groups + 1, sizeof *v->patterns, err);
    if (!v->patterns)
        return CX_ENOMEM;
    for (size_t g = 0; g < v->n_groups; g++) {
        sem_patterns *s = sem_patterns_result(d->fiml.acc, v->cell[g], err);
        if (!s)
            return err->code ? err->code : CX_ENOMEM;
        v->patterns[g] = s;
        v->samples[g] =
            (sem_sample){.p = d->p, .n = s->n, .cov = s->em_cov, .mean = s->em_mean, .patterns = s};
    }
    return CX_OK;
}

/* MLR with missing = fiml: a second pass for every pattern's fourth
 * moments about its mean (fiml_data.c). */
static int pattern_fourth_pass(const cx_job *job, const sem_data_request *rq, sem_data *d,
                               cx_error *err)
{
    const sem_patterns **cells = cx_calloc(d->n_cells + 1, sizeof *cells, err);
    if (!cells)
        return CX_ENOMEM;
    for (size_t l = 0; l < d->n_levels; l++)
        for (size_t g = 0; g < d->levels[l].n_groups; g++)
            cells[d->levels[l].cell[g]] = d->levels[l].patterns[g];
    sem_fiml_fourth_params *par =
        sem_fiml_fourth_params_alloc(d->p, d->n_cells, cells, rq->required, err);
    free(cells);
    if (!par)
        return CX_ENOMEM;
    cx_reducer r = {&sem_reducer_pattern_fourth, par, NULL};
    int rc = cx_reduce_view(d->view, rq->cols, d->p, &r, 1, job->threads, err);
    for (size_t l = 0; rc == CX_OK && l < d->n_levels; l++)
        for (size_t g = 0; rc == CX_OK && g < d->levels[l].n_groups; g++)
            rc = sem_fiml_fourth_result(r.acc, d->levels[l].cell[g], d->levels[l].patterns[g], err);
    cx_reducer_release(&r);
    sem_fiml_fourth_params_free(par);
    return rc;
}

/* MLR: a second pass for the fourth moments about each cell's mean. */
static int fourth_pass(const cx_job *job, const sem_data_request *rq, sem_data *d, cx_error *err)
{
    size_t p = d->p;
    double *means = cx_calloc(d->n_cells * p + 1, sizeof *means, err);
    int *cols = cx_calloc(p + 1, sizeof *cols, err);
    if (!means || !cols) {
        free(means);
        free(cols);
        return CX_ENOMEM;
    }
    for (size_t l = 0; l < d->n_levels; l++)
        for (size_t g = 0; g < d->levels[l].n_groups; g++)
            memcpy(means + d->levels[l].cell[g] * p, d->levels[l].samples[g].mean,
                   p * sizeof *means);
    memcpy(cols, rq->cols, p * sizeof *cols);
    size_t ncols = p;
    sem_fourth_params par = {p, d->n_cells, means, 0, 0.0};
    if (d->weights != SEM_WEIGHTS_NONE) { /* the weight column follows the variables */
        cols[ncols++] = job->weight_col;
        par.weight_at = p;
        par.power = d->weights == SEM_WEIGHTS_SAMPLING ? 2.0 : 1.0;
    }
    cx_reducer r = {&sem_reducer_fourth, &par, NULL};
    sem_fourth_pack_register();
    int rc = cx_reduce_view(d->view, cols, ncols, &r, 1, job->threads, err);
    for (size_t l = 0; rc == CX_OK && l < d->n_levels; l++)
        rc = level_fourth(d, l, r.acc, err);
    cx_reducer_release(&r);
    free(means);
    free(cols);
    return rc;
}

int sem_data_prepare(const cx_job *job, int group_col, sem_data *d, cx_error *err)
{
    memset(d, 0, sizeof *d);
    int rc = prepare_cells(job, group_col, d, err);
    if (rc == CX_OK)
        rc = (d->levels = cx_calloc(d->n_levels, sizeof *d->levels, err)) ? CX_OK : CX_ENOMEM;
    for (size_t l = 0; rc == CX_OK && l < d->n_levels; l++)
        rc = level_cells(d, l, err);
    return rc;
}

int sem_data_load(const cx_job *job, const sem_data_request *rq, sem_data *d, cx_error *err)
{
    d->p = rq->p;
    d->weights = job->weight_col >= 0 ? rq->weights : SEM_WEIGHTS_NONE;
    int rc = first_pass(job, rq, d, err);
    for (size_t l = 0; rc == CX_OK && l < d->n_levels; l++) {
        rc = level_groups(d, l);
        if (rc == CX_OK)
            rc = level_samples(d, l, err);
    }
    for (size_t l = 0; rc == CX_OK && rq->fiml && l < d->n_levels; l++)
        rc = level_patterns(d, l, err);
    if (rc == CX_OK && rq->mlr)
        rc = rq->fiml ? pattern_fourth_pass(job, rq, d, err) : fourth_pass(job, rq, d, err);
    return rc;
}

/* ---- replicates and splits ---------------------------------------------------- */

int sem_data_replicate(const sem_data *d, size_t l, size_t r, sem_sample *samples,
                       cx_moments **owned, double *cov, cx_error *err)
{
    const sem_level *v = &d->levels[l];
    size_t p = d->p;
    for (size_t g = 0; g < v->n_groups; g++) {
        if (!(owned[g] = cx_moments_result(d->boot.acc, v->cell[g], r, err)))
            return CX_ENOMEM;
        double n = cx_moments_result_n(d->boot.acc, v->cell[g], r);
        fill_sample(p, owned[g], n, cov + g * p * p, &samples[g]);
        /* covariance about the replicate's weighted mean, divisor sum of
         * weights: with unit row weights that is N = the draws */
    }
    return CX_OK;
}

int sem_data_replicate_fiml(const sem_data *d, size_t l, size_t r, sem_sample *samples,
                            sem_patterns **owned, cx_error *err)
{
    const sem_level *v = &d->levels[l];
    size_t B = (size_t)d->n_replicates;
    for (size_t g = 0; g < v->n_groups; g++) {
        sem_patterns *s = sem_patterns_result(d->fiml_boot.acc, v->cell[g] * B + r, err);
        if (!s)
            return err->code ? err->code : CX_ENOMEM;
        owned[g] = s;
        if (s->n_pat == 0)
            return cx_error_set(err, CX_EFAIL, "replicate %zu draws no row of group %zu", r + 1,
                                g + 1);
        samples[g] = (sem_sample){
            .p = d->p, .n = s->n, .cov = s->em_cov, .mean = s->em_mean, .patterns = s};
    }
    return CX_OK;
}

int sem_data_split_fiml(const sem_data *d, size_t l, size_t k, int test, sem_sample *samples,
                        sem_patterns **owned, cx_error *err)
{
    const sem_level *v = &d->levels[l];
    size_t K = d->fiml_valid_par.n_folds;
    for (size_t g = 0; g < v->n_groups; g++) {
        size_t c = v->cell[g];
        sem_patterns *s;
        if (K)
            s = test ? sem_patterns_result(d->fiml_valid.acc, c * K + k, err)
                     : sem_patterns_result_merged(d->fiml_valid.acc, c, k, err);
        else
            s = sem_patterns_result(d->fiml_valid.acc, c * 2 + (test ? 1 : 0), err);
        if (!s)
            return err->code ? err->code : CX_ENOMEM;
        owned[g] = s;
        if (s->n_pat == 0)
            return cx_error_set(err, CX_EFAIL, "group %zu has no %s rows", g + 1,
                                test ? "held-out" : "training");
        samples[g] = (sem_sample){
            .p = d->p, .n = s->n, .cov = s->em_cov, .mean = s->em_mean, .patterns = s};
    }
    return CX_OK;
}

int sem_data_split(const sem_data *d, size_t l, size_t k, int test, sem_sample *samples,
                   cx_moments **owned, double *cov, cx_error *err)
{
    const sem_level *v = &d->levels[l];
    size_t p = d->p;
    int kfold = d->valid_par.split == CX_SPLIT_KFOLD;
    for (size_t g = 0; g < v->n_groups; g++) {
        size_t c = v->cell[g];
        if (kfold)
            owned[g] = test ? cx_moments_result(d->valid.acc, c, k, err)
                            : cx_moments_result_merged(d->valid.acc, c, k, err);
        else
            owned[g] = cx_moments_result(d->valid.acc, c, test ? 1 : 0, err);
        if (!owned[g])
            return CX_ENOMEM;
        fill_sample(p, owned[g], cx_moments_n(owned[g]), cov + g * p * p, &samples[g]);
    }
    weigh_sizes(d->weights, owned, samples, v->n_groups);
    return CX_OK;
}

/* `groups`: each group number with its label (the group column's
 * category, or its value) and its N, as lavaan lists them. */
int sem_data_write_groups(cx_result *res, const sem_data *d, size_t n_groups, const double *values,
                          const double *nobs, cx_error *err)
{
    cx_rtable *t = cx_result_table(res, "groups", err);
    if (!t || cx_rtable_add_column(t, "group", CX_RCOL_INT, err) ||
        cx_rtable_add_column(t, "label", CX_RCOL_STRING, err) ||
        cx_rtable_add_column(t, "nobs", CX_RCOL_DOUBLE, err))
        return err->code;
    const cx_column_info *c = cx_table_column(d->view->table, (size_t)d->group_col);
    for (size_t g = 0; g < n_groups; g++) {
        double value = values[g];
        char label[64];
        if (c->kind == CX_COL_CATEGORICAL && value >= 0 && value < (double)c->n_categories)
            snprintf(label, sizeof label, "%s", c->categories[(size_t)value]);
        else
            snprintf(label, sizeof label, "%.15g", value);
        long row = cx_rtable_add_row(t, err);
        if (row < 0 || cx_rtable_set_string(t, (size_t)row, "label", label, err))
            return err->code;
        cx_rtable_set_int(t, (size_t)row, "group", (long long)g + 1);
        cx_rtable_set_double(t, (size_t)row, "nobs", nobs[g]);
    }
    return CX_OK;
}
