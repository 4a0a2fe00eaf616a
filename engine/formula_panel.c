/*
 * formula_panel.c — lag/lead/diff/growth over a panel sorted by (unit,
 * time), following the time index as plm does: the value k periods back
 * is the row of the same unit whose time is t - k, not the row k places
 * up, so a gap in the waves gives a missing value instead of silently
 * pairing 2019 with 2017.
 */
#include <math.h>
#include <stddef.h>

#include "formula.h"

/* Row in [lo, hi) whose time equals `t` (times ascending there), or -1. */
static long find_time(const double *time, size_t lo, size_t hi, double t)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (time[mid] < t)
            lo = mid + 1;
        else if (time[mid] > t)
            hi = mid;
        else
            return (long)mid;
    }
    return -1;
}

static int check_order(const double *unit, const double *time, size_t n, cx_error *err)
{
    for (size_t i = 0; i < n; i++) {
        if (isnan(unit[i]) || isnan(time[i]))
            return cx_error_set(err, CX_EUSAGE,
                                "panel row %zu: expected a unit and a time, "
                                "found a missing value",
                                i + 1);
        if (time[i] != floor(time[i]) || fabs(time[i]) > 1e15)
            return cx_error_set(err, CX_EUSAGE, "panel row %zu: expected an integer time, found %g",
                                i + 1, time[i]);
        if (i == 0 || unit[i] > unit[i - 1])
            continue;
        if (unit[i] < unit[i - 1])
            return cx_error_set(err, CX_EUSAGE, "panel row %zu: expected rows sorted by unit",
                                i + 1);
        if (time[i] == time[i - 1])
            return cx_error_set(err, CX_EUSAGE,
                                "panel row %zu: unit %g has time %g twice; expected one row per "
                                "unit and time",
                                i + 1, unit[i], time[i]);
        if (time[i] < time[i - 1])
            return cx_error_set(err, CX_EUSAGE,
                                "panel row %zu: expected rows sorted by time within unit %g", i + 1,
                                unit[i]);
    }
    return CX_OK;
}

static double apply(cx_panel_op op, double now, double other)
{
    switch (op) {
    case CX_PANEL_LAG:
    case CX_PANEL_LEAD:
        return other;
    case CX_PANEL_DIFF:
        return now - other;
    case CX_PANEL_GROWTH:
        return other == 0 ? NAN : now / other - 1; /* no growth from zero */
    }
    return NAN;
}

int cx_panel_transform(cx_panel_op op, int k, const double *unit, const double *time,
                       const double *x, size_t n, double *out, cx_error *err)
{
    if (k < 0 || k > CX_FORMULA_MAX_LAG)
        return cx_error_set(err, CX_EUSAGE, "panel transform: expected an order 0..%d, found %d",
                            CX_FORMULA_MAX_LAG, k);
    if (check_order(unit, time, n, err))
        return err->code;
    double shift = op == CX_PANEL_LEAD ? k : -k;
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && unit[end] == unit[start])
            end++;
        for (size_t i = start; i < end; i++) {
            long j = find_time(time, start, end, time[i] + shift);
            out[i] = j < 0 ? NAN : apply(op, x[i], x[j]);
        }
        start = end;
    }
    return CX_OK;
}
