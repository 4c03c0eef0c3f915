/* migrate.c - `ppctl migrate`: apply numbered schema/sql migrations once each, atomically. */
#include "ppctl.h"

#include "db.h"
#include "err.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <limits.h>

#ifndef PP_SQL_FROM_BINDIR
#define PP_SQL_FROM_BINDIR "../share/parcelpush/sql"
#endif

/*
 * Where the migrations are, first found: --dir, $PP_SCHEMA_DIR, the installed ones next to
 * this binary (<bindir>/PP_SQL_FROM_BINDIR), or the source tree's when run from a build
 * directory (<repo>/<build>/tools/ppctl/ppctl -> <repo>/schema/sql).
 */
static const char *find_dir(char *buf, size_t cap)
{
    const char *env = getenv("PP_SCHEMA_DIR");
    if (env && *env)
        return env;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return "schema/sql";
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    struct stat st;
    int k = PP_SQL_FROM_BINDIR[0] == '/' ? snprintf(buf, cap, "%s", PP_SQL_FROM_BINDIR)
                                         : snprintf(buf, cap, "%s/%s", exe, PP_SQL_FROM_BINDIR);
    if (k > 0 && (size_t)k < cap && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
        return buf;
    k = snprintf(buf, cap, "%s/../../../schema/sql", exe);
    return k > 0 && (size_t)k < cap ? buf : "schema/sql";
}

static int is_migration(const char *name)
{
    size_t n = strlen(name);
    if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
        return 0;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)name[i]))
            return 0;
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (cap ? cap * 2 : 8192);
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static int exec_simple(PGconn *c, const char *sql, char *err, size_t errlen)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ok ? PP_OK : PP_EDB;
}

/* Applies one migration file in its own transaction, recording it in schema_migrations:
 * 1 applied, 0 already applied before, -1 failed (after a message; rolled back). */
static int apply_one(PGconn *c, const char *dir, const char *name)
{
    char ver[8], err[2048];
    snprintf(ver, sizeof ver, "%.4s", name);
    const char *p[] = {ver};
    PGresult *r;
    if (pp_db_exec(c, "read applied migrations",
                   "SELECT 1 FROM schema_migrations WHERE version = $1::integer", 1, p, &r))
        return -1;
    int done = PQntuples(r) > 0;
    PQclear(r);
    if (done)
        return 0;
    char path[PATH_MAX + 512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *sql = read_file(path);
    if (!sql) {
        fprintf(stderr, "ppctl migrate: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = exec_simple(c, "BEGIN", err, sizeof err);
    if (!rc)
        rc = exec_simple(c, sql, err, sizeof err);
    free(sql);
    if (rc) {
        exec_simple(c, "ROLLBACK", err + strlen(err), sizeof err - strlen(err));
        fprintf(stderr, "ppctl migrate: migration %s failed and was rolled back: %s", name, err);
        return -1;
    }
    const char *p2[] = {ver, name};
    if (pp_db_exec(c, "record migration",
                   "INSERT INTO schema_migrations (version, name) VALUES ($1::integer, $2)", 2, p2,
                   NULL) ||
        pp_db_commit(c)) {
        pp_db_rollback(c);
        fprintf(stderr, "ppctl migrate: could not record %s; rolled back\n", name);
        return -1;
    }
    printf("applied %s\n", name);
    return 1;
}

int ppctl_migrate(ppctl_t *ctl, int argc, char **argv)
{
    char found[PATH_MAX];
    const char *dir = find_dir(found, sizeof found);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0) {
            if (!(dir = ppctl_optarg(argc, argv, &i)))
                return 2;
        } else {
            fprintf(stderr, "usage: ppctl migrate [--dir DIR]\n");
            return 2;
        }
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ppctl migrate: cannot open migrations directory %s: %s (use --dir)\n", dir,
                strerror(errno));
        return 1;
    }
    char *names[1000];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 1000)
        if (is_migration(de->d_name))
            names[n++] = strdup(de->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);

    int status = 1, applied = 0;
    char err[2048];
    PGconn *c = ppctl_connect(ctl);
    if (!c)
        goto out;
    if (exec_simple(c,
                    "SET client_min_messages = warning; "
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                    "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); "
                    "SELECT pg_advisory_lock(hashtext('parcelpush.migrate'))",
                    err, sizeof err)) {
        fprintf(stderr, "ppctl migrate: cannot prepare schema_migrations: %s", err);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = apply_one(c, dir, names[i]);
        if (rc < 0)
            goto out;
        applied += rc;
    }
    if (applied == 0)
        printf("schema is up to date (%zu migrations)\n", n);
    status = 0;
out:
    if (c)
        PQfinish(c);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return status;
}
