/*
 * report.c — `cxfit report`: the page, its job sections and tables (see
 * report.h and docs/REPORT.md).
 *
 * The page is XHTML-compatible HTML5 (every element closed, only the five
 * XML entities), so an XML parser can check it is well-formed; it has no
 * script and no external reference: style and charts are inline.  Every
 * string from the results file goes through cx_xml_text().
 */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"
#include "results_io.h"
#include "svg.h"

#define REPORT_MAX_ROWS 500 /* longer tables are cut with a note */

static const char style[] =
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;"
    "color:#1d2329;background:#fff}\n"
    "main{max-width:1100px;margin:0 auto;padding:8px 16px 40px}\n"
    "h1{font-size:1.6em;margin:.4em 0 .1em}h2{font-size:1.25em;margin:0 0 .3em}"
    "h3{font-size:1.05em;margin:1em 0 .3em}\n"
    ".sub{color:#5a6570;margin:0}nav ol{columns:2 220px;padding-left:1.4em}\n"
    "section.job{border-top:2px solid #dde3ea;padding-top:10px;margin-top:28px}\n"
    ".model{font-weight:normal;color:#5a6570}\n"
    ".status{font-size:.75em;padding:1px 7px;border-radius:9px;vertical-align:middle;"
    "background:#eceff2}\n"
    ".status-ok{background:#e3f4e8;color:#1b6b34}.status-failed{background:#fde2e1;"
    "color:#9b1c1c}.status-not_converged{background:#fff1d6;color:#7a4b00}\n"
    ".message{background:#fff8e6;border-left:3px solid #e0a800;padding:4px 8px}\n"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:1px 14px;margin:.5em 0}\n"
    "dl.facts dt{color:#5a6570}dl.facts dd{margin:0}\n"
    "figure{margin:12px 0}figcaption{font-size:.85em;color:#5a6570}\n"
    ".chart{overflow-x:auto}.chart svg{max-width:100%;height:auto;display:block}\n"
    ".chart svg.wide{min-width:720px}\n"
    ".panels{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:6px}\n"
    ".panels figure{margin:0}\n"
    ".scroll{overflow-x:auto}details{margin:.4em 0}summary{cursor:pointer;color:#2b5d8a}\n"
    "table{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums;"
    "margin:.3em 0}\n"
    "th,td{padding:2px 8px;border-bottom:1px solid #eef1f4;text-align:left;white-space:nowrap}\n"
    "th{background:#f7f9fa}.num{text-align:right}tr.sect th{background:#eef3f8;"
    "text-align:left}\n"
    ".note{color:#5a6570;font-size:.9em}\n"
    "svg text{font-family:system-ui,sans-serif;font-size:11px;fill:#1d2329}\n"
    "svg .grid{stroke:#e6e9ed}svg .zero{stroke:#8a949e}svg .tick{fill:#5a6570;font-size:10px}\n"
    "svg .seg{stroke:#fff;stroke-width:.5}svg .inbar{fill:#fff;font-size:9px}\n"
    "svg .swatch{stroke:none}svg .cell{stroke:none}svg .cell-empty{fill:#fafbfc;"
    "stroke:#eef0f2}\n"
    "svg .incell{font-size:10px}svg .incell-dark{font-size:10px;fill:#fff}\n"
    "svg .latent{fill:#eaf2fb;stroke:#2b5d8a;stroke-width:1.5}svg .observed{fill:#fff;"
    "stroke:#444}\n"
    "svg .node{font-size:12px}svg .small{font-size:9px}\n"
    "svg .edge{stroke:#555;fill:none}svg .cov{stroke:#888;fill:none;stroke-dasharray:4 3}\n"
    "svg .head{fill:#555}svg .elabel{font-size:10px;paint-order:stroke;stroke:#fff;"
    "stroke-width:3px}\n"
    "svg .whisker{stroke:#2b5d8a;stroke-width:2}svg .dot{fill:#2b5d8a}\n"
    "svg .band{fill:#2b5d8a;fill-opacity:.15;stroke:none}svg .series{stroke:#2b5d8a;"
    "fill:none;stroke-width:2}\n"
    "svg .parallel{stroke:#c0392b;fill:none;stroke-dasharray:6 4}svg .kaiser{stroke:#8a949e;"
    "stroke-dasharray:2 3}\n"
    "svg .bar{fill:#2b5d8a}svg .ptitle{font-size:12px;font-weight:600}\n"
    "@media (max-width:600px){body{font-size:14px}main{padding:4px 8px 24px}"
    "dl.facts{grid-template-columns:1fr}dl.facts dd{margin-bottom:4px}}\n"
    "@media print{nav{display:none}body{font-size:11pt}section.job{break-before:auto}"
    "figure,tr{break-inside:avoid}.scroll,.chart{overflow:visible}.chart svg.wide{min-width:0}"
    "summary{color:#000}}\n";

/* ---- small writers ---------------------------------------------------- */

void report_note(FILE *out, const char *text)
{
    fputs("<p class=\"note\">", out);
    cx_xml_text(out, text);
    fputs("</p>\n", out);
}

void report_figure(FILE *out, const char *caption, report_chart_cb draw, const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return;
    size_t marks = draw(mem, arg);
    fclose(mem);
    if (marks > 0 && buf) {
        fputs("<figure><div class=\"chart\">", out);
        fwrite(buf, 1, len, out);
        fputs("</div>", out);
        if (caption && *caption) {
            fputs("<figcaption>", out);
            cx_xml_text(out, caption);
            fputs("</figcaption>", out);
        }
        fputs("</figure>\n", out);
    }
    free(buf);
}

static void fact(FILE *out, const char *name, const char *value)
{
    fputs("<dt>", out);
    cx_xml_text(out, name);
    fputs("</dt><dd>", out);
    cx_xml_text(out, value);
    fputs("</dd>\n", out);
}

static void fact_number(FILE *out, const char *name, double v, const char *fmt)
{
    char buf[64];
    if (isfinite(v)) {
        snprintf(buf, sizeof buf, fmt, v);
        fact(out, name, buf);
    }
}

/* A number cell: whole columns without decimals, tiny or huge ones in
 * exponent form, NaN empty. */
static void number_cell(FILE *out, double v, int whole)
{
    if (!isfinite(v))
        fputs("<td class=\"num\"></td>", out);
    else if (whole)
        fprintf(out, "<td class=\"num\">%.0f</td>", v);
    else if (v != 0 && (fabs(v) >= 1e7 || fabs(v) < 1e-3))
        fprintf(out, "<td class=\"num\">%.3e</td>", v);
    else
        fprintf(out, "<td class=\"num\">%.3f</td>", v);
}

static int column_whole(const cx_rcolumn *c, size_t nrows)
{
    if (c->type == CX_RCOL_INT)
        return 1;
    if (c->type != CX_RCOL_DOUBLE)
        return 0;
    for (size_t i = 0; i < nrows; i++)
        if (isfinite(c->d[i]) && (c->d[i] != floor(c->d[i]) || fabs(c->d[i]) >= 1e9))
            return 0;
    return 1;
}

static void cell(FILE *out, const cx_rcolumn *c, size_t row, int whole)
{
    if (c->type == CX_RCOL_STRING) {
        fputs("<td>", out);
        cx_xml_text(out, cx_rb_string(c, row));
        fputs("</td>", out);
    } else {
        number_cell(out, cx_rb_number(c, row), whole);
    }
}

/* ---- tables ------------------------------------------------------------- */

static void table_summary(FILE *out, const cx_rtable *t, int open)
{
    fprintf(out, "<details%s><summary>", open ? " open=\"open\"" : "");
    cx_xml_text(out, t->name);
    fprintf(out, " (%zu row%s, %zu column%s)</summary>\n", t->nrows, t->nrows == 1 ? "" : "s",
            t->ncols, t->ncols == 1 ? "" : "s");
}

static void plain_table(FILE *out, const cx_rtable *t, int open)
{
    table_summary(out, t, open);
    fputs("<div class=\"scroll\"><table><thead><tr>", out);
    for (size_t j = 0; j < t->ncols; j++) {
        fputs(t->cols[j].type == CX_RCOL_STRING ? "<th>" : "<th class=\"num\">", out);
        cx_xml_text(out, t->cols[j].name);
        fputs("</th>", out);
    }
    fputs("</tr></thead><tbody>\n", out);
    int *whole = calloc(t->ncols ? t->ncols : 1, sizeof *whole);
    for (size_t j = 0; whole && j < t->ncols; j++)
        whole[j] = column_whole(&t->cols[j], t->nrows);
    size_t shown = t->nrows < REPORT_MAX_ROWS ? t->nrows : REPORT_MAX_ROWS;
    for (size_t i = 0; i < shown; i++) {
        fputs("<tr>", out);
        for (size_t j = 0; j < t->ncols; j++)
            cell(out, &t->cols[j], i, whole ? whole[j] : 0);
        fputs("</tr>\n", out);
    }
    free(whole);
    fputs("</tbody></table></div>\n", out);
    if (shown < t->nrows) {
        char note[160];
        snprintf(note, sizeof note, "First %zu of %zu rows; cxfit show prints them all.", shown,
                 t->nrows);
        report_note(out, note);
    }
    fputs("</details>\n", out);
}

static int same_group(const cx_rcolumn *grp, size_t i, size_t j)
{
    return !grp || cx_rb_number(grp, i) == cx_rb_number(grp, j);
}

/* Estimates as lavaan's summary() groups them, one block per `by` level
 * and group. */
static void estimates_table(FILE *out, const cx_result *r, const cx_rtable *t,
                            const cx_rb_by *by, int open)
{
    static const char *const nums[] = {"est", "se", "z", "pvalue", "ci_lower", "ci_upper",
                                       "std_all"};
    static const char *const heads[] = {"Estimate", "Std.Err", "z-value", "P(&gt;|z|)",
                                        "ci.lower", "ci.upper", "Std.all"};
    const cx_rcolumn *lhs = cx_rb_column(t, "lhs", CX_RCOL_STRING),
                     *op = cx_rb_column(t, "op", CX_RCOL_STRING),
                     *rhs = cx_rb_column(t, "rhs", CX_RCOL_STRING), *grp = cx_rb_group_column(t);
    if (!lhs || !op || !rhs) {
        plain_table(out, t, open);
        return;
    }
    const cx_rcolumn *num[7];
    for (int k = 0; k < 7; k++)
        num[k] = cx_rb_column(t, nums[k], CX_RCOL_DOUBLE);
    table_summary(out, t, open);
    fputs("<div class=\"scroll\"><table><thead><tr><th>Parameter</th>", out);
    for (int k = 0; k < 7; k++)
        fprintf(out, "<th class=\"num\">%s</th>", heads[k]);
    fputs("</tr></thead><tbody>\n", out);
    size_t shown = 0;
    for (size_t first = 0; first < t->nrows; first++) {
        /* a block starts at the first row of its level and group */
        int seen = 0;
        for (size_t i = 0; i < first && !seen; i++)
            seen = cx_rb_same_level(t, by, i, first) && same_group(grp, i, first);
        if (seen)
            continue;
        char level[512] = "", head[700] = "";
        cx_rb_level_label(t, by, first, level, sizeof level);
        double g = cx_rb_number(grp, first);
        const char *label =
            isfinite(g) && g > 0 && g < 0x1p62 ? cx_rb_group_label(r, (long long)g) : NULL;
        if (isfinite(g) && g > 0)
            snprintf(head, sizeof head, "%s%sGroup %.0f%s%s%s", level, *level ? ", " : "", g,
                     label ? " [" : "", label ? label : "", label ? "]" : "");
        else
            snprintf(head, sizeof head, "%s", level);
        if (*head) {
            fputs("<tr class=\"sect\"><th colspan=\"8\">", out);
            cx_xml_text(out, head);
            fputs("</th></tr>\n", out);
        }
        for (int s = 0; s < CX_RB_N_SECTIONS; s++) {
            int titled = 0;
            for (size_t i = first; i < t->nrows && shown < REPORT_MAX_ROWS; i++) {
                if (!cx_rb_same_level(t, by, i, first) || !same_group(grp, i, first) ||
                    cx_rb_section(cx_rb_string(lhs, i), cx_rb_string(op, i),
                                  cx_rb_string(rhs, i)) != s)
                    continue;
                if (!titled++)
                    fprintf(out, "<tr class=\"sect\"><th colspan=\"8\">%s</th></tr>\n",
                            cx_rb_section_title(s));
                fputs("<tr><td>", out);
                cx_xml_text(out, cx_rb_string(lhs, i));
                if (strcmp(cx_rb_string(op, i), "~1") != 0) {
                    fputc(' ', out);
                    cx_xml_text(out, cx_rb_string(op, i));
                    fputc(' ', out);
                    cx_xml_text(out, cx_rb_string(rhs, i));
                }
                fputs("</td>", out);
                for (int k = 0; k < 7; k++) {
                    double v = num[k] ? num[k]->d[i] : NAN;
                    if (k == 1 && v == 0)
                        v = NAN; /* a fixed parameter has no SE */
                    if (isfinite(v))
                        fprintf(out, "<td class=\"num\">%.3f</td>", v); /* as lavaan */
                    else
                        fputs("<td class=\"num\"></td>", out);
                }
                fputs("</tr>\n", out);
                shown++;
            }
        }
    }
    fputs("</tbody></table></div>\n", out);
    if (shown < t->nrows)
        report_note(out, "Long table cut; cxfit show prints it all.");
    fputs("</details>\n", out);
}

static int is_headline_fit(const cx_rtable *t)
{
    return strcmp(t->name, "fit") == 0 && cx_rb_column(t, "measure", CX_RCOL_STRING) &&
           cx_rb_column(t, "value", CX_RCOL_DOUBLE);
}

/* The headline fit measures as a table of their own (all of them follow,
 * folded). */
static void fit_headline(FILE *out, const cx_rtable *t, const cx_rb_by *by)
{
    const cx_rcolumn *m = cx_rb_column(t, "measure", CX_RCOL_STRING);
    const cx_rcolumn *v = cx_rb_column(t, "value", CX_RCOL_DOUBLE);
    size_t any = 0;
    for (size_t i = 0; i < t->nrows; i++)
        any += cx_rb_headline_measure(cx_rb_string(m, i));
    if (!any)
        return;
    fputs("<h3>Fit</h3><div class=\"scroll\"><table><tbody>\n", out);
    for (size_t i = 0; i < t->nrows; i++) {
        if (by->n && (i == 0 || !cx_rb_same_level(t, by, i - 1, i))) {
            char level[512];
            cx_rb_level_label(t, by, i, level, sizeof level);
            fputs("<tr class=\"sect\"><th colspan=\"2\">", out);
            cx_xml_text(out, level);
            fputs("</th></tr>\n", out);
        }
        if (!cx_rb_headline_measure(cx_rb_string(m, i)))
            continue;
        fputs("<tr><td>", out);
        cx_xml_text(out, cx_rb_string(m, i));
        fputs("</td>", out);
        number_cell(out, v->d[i], strcmp(cx_rb_string(m, i), "df") == 0 ||
                                      strcmp(cx_rb_string(m, i), "npar") == 0);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
}

/* Per-step copies of the job's own tables (invariance: estimates_configural
 * repeats estimates) are folded under one heading. */
static int is_step_table(const cx_rtable *t)
{
    return strncmp(t->name, "estimates_", 10) == 0 || strncmp(t->name, "fit_", 4) == 0 ||
           strncmp(t->name, "modindices_", 11) == 0;
}

static void job_tables(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    const cx_result *r = job->result;
    int steps = 0;
    for (size_t k = 0; k < r->n_tables; k++) {
        const cx_rtable *t = r->tables[k];
        int open = report_table_open(job->model, t->name);
        if (is_step_table(t)) {
            steps++;
            continue;
        }
        if (is_headline_fit(t))
            fit_headline(out, t, by);
        if (strcmp(t->name, "estimates") == 0)
            estimates_table(out, r, t, by, open);
        else
            plain_table(out, t, open);
    }
    if (!steps)
        return;
    fputs("<h3>Per-step tables</h3>\n", out);
    for (size_t k = 0; k < r->n_tables; k++)
        if (is_step_table(r->tables[k])) {
            if (strncmp(r->tables[k]->name, "estimates_", 10) == 0)
                estimates_table(out, r, r->tables[k], by, 0);
            else
                plain_table(out, r->tables[k], 0);
        }
}

/* ---- the job section ------------------------------------------------------ */

static const char *status_class(const char *status)
{
    static const char *const known[] = {"ok", "failed", "not_converged", NULL};
    for (size_t k = 0; known[k]; k++)
        if (strcmp(status, known[k]) == 0)
            return known[k];
    return "other";
}

static void job_facts(FILE *out, const cx_report_job *job, const cx_rb_by *by)
{
    const cx_result *r = job->result;
    cx_rb_method m;
    cx_rb_job_method(job->model, job->spec, r, &m);
    fputs("<dl class=\"facts\">\n", out);
    fact_number(out, "Observations used", r->nobs, "%.0f");
    const cx_rtable *groups = cx_result_find_table(r, "groups");
    const cx_rcolumn *gl = cx_rb_column(groups, "label", CX_RCOL_STRING);
    const cx_rcolumn *gn = cx_rb_column(groups, "nobs", CX_RCOL_DOUBLE);
    for (size_t i = 0; gl && gn && i < groups->nrows; i++) {
        char name[900], level[512];
        cx_rb_level_label(groups, by, i, level, sizeof level);
        snprintf(name, sizeof name, "%s%sGroup %zu [%s]", level, *level ? ", " : "",
                 (size_t)cx_rb_number(cx_rb_group_column(groups), i), cx_rb_string(gl, i));
        fact_number(out, name, gn->d[i], "%.0f");
    }
    if (by->n) {
        char list[512] = "";
        for (size_t k = 0; k < by->n; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? " " : "",
                     by->names[k]);
        fact(out, "By", list);
    }
    if (*m.estimator) {
        fact(out, "Estimator", m.estimator);
        fact(out, "Standard errors", m.se);
        fact(out, "Test statistic", m.test);
    }
    fact_number(out, "Optimizer iterations", cx_rb_attr_double(r, "iterations"), "%.0f");
    fact_number(out, "Elapsed (s)", cx_rb_attr_double(r, "elapsed_s"), "%.3f");
    fputs("</dl>\n", out);
}

void cx_report_job_section(FILE *out, size_t index, const cx_report_job *job)
{
    const cx_result *r = job->result;
    cx_rb_by by;
    cx_rb_by_columns(job->spec, &by);
    fprintf(out, "<section class=\"job\" id=\"job-%zu\">\n<h2>%zu. ", index + 1, index + 1);
    cx_xml_text(out, job->name);
    fputs(" <span class=\"model\">", out);
    cx_xml_text(out, job->model ? job->model : "?");
    fprintf(out, "</span> <span class=\"status status-%s\">", status_class(cx_status_name(r->status)));
    cx_xml_text(out, cx_status_name(r->status));
    fputs("</span></h2>\n", out);
    if (r->message && *r->message) {
        fputs("<p class=\"message\">", out);
        cx_xml_text(out, r->message);
        fputs("</p>\n", out);
    }
    job_facts(out, job, &by);
    report_charts_fn charts = report_family_charts(job->model ? job->model : "");
    if (charts)
        charts(out, job, &by);
    job_tables(out, job, &by);
    fputs("</section>\n", out);
}

void cx_report_begin(FILE *out, const char *title, const char *subtitle,
                     const cx_report_job *jobs, size_t n)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n<title>",
          out);
    cx_xml_text(out, title);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header><h1>", style);
    cx_xml_text(out, title);
    fputs("</h1><p class=\"sub\">", out);
    cx_xml_text(out, subtitle);
    fputs("</p></header>\n<nav><h2>Jobs</h2><ol>\n", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "<li><a href=\"#job-%zu\">", i + 1);
        cx_xml_text(out, jobs[i].name);
        fputs("</a> <span class=\"model\">", out);
        cx_xml_text(out, jobs[i].model ? jobs[i].model : "?");
        if (jobs[i].status && strcmp(jobs[i].status, "ok") != 0) {
            fputs(", ", out);
            cx_xml_text(out, jobs[i].status);
        }
        fputs("</span></li>\n", out);
    }
    fputs("</ol></nav>\n", out);
}

void cx_report_end(FILE *out)
{
    fputs("</main>\n</body>\n</html>\n", out);
}

/* ---- the file --------------------------------------------------------------- */

static int write_page(FILE *out, const char *path, const cx_stored_job *stored, size_t n,
                      cx_error *err)
{
    cx_report_job *jobs = cx_calloc(n ? n : 1, sizeof *jobs, err);
    if (!jobs)
        return CX_ENOMEM;
    for (size_t i = 0; i < n; i++)
        jobs[i] = (cx_report_job){stored[i].name, stored[i].model, stored[i].spec,
                                  stored[i].status, NULL};
    char *version = cx_results_root_attr(path, "cxfit_version", NULL);
    char *created = cx_results_root_attr(path, "created", NULL);
    char title[600], subtitle[600];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    snprintf(title, sizeof title, "cxfit report: %s", base);
    snprintf(subtitle, sizeof subtitle, "%s, written by cxfit %s on %s; %zu job%s", path,
             version && *version ? version : "?", created && *created ? created : "?", n,
             n == 1 ? "" : "s");
    free(version);
    free(created);
    cx_report_begin(out, title, subtitle, jobs, n);
    int rc = CX_OK;
    for (size_t i = 0; i < n && rc == CX_OK; i++) {
        cx_result *r = cx_results_read_job(path, stored[i].name, err);
        if (!r) {
            rc = err->code;
            break;
        }
        jobs[i].result = r;
        cx_report_job_section(out, i, &jobs[i]);
        cx_result_free(r);
    }
    cx_report_end(out);
    free(jobs);
    return rc;
}

int cx_report(const char *results_path, const char *html_path, cx_error *err)
{
    cx_stored_job *stored;
    size_t n;
    if (cx_results_list_jobs(results_path, &stored, &n, err))
        return err->code;
    size_t len = strlen(html_path) + 5;
    char *tmp = cx_malloc(len, err);
    FILE *out = tmp ? (snprintf(tmp, len, "%s.tmp", html_path), fopen(tmp, "w")) : NULL;
    int rc = tmp ? CX_OK : CX_ENOMEM;
    if (tmp && !out)
        rc = cx_error_set(err, CX_EIO, "%s: cannot write the report", tmp);
    if (rc == CX_OK)
        rc = write_page(out, results_path, stored, n, err);
    if (out && fclose(out) != 0 && rc == CX_OK)
        rc = cx_error_set(err, CX_EIO, "%s: cannot write the report (disk full?)", tmp);
    if (rc == CX_OK && rename(tmp, html_path) != 0)
        rc = cx_error_set(err, CX_EIO, "%s: cannot rename %s into place", html_path, tmp);
    if (rc != CX_OK && tmp)
        remove(tmp);
    free(tmp);
    cx_stored_jobs_free(stored, n);
    return rc;
}
