/*
 * test_carrier_schema.c - the contracts name the registry's carriers: every "carrier" enum of
 * the files given (schema/openapi.json, schema/events/shipment-status.v1.json) holds exactly
 * the names of pp_carrier_all (and null where the member is optional). A carrier added to
 * the registry and not to a contract, or the other way round, fails here.
 */
#include "carriers/carrier.h"
#include "check.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

static int enums_seen;

static void check_enum(const char *file, const cJSON *list)
{
    size_t n;
    const pp_carrier_t *const *all = pp_carrier_all(&n);
    size_t names = 0;
    enums_seen++;
    for (const cJSON *v = list->child; v; v = v->next) {
        if (cJSON_IsNull(v))
            continue;
        names++;
        if (!cJSON_IsString(v) || !pp_carrier_find(v->valuestring)) {
            fprintf(stderr, "%s: carrier enum: '%s' is not a registered carrier\n", file,
                    cJSON_IsString(v) ? v->valuestring : "?");
            CHECK(false);
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool listed = false;
        for (const cJSON *v = list->child; v; v = v->next)
            listed |= cJSON_IsString(v) && strcmp(v->valuestring, all[i]->name) == 0;
        if (!listed)
            fprintf(stderr, "%s: carrier enum: '%s' missing\n", file, all[i]->name);
        CHECK(listed);
    }
    CHECK_INT(names, n);
}

static void walk(const char *file, const cJSON *node)
{
    for (const cJSON *m = node ? node->child : NULL; m; m = m->next) {
        const cJSON *e;
        if (m->string && strcmp(m->string, "carrier") == 0 && cJSON_IsObject(m) &&
            cJSON_IsArray(e = cJSON_GetObjectItemCaseSensitive(m, "enum")))
            check_enum(file, e);
        walk(file, m);
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "r");
        CHECK(f != NULL);
        if (!f)
            continue;
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        int ch;
        while ((ch = fgetc(f)) != EOF)
            fputc(ch, m);
        fclose(f);
        fclose(m);
        cJSON *root = cJSON_Parse(buf);
        CHECK(root != NULL);
        int before = enums_seen;
        walk(argv[i], root);
        CHECK(enums_seen > before); /* each file names the carriers somewhere */
        cJSON_Delete(root);
        free(buf);
    }
    CHECK_INT(argc, 3);
    return CHECK_DONE();
}
