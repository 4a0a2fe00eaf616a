/*
 * main.c — the cxfit command line (shared/DESIGN.md §2).
 *
 * Each subcommand parses its own arguments and calls one library entry
 * point; this file is the only place that prints errors and picks the exit
 * status (0 ok, 1 a job failed, 2 usage/config error, 3 input/output).
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "merge.h"
#include "model.h"
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
    "  cxfit simulate OUT.h5 [--firms F] [--waves W] [--respondents R] [--seed S]\n"
    "  cxfit import IN.csv OUT.h5 [--table PATH]\n"
    "  cxfit show RESULTS.h5 [JOB]       readable summary, like lavaan's summary()\n"
    "  cxfit merge RESULTS.h5 PARTS... [--force]   the parts of a --shard run as one file\n"
    "  cxfit --help | --version\n"
    "\n"
    "Exit status: 0 all jobs ok; 1 a job failed (others are still written);\n"
    "2 usage or config error (nothing was run); 3 input/output error.\n";

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
        else if (!check_only && strcmp(a, "-j") == 0 && i + 1 < argc) {
            long j = parse_count(argv[++i], 1, 4096);
            if (j < 0)
                return usage_error("-j expects a thread count from 1 to 4096, found '%s'", argv[i]);
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
        }
        else if (strcmp(a, "--quiet") == 0)
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
    if (cx_simulate(&opt, out, &err) != CX_OK)
        return exit_for(&err);
    fprintf(stderr, "cxfit: wrote %s\n", out);
    return 0;
}

static int command_import(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *table = "/data";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--table") == 0 && i + 1 < argc)
            table = argv[++i];
        else if (argv[i][0] == '-')
            return usage_error("unknown option '%s'", argv[i]);
        else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
        else
            return usage_error("unexpected argument '%s'", argv[i]);
    }
    if (!in || !out)
        return usage_error("%s", "import needs IN.csv and OUT.h5");
    cx_error err = {0};
    if (cx_import_csv(in, out, table, &err) != CX_OK)
        return exit_for(&err);
    fprintf(stderr, "cxfit: wrote table %s of %s\n", table, out);
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
    if (argc < 1 || argc > 2)
        return usage_error("%s", "show needs RESULTS.h5 and optionally a JOB name");
    cx_error err = {0};
    if (cx_show(argv[0], argc == 2 ? argv[1] : NULL, stdout, &err) != CX_OK)
        return exit_for(&err);
    return 0;
}

int main(int argc, char **argv)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported our way */
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
    if (strcmp(cmd, "merge") == 0)
        return command_merge(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return usage_error("'%s' is not available in this version yet", cmd);
    return usage_error("unknown command '%s'", cmd);
}
