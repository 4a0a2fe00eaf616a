/*
 * didyoumean.c — "did you mean ...?" hints for misspelt keys, columns and
 * values: the candidate with the smallest edit distance, if it is close.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Optimal-string-alignment distance (Levenshtein plus transpositions),
 * since swapped letters ("fromula") are the commonest typo. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64)
        return (size_t)-1;
    size_t d[65][65];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

const char *cx_did_you_mean(const char *word, const char *const *candidates)
{
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    for (size_t i = 0; candidates && candidates[i]; i++) {
        size_t dist = edit_distance(word, candidates[i]);
        if (dist < best_distance) {
            best_distance = dist;
            best = candidates[i];
        }
    }
    /* Close means at most a third of the word wrong (and at least 1 edit allowed). */
    size_t allowed = strlen(word) / 3 + 1;
    return best && best_distance <= allowed && best_distance > 0 ? best : NULL;
}
