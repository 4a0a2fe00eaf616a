/*
 * main.c — the cxfit command line (shared/DESIGN.md §2).
 *
 * Each subcommand parses its own arguments and calls one library entry
 * point; this file is the only place that prints errors and picks the exit
 * status (0 ok, 1 a job failed, 2 usage/config error, 3 input/output).
 */
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas_threads.h"
#include "import.h"
#include "merge.h"
#include "model.h"
#include "report.h"
#include "run.h"
#include "show.h"
#include "simulate.h"

#define EXIT_USAGE 2
#define EXIT_IO 3

static const char usage_text[] =
    "usage: cxfit COMMAND [ARGS]\n"
    "\n"
    "  cxfit run CONFIG [-o RESULTS.h5] [-j THREADS] [--force] [--resume] [--quiet]\n"
    "            [--shard I/N]      only shard I of N: writes RESULTS.part-I-of-N.h5\n"
    "  cxfit check CONFIG                parse config, open data, validate every job\n"
    "  cxfit simulate OUT.h5 [--firms F] [--waves W] [--respondents R] [--seed S] [--panel PCT]\n"
    "  cxfit import IN OUT.h5 [--table PATH]   CSV, SPSS, Stata or SAS file into table /data\n"
    "  cxfit show RESULTS.h5 [JOB] [--all]  readable summary, like lavaan's summary()\n"
    "  cxfit report RESULTS.h5 -o REPORT.html  one self-contained page: tables and SVG charts\n"
    "  cxfit merge RESULTS.h5 PARTS... [--force]   the parts of a --shard run as one file\n"
    "  cxfit --help | --version          (cxfit COMMAND --help: that command's options)\n"
    "\n"
    "Exit status: 0 all jobs ok; 1 a job failed (others are still written);\n"
    "2 usage or config error (nothing was run); 3 input/output error.\n";

/* `cxfit COMMAND --help`. */
static const struct {
    const char *command, *text;
} command_help[] = {
    {"run", "usage: cxfit run CONFIG [-o RESULTS.h5] [-j THREADS] [--force] [--resume] [--quiet]\n"
            "                 [--shard I/N]\n"
            "\n"
            "Fit every job of CONFIG and write one results file.\n"
            "  -o RESULTS.h5   results file (default: [output] file of the config)\n"
            "  -j THREADS      threads (default: all cores; -jN too)\n"
            "  --force         replace an existing results file\n"
            "  --resume        keep the finished jobs of an existing results file\n"
            "  --quiet         no progress lines (errors are still printed)\n"
            "  --shard I/N     only shard I of N: writes RESULTS.part-I-of-N.h5\n"
            "                  (cxfit merge combines the parts)\n"},
    {"check", "usage: cxfit check CONFIG [--quiet]\n"
              "\n"
              "Parse CONFIG, open its data and validate every job; fit nothing.\n"},
    {"simulate", "usage: cxfit simulate OUT.h5 [--firms F] [--waves W] [--respondents R] [--seed "
                 "S] [--panel PCT]\n"
                 "\n"
                 "Write a simulated CX panel with known true values (docs/SIMULATE.md).\n"
                 "--panel PCT re-surveys PCT percent of each firm-wave's respondents in every\n"
                 "wave (a respondent panel with known individual ltr trajectories).\n"
                 "OUT.h5 must not exist.\n"},
    {"import", "usage: cxfit import IN OUT.h5 [--table PATH] [--delimiter C] [--no-header]\n"
               "                    [--categorical COL,...] [--numeric COL,...] [--quiet]\n"
               "\n"
               "Import IN as a column table of OUT.h5 (a new file, or a table added to an\n"
               "existing HDF5 file; an existing table is never replaced).  IN's extension\n"
               "picks the reader: .sav .zsav .por (SPSS), .dta (Stata), .sas7bdat .xpt\n"
               "(SAS) through ReadStat, with value labels, variable labels and\n"
               "user-missing codes kept; anything else is read as CSV.\n"
               "\n"
               "  --table PATH        table group to write (default /data)\n"
               "  --delimiter C       CSV field separator: ',' ';' or tab (default: detected\n"
               "                      from the header row)\n"
               "  --no-header         CSV without a header row: columns are named V1..Vn\n"
               "  --categorical COLS  store these comma-separated columns as categorical\n"
               "  --numeric COLS      keep these columns numeric (value labels become\n"
               "                      attributes)\n"
               "  --quiet             do not print the table written\n"},
    {"show", "usage: cxfit show RESULTS.h5 [JOB] [--all]\n"
             "\n"
             "Readable summary of a results file (every job, or JOB), like lavaan's summary():\n"
             "per job its header, then per `by` level the model test, the estimates grouped\n"
             "like lavaan (group labels in the headings) and the headline fit measures.\n"
             "  --all   every fit measure\n"},
    {"report", "usage: cxfit report RESULTS.h5 -o REPORT.html\n"
               "\n"
               "Write one self-contained HTML page (no script, no network; charts as inline\n"
               "SVG) with a section per job: its header, its charts and its tables\n"
               "(docs/REPORT.md).  An existing REPORT.html is replaced.\n"},
    {"merge", "usage: cxfit merge RESULTS.h5 PARTS... [--force]\n"
              "\n"
              "Combine the parts written by `cxfit run --shard I/N` into the results file\n"
              "one run would write.  --force replaces an existing RESULTS.h5.\n"},
};

/* Prints COMMAND's help when an argument asks for it; 1 when it did. */
static int print_command_help(const char *command, int argc, char **argv)
{
    int asked = 0;
    for (int i = 0; i < argc; i++)
        asked |= strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0;
    for (size_t k = 0; asked && k < sizeof command_help / sizeof command_help[0]; k++)
        if (strcmp(command, command_help[k].command) == 0) {
            fputs(command_help[k].text, stdout);
            return 1;
        }
    return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "cxfit: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(cxfit --help lists the commands)\n");
    return EXIT_USAGE;
}

static int exit_for(const cx_error *err)
{
    fprintf(stderr, "cxfit: %s\n", err->msg);
    return err->code == CX_EUSAGE ? EXIT_USAGE : EXIT_IO;
}

/* A whole-number option value, or -1 when it is not one. */
static long parse_count(const char *s, long min, long max)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : -1;
    return s && *s && *end == '\0' && v >= min && v <= max ? v : -1;
}

/* "I/N" with 1 <= I <= N; 0 on success. */
static int parse_shard(const char *s, int *index, int *count)
{
    char *slash = strchr(s, '/');
    if (!slash)
        return -1;
    char head[32];
    if ((size_t)(slash - s) >= sizeof head)
        return -1;
    memcpy(head, s, (size_t)(slash - s));
    head[slash - s] = '\0';
    long n = parse_count(slash + 1, 1, 100000), i = parse_count(head, 1, 100000);
    if (n < 0 || i < 0 || i > n)
        return -1;
    *index = (int)i;
    *count = (int)n;
    return 0;
}

static void print_help(void)
{
    fputs(usage_text, stdout);
    size_t n;
    const cx_model *const *models = cx_model_all(&n);
    fputs("\nModels:\n", stdout);
    for (size_t i = 0; i < n; i++)
        printf("  %-12s %s\n", models[i]->name, models[i]->summary);
}

static int command_run(int argc, char **argv, int check_only)
{
    cx_run_options opt = {.check_only = check_only};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!check_only && strcmp(a, "-o") == 0 && i + 1 < argc)
            opt.output_path = argv[++i];
        else if (!check_only &&
                 ((strcmp(a, "-j") == 0 && i + 1 < argc) || (strncmp(a, "-j", 2) == 0 && a[2]))) {
            /* -j N, or -jN as make and ninja take it */
            const char *count = a[2] ? a + 2 : argv[++i];
            long j = parse_count(count, 1, 4096);
            if (j < 0)
                return usage_error("-j expects a thread count from 1 to 4096, found '%s'", count);
            opt.threads = (int)j;
        } else if (!check_only && strcmp(a, "--force") == 0)
            opt.force = 1;
        else if (!check_only && strcmp(a, "--resume") == 0)
            opt.resume = 1;
        else if (!check_only && strcmp(a, "--shard") == 0 && i + 1 < argc) {
            if (parse_shard(argv[++i], &opt.shard_index, &opt.shard_count) != 0)
                return usage_error("--shard expects I/N with 1 <= I <= N <= 100000 "
                                   "(e.g. 3/8), found '%s'",
                                   argv[i]);
        } else if (strcmp(a, "--quiet") == 0)
            opt.quiet = 1;
        else if (a[0] == '-' && a[1])
            return usage_error("unknown option '%s'", a);
        else if (!opt.config_path)
            opt.config_path = a;
        else
            return usage_error("unexpected argument '%s'", a);
    }
    if (!opt.config_path)
        return usage_error("%s needs a CONFIG file", check_only ? "check" : "run");
    if (opt.force && opt.resume)
        return usage_error("%s", "--force and --resume exclude each other");
    cx_error err = {0};
    int status = !check_only && cx_mpi_launched() ? cx_run_mpi(&opt, &err) : cx_run(&opt, &err);
    if (status >= EXIT_USAGE && err.msg[0])
        fprintf(stderr, "cxfit: %s\n", err.msg);
    else if (check_only && !opt.quiet)
        fprintf(stderr, "cxfit: %s is valid\n", opt.config_path);
    return status;
}

static int command_simulate(int argc, char **argv)
{
    cx_simulate_options opt;
    cx_simulate_defaults(&opt);
    long panel = 0;
    const char *out = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        long *target = NULL;
        long v;
        if (strcmp(a, "--firms") == 0)
            target = &opt.firms;
        else if (strcmp(a, "--waves") == 0)
            target = &opt.waves;
        else if (strcmp(a, "--respondents") == 0)
            target = &opt.respondents;
        else if (strcmp(a, "--seed") == 0)
            target = &opt.seed;
        else if (strcmp(a, "--panel") == 0)
            target = &panel;
        else if (a[0] == '-')
            return usage_error("unknown option '%s'", a);
        else if (!out) {
            out = a;
            continue;
        } else
            return usage_error("unexpected argument '%s'", a);
        if (i + 1 >= argc || (v = parse_count(argv[i + 1], 0, 2000000000L)) < 0)
            return usage_error("%s expects a whole number", a);
        *target = v;
        i++;
    }
    if (!out)
        return usage_error("%s", "simulate needs an OUT.h5 file");
    cx_error err = {0};
    if (cx_simulate_panel(&opt, panel, out, &err) != CX_OK)
        return exit_for(&err);
    fprintf(stderr, "cxfit: wrote %s\n", out);
    return 0;
}

/* --delimiter's value: one of , ; tab (also written "\t" or "tab"). */
static char parse_delimiter(const char *s)
{
    if (strcmp(s, ",") == 0 || strcmp(s, ";") == 0)
        return s[0];
    if (strcmp(s, "\t") == 0 || strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0)
        return '\t';
    return 0;
}

static int command_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    cx_import_options opt = {.table = CX_IMPORT_DEFAULT_TABLE};
    int quiet = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(a, "--table") == 0 && has_value)
            opt.table = argv[++i];
        else if (strcmp(a, "--delimiter") == 0 && has_value) {
            if (!(opt.delimiter = parse_delimiter(argv[++i])))
                return usage_error("--delimiter expects ',' ';' or tab, found '%s'", argv[i]);
        } else if (strcmp(a, "--categorical") == 0 && has_value)
            opt.categorical = argv[++i];
        else if (strcmp(a, "--numeric") == 0 && has_value)
            opt.numeric = argv[++i];
        else if (strcmp(a, "--no-header") == 0)
            opt.no_header = 1;
        else if (strcmp(a, "--quiet") == 0)
            quiet = 1;
        else if (a[0] == '-' && a[1])
            return usage_error("unknown option '%s' (cxfit import --help lists them)", a);
        else if (!in)
            in = a;
        else if (!out)
            out = a;
        else
            return usage_error("unexpected argument '%s'", a);
    }
    if (!in || !out)
        return usage_error("%s", "import needs IN (CSV, .sav, .dta, ...) and OUT.h5");
    cx_error err = {0};
    cx_import_summary sum = {0};
    if (cx_import(in, out, &opt, &sum, &err) != CX_OK)
        return exit_for(&err);
    if (!quiet)
        fprintf(stderr, "cxfit: wrote table %s of %s (%zu rows, %zu columns, from %s%s)\n",
                opt.table, out, sum.nrows, sum.ncols, cx_import_format_name(sum.format),
                sum.format != CX_IMPORT_CSV ? ""
                : sum.delimiter == ';'      ? " separated by ';'"
                : sum.delimiter == '\t'     ? " separated by tabs"
                                            : "");
    return 0;
}

static int command_merge(int argc, char **argv)
{
    const char *out = NULL;
    const char **parts = calloc(argc > 0 ? (size_t)argc : 1, sizeof *parts);
    size_t n = 0;
    int force = 0;
    if (!parts)
        return EXIT_IO;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            free(parts);
            return usage_error("unknown option '%s'", argv[i]);
        } else if (!out)
            out = argv[i];
        else
            parts[n++] = argv[i];
    }
    if (!out || n == 0) {
        free(parts);
        return usage_error("%s", "merge needs RESULTS.h5 and the part files");
    }
    cx_error err = {0};
    int rc = cx_merge(out, parts, n, force, 1, &err);
    free(parts);
    if (rc != CX_OK)
        return exit_for(&err);
    fprintf(stderr, "cxfit: merged %zu parts into %s\n", n, out);
    return 0;
}

static int command_show(int argc, char **argv)
{
    const char *path = NULL, *job = NULL;
    int all = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_error("unknown option '%s'", argv[i]);
        else if (!path)
            path = argv[i];
        else if (!job)
            job = argv[i];
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!path)
        return usage_error("%s", "show needs RESULTS.h5 and optionally a JOB name");
    cx_error err = {0};
    if (cx_show(path, job, all, stdout, &err) != CX_OK)
        return exit_for(&err);
    return 0;
}

static int command_report(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_error("unknown option '%s'", argv[i]);
        else if (!in)
            in = argv[i];
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!in || !out)
        return usage_error("%s", "report needs RESULTS.h5 and -o REPORT.html");
    cx_error err = {0};
    if (cx_report(in, out, &err) != CX_OK)
        return exit_for(&err);
    fprintf(stderr, "cxfit: wrote %s\n", out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        print_help();
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("cxfit %s\n", CXFIT_VERSION);
        return 0;
    }
    if (print_command_help(cmd, argc - 2, argv + 2))
        return 0;
    cx_blas_stop_pool(); /* see blas_threads.h */
    /* GSL's default handler aborts the process (e.g. when an inverse CDF
     * does not converge at extreme degrees of freedom); off, GSL returns
     * its error value (NaN), which the callers check, and a user's study
     * never dies in a library. */
    gsl_set_error_handler_off();
#ifdef __GLIBC__
    /* Block buffers (up to ~12 MB) come from the heap and stay there when
     * freed, so the next pass reuses them: glibc's default maps each one
     * fresh and unmaps it, and on the VMs measured the first touch of
     * fresh pages was the largest single cost of a logit fit (its passes
     * 10k -> 5k page faults, 5% of its CPU; bench/README.md).  A batch
     * run's peak memory is what it holds anyway. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
    /* errors are reported our way (this also initialises HDF5, which
     * --help and --version do without) */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (strcmp(cmd, "run") == 0)
        return command_run(argc - 2, argv + 2, 0);
    if (strcmp(cmd, "check") == 0)
        return command_run(argc - 2, argv + 2, 1);
    if (strcmp(cmd, "simulate") == 0)
        return command_simulate(argc - 2, argv + 2);
    if (strcmp(cmd, "import") == 0)
        return command_import(argc - 2, argv + 2);
    if (strcmp(cmd, "show") == 0)
        return command_show(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return command_report(argc - 2, argv + 2);
    if (strcmp(cmd, "merge") == 0)
        return command_merge(argc - 2, argv + 2);
    return usage_error("unknown command '%s'", cmd);
}
