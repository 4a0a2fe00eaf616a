/*
 * report.h — `cxfit report RESULTS.h5 -o REPORT.html`: one self-contained
 * HTML page (inline CSS and SVG, no script, no network) with a section per
 * job: its header, the charts of its family and its tables.  The layout is
 * documented in docs/REPORT.md.
 */
#ifndef CX_REPORT_H
#define CX_REPORT_H

#include <stdio.h>

#include "cx_error.h"
#include "result.h"

/* Read every job of `results_path` and write the page to `html_path`
 * (through `html_path`.tmp, renamed when complete; an existing page is
 * replaced). */
int cx_report(const char *results_path, const char *html_path, cx_error *err);

/* One job as the page shows it (exposed for tests on in-memory results). */
typedef struct cx_report_job {
    const char *name;
    const char *model;
    const char *spec;   /* the job's canonical config text, may be NULL */
    const char *status; /* as listed (the table of contents), may be NULL */
    const cx_result *result;
} cx_report_job;

void cx_report_begin(FILE *out, const char *title, const char *subtitle,
                     const cx_report_job *jobs, size_t n);
void cx_report_job_section(FILE *out, size_t index, const cx_report_job *job);
void cx_report_end(FILE *out);

#endif
