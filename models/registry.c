/*
 * registry.c — the list of model families cxfit knows.
 *
 * Adding a model: write models/<name>.c defining `const cx_model
 * cx_model_<name>`, declare it below and add it to the table.
 */
#include <string.h>

#include "model.h"

extern const cx_model cx_model_describe, cx_model_nps, cx_model_cfa, cx_model_sem, cx_model_growth,
    cx_model_panel, cx_model_ols, cx_model_drivers, cx_model_gap, cx_model_logit, cx_model_ologit,
    cx_model_mlogit, cx_model_efa;
extern const cx_model cx_model_reliability;
extern const cx_model cx_model_mixed;

static const cx_model *const all_models[] = {
    &cx_model_describe, &cx_model_nps,    &cx_model_cfa,    &cx_model_sem,
    &cx_model_growth,   &cx_model_panel,  &cx_model_ols,    &cx_model_drivers,
    &cx_model_gap,      &cx_model_logit,  &cx_model_ologit, &cx_model_mlogit,
    &cx_model_efa,      &cx_model_reliability, &cx_model_mixed, NULL /* sentinel keeps the array non-empty */
};

const cx_model *const *cx_model_all(size_t *n)
{
    *n = sizeof all_models / sizeof all_models[0] - 1;
    return all_models;
}

const cx_model *cx_model_find(const char *name)
{
    size_t n;
    const cx_model *const *models = cx_model_all(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(models[i]->name, name) == 0)
            return models[i];
    return NULL;
}
