/*
 * scores.h — scale scores defined in a job, usable by name in formulas.
 *
 *   scores = PEX: mean(pex1 pex2 pex3 -pex4)
 *            OUT: sum(out1, out2, out3)
 *
 * Scales are separated by newlines or ';'; items by spaces or commas; a
 * leading '-' reverse-keys an item on its own range: min + max - x.  The
 * range is the column's declared one when it has one (a categorical
 * column: codes 0..k-1), else the observed minimum and maximum of the item
 * over all rows of the table (not the job's filtered rows, so a scale
 * scores the same in every job and every `by` level).
 *
 * Missing items follow the common "half rule" (psych::scoreItems with
 * impute = "none" averages whatever is present; SPSS MEAN.n and most
 * published scales require a minimum): a respondent gets a score when at
 * least half of the scale's items are present.  mean = the mean of the
 * present items; sum = that mean times the number of items (a prorated
 * sum, so respondents with a skipped item stay on the scale's metric).
 * With every item present both are the plain mean and sum.
 */
#ifndef CX_SCORES_H
#define CX_SCORES_H

#include <stddef.h>

#include "cx_error.h"
#include "table.h"

typedef enum cx_score_fn { CX_SCORE_MEAN, CX_SCORE_SUM } cx_score_fn;

typedef struct cx_score {
    char name[CX_NAME_MAX];
    cx_score_fn fn;
    size_t n_items;
    char (*items)[CX_NAME_MAX];
    unsigned char *reverse; /* per item: reverse-keyed                  */
    size_t pos;             /* 1-based character of the scale's name    */
} cx_score;

typedef struct cx_scores {
    size_t n;
    cx_score *scales;
} cx_scores;

/* Errors: "scores, at character N ('tok'): expected ..." (the caller adds
 * file, line and key). */
cx_scores *cx_scores_parse(const char *text, cx_error *err);
void cx_scores_free(cx_scores *s);
/* Index of scale `name`, or -1. */
long cx_scores_find(const cx_scores *s, const char *name);

/* The score of one respondent: items[i] is item i's value (NaN missing),
 * lo[i]/hi[i] its range (used for reverse-keyed items only).  NaN when
 * fewer than half of the items are present. */
double cx_score_value(const cx_score *s, const double *items, const double *lo, const double *hi);

#endif
